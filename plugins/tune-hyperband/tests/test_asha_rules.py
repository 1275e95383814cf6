"""ASHA's decision rules pinned on hand-computed cases."""

from __future__ import annotations

import warnings

import pytest

from tune_hyperband import AsyncHyperBandScheduler
from tunecore.errors import TuneError
from tunecore.schedulers import Decision
from tunecore.testing import FakeRunner, SchedulerContract, make_result, make_trial


def asha(**kwargs) -> AsyncHyperBandScheduler:
    kwargs.setdefault("metric", "episode_reward_mean")
    kwargs.setdefault("mode", "max")
    return AsyncHyperBandScheduler(**kwargs)


def started(runner, n=1):
    trials = [runner.add_trial(make_trial()) for _ in range(n)]
    for t in trials:
        runner.start_trial(t)
    return trials


def res(trial, t, reward, key="episode_reward_mean"):
    return make_result(trial, t, **{key: reward})


def test_rungs_of_the_seed_defaults():
    sched = asha(max_t=100, grace_period=10, reduction_factor=3, brackets=3)
    assert sched.rung_milestones() == [[10, 30, 90], [30, 90], [90]]
    shares = [round(x, 2) for x in sched._shares]
    assert shares == [0.67, 0.24, 0.09]


def test_default_rungs_start_at_a_tenth_of_max_t():
    assert asha(max_t=100).rung_milestones() == [[10, 40]]
    assert asha(max_t=1000).rung_milestones() == [[100, 400]]
    assert asha(max_t=5).rung_milestones() == [[1, 4]]
    assert asha(max_t=2.5)._grace_period == 0.25


def test_rung_count_survives_float_rounding():
    # log(1000)/log(10) == 2.9999999999999996: the 2018 Tune's int() dropped the top rung.
    assert asha(max_t=1000, grace_period=1, reduction_factor=10).rung_milestones() == [[1, 10, 100, 1000]]


def test_brackets_beyond_what_fits_are_not_created():
    sched = asha(max_t=10, grace_period=1, reduction_factor=3, brackets=10)
    assert sched.num_brackets == 3 and sched.rung_milestones() == [[1, 3, 9], [3, 9], [9]]


def test_deterministic_assignment_follows_the_shares():
    sched = asha(max_t=100, grace_period=10, reduction_factor=3, brackets=3)
    runner = FakeRunner(sched, cpus=100)
    trials = [runner.add_trial(make_trial()) for _ in range(100)]
    counts = [0, 0, 0]
    for t in trials:
        counts[sched.bracket_of(t)] += 1
    assert counts == [67, 24, 9]
    assert sched.bracket_of(trials[0]) == 0  # the first trial goes to the biggest share


def test_spec_reference_rung_1_cutoff_is_the_median_for_rf_2():
    sched = asha(grace_period=1, max_t=10, reduction_factor=2, brackets=1)
    assert sched.rung_milestones() == [[1, 2, 4, 8]]
    runner = FakeRunner(sched, cpus=10)
    t1, t2, t3 = started(runner, 3)
    assert runner.report(t1, res(t1, 1, 100)) == Decision.CONTINUE  # nobody recorded: no cutoff
    assert runner.report(t2, res(t2, 1, 450)) == Decision.CONTINUE  # 450 >= 100
    assert runner.report(t3, res(t3, 1, 260)) == Decision.STOP  # 260 < median 275
    assert "Bracket: Iter 1.000: 260 | Iter 2.000: None" in sched.debug_string()
    assert sched.debug_string().startswith("Using AsyncHyperBand: num_stopped=1\n")


def test_cutoff_is_the_top_fraction_quantile():
    sched = asha(grace_period=1, max_t=100, reduction_factor=4, brackets=1)
    runner = FakeRunner(sched, cpus=10)
    trials = started(runner, 6)
    for t, r in zip(trials[:5], [1, 2, 3, 4, 5]):
        runner.report(t, res(t, 1, r))
    # recorded 1..5 (and each passed or not); the 75th percentile of 1..5 is 4
    assert runner.report(trials[5], res(trials[5], 1, 3.9)) == Decision.STOP
    # now recorded: 1, 2, 3, 3.9, 4, 5; the 75th percentile interpolates 3.9 + 0.75 * 0.1
    assert sched.debug_string().endswith(
        "Bracket: Iter 1.000: 3.975 | Iter 4.000: None | Iter 16.000: None | Iter 64.000: None")


@pytest.mark.parametrize("brackets", [1, 3, 10])
def test_any_result_at_max_t_stops(brackets):
    sched = asha(max_t=10, grace_period=1, brackets=brackets)
    runner = FakeRunner(sched, cpus=10)
    (t,) = started(runner)
    assert runner.report(t, res(t, 10, 1e9)) == Decision.STOP
    assert sched._num_stopped == 0  # reaching max_t is not an early stop


def test_only_the_highest_reached_rung_is_judged():
    sched = asha(grace_period=1, max_t=100, reduction_factor=2, brackets=1)
    runner = FakeRunner(sched, cpus=10)
    good, jumper = started(runner, 2)
    for t in (1, 2, 4, 8):
        runner.report(good, res(good, t, 100))
    # jumps from nothing to t=5: judged at rung 4 only (100 is not beaten) -> STOP
    assert runner.report(jumper, res(jumper, 5, 50)) == Decision.STOP
    assert "Iter 2.000: 100" in sched.debug_string()  # rung 2 never got the jumper's score
    other = started(runner)[0]
    assert runner.report(other, res(other, 5, 150)) == Decision.CONTINUE  # recorded at rung 4
    assert runner.report(other, res(other, 6, 10)) == Decision.CONTINUE  # rung 4 done; rung 2 not re-judged


def test_mode_min_stops_high_losses_and_shows_cutoffs_in_loss_units():
    sched = asha(grace_period=1, max_t=10, reduction_factor=2, brackets=1, metric="mean_loss", mode="min")
    runner = FakeRunner(sched, cpus=10)
    a, b, c = started(runner, 3)
    runner.report(a, res(a, 1, 0.2, "mean_loss"))
    runner.report(b, res(b, 1, 0.4, "mean_loss"))
    assert runner.report(c, res(c, 1, 0.35, "mean_loss")) == Decision.STOP  # > median loss 0.3
    assert "Iter 1.000: 0.35" in sched.debug_string()


def test_reward_attr_is_maximised():
    sched = AsyncHyperBandScheduler(reward_attr="neg_mean_loss", grace_period=1, max_t=10, reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    a, b = started(runner, 2)
    runner.report(a, res(a, 1, -1.0, "neg_mean_loss"))
    assert runner.report(b, res(b, 1, -2.0, "neg_mean_loss")) == Decision.STOP


def test_missing_metric_warns_once_and_is_not_recorded():
    sched = asha(grace_period=1, max_t=10, reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    a, b = started(runner, 2)
    result = make_result(a, 1)
    del result["episode_reward_mean"]
    with pytest.warns(UserWarning, match="no value for metric 'episode_reward_mean'"):
        assert runner.report(a, result) == Decision.CONTINUE
    assert "Iter 1.000: None" in sched.debug_string()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner.report(b, dict(result, trial_id=b.trial_id))  # no second warning


def test_completion_records_the_final_result():
    sched = asha(grace_period=1, max_t=10, reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    a, b = started(runner, 2)
    runner.complete(a, res(a, 1, 100))
    assert runner.report(b, res(b, 1, 99)) == Decision.STOP


def test_function_trainables_are_fine():
    assert AsyncHyperBandScheduler.requires_checkpointing is False


@pytest.mark.parametrize("kwargs, message", [
    ({"max_t": 0}, "max_t must be a number > 0, but got max_t=0"),
    ({"max_t": -5}, "max_t must be a number > 0, but got max_t=-5"),
    ({"grace_period": 0}, "grace_period must be a number > 0, but got grace_period=0"),
    ({"max_t": 10, "grace_period": 20}, "grace_period must be <= max_t (max_t=10), but got grace_period=20"),
    ({"reduction_factor": 1}, "reduction_factor must be a number > 1, but got reduction_factor=1"),
    ({"brackets": 0}, "brackets must be an int >= 1, but got brackets=0"),
    ({"brackets": 1.5}, "brackets must be an int >= 1, but got brackets=1.5"),
    ({"mode": "best"}, "mode must be 'min' or 'max', but got mode='best'"),
])
def test_invalid_arguments_are_refused(kwargs, message):
    with pytest.raises(TuneError) as info:
        asha(**kwargs)
    assert str(info.value) == message


def test_registered_names_resolve():
    from tunecore.plugins import get_plugin_manager

    registry = get_plugin_manager().schedulers
    for name in ("async_hyperband", "asha"):
        sched = registry.create({"name": name, "max_t": 100})
        assert isinstance(sched, AsyncHyperBandScheduler) and sched._max_t == 100
    from tune_hyperband import HyperBandScheduler

    assert isinstance(registry.create("hyperband"), HyperBandScheduler)


class TestAsyncHyperBandContract(SchedulerContract):
    max_iterations = 12

    @pytest.fixture
    def make_scheduler(self):
        return lambda: AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=10,
                                               grace_period=1, reduction_factor=2, brackets=3)
