"""HyperBand's decision rules pinned on hand-computed cases (with the 2018 Tune's bracket bugs fixed)."""

from __future__ import annotations

import pytest

from tune_hyperband import HyperBandScheduler
from tunecore.errors import TuneError
from tunecore.schedulers import Decision
from tunecore.testing import FakeRunner, SchedulerContract, make_result, make_trial
from tunecore.trial import TrialStatus


def hb(**kwargs) -> HyperBandScheduler:
    kwargs.setdefault("metric", "episode_reward_mean")
    kwargs.setdefault("mode", "max")
    return HyperBandScheduler(**kwargs)


def setup(n_trials: int, **kwargs):
    """A scheduler and fake runner with ``n_trials`` trials whose quality is their index."""
    sched = hb(**kwargs)
    runner = FakeRunner(sched, cpus=1000)
    trials = [runner.add_trial(make_trial({"quality": float(i)})) for i in range(n_trials)]
    return sched, runner, trials


def at(trial, t, reward=None):
    """A result at time ``t`` (reward defaults to the trial's quality, constant in time)."""
    reward = trial.config["quality"] if reward is None else reward
    return make_result(trial, t, episode_reward_mean=reward)


# -- shapes ---------------------------------------------------------------------------------
def test_bracket_shapes_for_max_t_81():
    # The 2018 Tune's capacities and milestones; survivors floor(n/3) (Li et al.), where the
    # seed kept ceil(n/3): (8,27)->(3,54), (34,3)->(12,9)->(4,27)->(2,42).
    sched = hb(max_t=81)
    assert sched.num_brackets == 5
    assert [sched.n0(s) for s in range(5)] == [5, 8, 15, 34, 81]
    assert [sched.r0(s) for s in range(5)] == [81, 27, 9, 3, 1]
    assert sched.band_capacity() == 143
    schedules = [[(n, r) for n, r, _ in sched._new_bracket(s).schedule] for s in range(5)]
    assert schedules == [
        [(5, 81)],
        [(8, 27), (2, 54)],
        [(15, 9), (5, 27), (1, 45)],
        [(34, 3), (11, 9), (3, 27), (1, 42)],
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 41)],
    ]
    assert [R for _, _, R in sched._new_bracket(4).schedule] == [1, 4, 13, 40, 81]


def test_bracket_shapes_for_max_t_810():
    assert hb(max_t=810).num_brackets == 7  # every bracket that fits: milestones 1 .. 729
    sched = hb(max_t=810, brackets=5)  # the 2018 Tune's fixed five
    assert sched._new_bracket(0).schedule[0][:2] == (5, 810)
    assert sched._new_bracket(4).schedule[0][:2] == (81, 10)


def test_eta_and_brackets_are_configurable():
    sched = hb(max_t=8, reduction_factor=2)
    assert sched.num_brackets == 4  # milestones 1, 2, 4, 8 fit
    assert [sched.n0(s) for s in range(4)] == [4, 4, 6, 8]
    assert [(n, R) for n, _, R in sched._new_bracket(3).schedule] == [(8, 1), (4, 3), (2, 7), (1, 8)]
    assert hb(max_t=81, brackets=2).band_capacity() == 2 + 3  # n0 = ceil(2/(s+1) * 3**s)


@pytest.mark.parametrize("max_t, expected", [(1, 1), (2, 1), (3, 2), (26, 3), (27, 4)])
def test_small_max_t_creates_only_real_brackets(max_t, expected):
    sched, runner, trials = setup(12, max_t=max_t)
    assert sched.num_brackets == expected
    for band in sched.brackets():
        assert band and all(b is not None and b.schedule[0][1] >= 1 for b in band)
    assert sched.choose_trial_to_run(runner) is trials[0]
    assert "None" not in sched.debug_string().split("Rungs")[0]


def test_max_t_1_stops_at_the_first_result():
    sched, runner, trials = setup(3, max_t=1)
    runner.start_trial(trials[0])
    assert runner.report(trials[0], at(trials[0], 1)) == Decision.STOP


# -- bands ------------------------------------------------------------------------------------
def test_a_full_band_takes_143_trials():
    sched, runner, trials = setup(143, max_t=81)
    assert len(sched.brackets()) == 1
    assert [len(b.live) for b in sched.brackets()[0]] == [5, 8, 15, 34, 81]
    runner.add_trial(make_trial({"quality": 0.0}))
    assert len(sched.brackets()) == 2 and len(sched.brackets()[1][0].live) == 1


def test_successive_halving_81_27_9_3_1_pauses_all_but_the_last_reporter():
    sched, runner, trials = setup(143, max_t=81)
    bracket = sched.brackets()[0][4]
    members = [t for t in trials if t.trial_id in bracket.live]
    assert len(members) == 81
    for t in members:
        runner.start_trial(t)
    for expected_n, R in ((27, 1), (9, 4), (3, 13), (1, 40)):
        current = [t for t in members if t.trial_id in bracket.live]
        for t in current:
            if t.status == TrialStatus.PENDING:
                runner.start_trial(t)
        decisions = [runner.report(t, at(t, R)) for t in current]
        assert decisions[:-1] == [Decision.PAUSE] * (len(current) - 1)
        assert decisions[-1] == Decision.CONTINUE  # the last reporter is the best: it is kept
        assert len(bracket.live) == expected_n
        # the best expected_n (highest quality) are kept; the others were stopped
        kept = sorted(current, key=lambda t: t.config["quality"])[-expected_n:]
        assert set(bracket.live) == {t.trial_id for t in kept}
        for t in current:
            if t in kept:
                assert t.status in (TrialStatus.PENDING, TrialStatus.RUNNING)
            else:
                assert t.status == TrialStatus.TERMINATED
    (winner,) = [t for t in members if t.trial_id in bracket.live]
    assert winner.config["quality"] == max(t.config["quality"] for t in members)
    assert runner.report(winner, at(winner, 60)) == Decision.CONTINUE
    assert runner.report(winner, at(winner, 81)) == Decision.STOP
    assert not bracket.live and bracket.finished()
    assert sched._num_stopped == 80


def test_losing_current_trial_gets_stop_and_others_stay_paused():
    sched, runner, trials = setup(13, max_t=81)  # bracket 1 holds trials[5:13], milestone 27
    members = trials[5:]
    for t in members:
        runner.start_trial(t)
    decisions = [runner.report(t, at(t, 27, reward=10.0 - i)) for i, t in enumerate(members)]
    assert decisions == [Decision.PAUSE] * 7 + [Decision.STOP]  # the last reporter is the worst
    assert [t.status for t in members[:2]] == [TrialStatus.PENDING] * 2  # unpaused keepers
    assert all(t.status == TrialStatus.TERMINATED for t in members[2:])
    bracket = sched.brackets()[0][1]
    assert bracket.R == 81 and bracket.n == 2  # floor(8 / 3)


@pytest.mark.parametrize("how", ["error", "complete"])
def test_error_or_completion_of_a_member_still_triggers_halving(how):
    sched, runner, trials = setup(13, max_t=81)
    members = trials[5:]
    for t in members:
        runner.start_trial(t)
    for t in members[:-1]:
        assert runner.report(t, at(t, 27)) == Decision.PAUSE
    if how == "error":
        runner.fail(members[-1])
    else:
        runner.complete(members[-1], at(members[-1], 100, reward=12.0))
    bracket = sched.brackets()[0][1]
    assert len(bracket.live) == 2
    assert set(bracket.live) == {t.trial_id for t in members[5:7]}  # qualities 10, 11
    assert all(t.status == TrialStatus.PENDING for t in members[5:7])
    assert all(t.status == TrialStatus.TERMINATED for t in members[:5])


def test_a_trial_added_after_halving_gets_the_new_milestone():
    sched, runner, trials = setup(6, max_t=81)  # trials[5] alone in bracket 1 (capacity 8)
    runner.start_trial(trials[5])
    assert runner.report(trials[5], at(trials[5], 27)) == Decision.CONTINUE  # halved alone, kept
    bracket = sched.brackets()[0][1]
    assert bracket.R == 81
    new = runner.add_trial(make_trial({"quality": 12.0}))
    assert len(bracket.live) == 2 and new.trial_id in bracket.live
    runner.start_trial(new)
    # It is not paused at the old milestone: it catches up to the current one.
    assert runner.report(new, at(new, 27)) == Decision.CONTINUE
    assert runner.report(new, at(new, 80)) == Decision.CONTINUE
    assert runner.report(new, at(new, 81)) == Decision.STOP


def test_removing_pending_trials_updates_membership():
    sched, runner, trials = setup(13, max_t=81)
    bracket = sched.brackets()[0][1]
    members = trials[5:]
    runner.remove(members[0])
    runner.remove(members[1])
    assert set(bracket.live) == {t.trial_id for t in members[2:]}
    for t in members[2:]:
        runner.start_trial(t)
    decisions = [runner.report(t, at(t, 27)) for t in members[2:]]
    assert decisions == [Decision.PAUSE] * 5 + [Decision.CONTINUE]
    assert len(bracket.live) == 2  # the planned floor(8 / 3), the best of the 6 present
    assert {t.trial_id for t in members[-2:]} == set(bracket.live)


def test_a_partly_filled_bracket_keeps_its_planned_survivors():
    sched, runner, trials = setup(7, max_t=81)  # bracket 1 holds 2 of its 8 places
    for t in trials[5:]:
        runner.start_trial(t)
    assert runner.report(trials[5], at(trials[5], 27)) == Decision.PAUSE
    # Both rank within the planned 2 survivors of 8: the paused one is resumed, none stop.
    assert runner.report(trials[6], at(trials[6], 27)) == Decision.CONTINUE
    assert trials[5].status == TrialStatus.PENDING
    assert runner.report(trials[6], at(trials[6], 81)) == Decision.STOP


def test_mode_min_keeps_the_lowest_loss():
    sched = hb(max_t=81, metric="mean_loss", mode="min")
    runner = FakeRunner(sched, cpus=100)
    trials = [runner.add_trial(make_trial({"q": i})) for i in range(8)]  # bracket 0: 5, bracket 1: 3
    for i, t in enumerate(trials[5:]):
        runner.start_trial(t)
        runner.report(t, make_result(t, 27, mean_loss=[0.5, 0.1, 0.9][i]))
    # the planned floor(8/3) = 2 lowest losses go on; the cut-off is the weaker kept, 0.5
    assert sched.brackets()[0][1].live.keys() == {trials[5].trial_id, trials[6].trial_id}
    assert trials[7].status == TrialStatus.TERMINATED
    assert "Iter 27 (n=8): 0.5" in sched.debug_string()


def test_alternate_time_attr_and_reward_attr():
    sched = HyperBandScheduler(time_attr="timesteps_total", reward_attr="neg_mean_loss", max_t=810,
                               brackets=5)
    runner = FakeRunner(sched, cpus=100)
    trials = [runner.add_trial(make_trial({"q": i})) for i in range(9)]  # 4 in bracket 1
    for i, t in enumerate(trials[5:]):
        runner.start_trial(t)
        runner.report(t, make_result(t, 1, timesteps_total=270, neg_mean_loss=float(i)))
    assert [t.status for t in trials[5:]] == [TrialStatus.TERMINATED] * 2 + [
        TrialStatus.PENDING, TrialStatus.RUNNING]


# -- choice, status, checks ---------------------------------------------------------------------
def test_choose_prefers_the_least_complete_bracket_and_never_a_paused_trial():
    sched, runner, trials = setup(13, max_t=81)
    runner.start_trial(trials[0])
    runner.report(trials[0], at(trials[0], 50))  # bracket 0 is now 10% done, bracket 1 0%
    assert sched.choose_trial_to_run(runner) is trials[5]
    runner.start_trial(trials[5])
    assert runner.report(trials[5], at(trials[5], 27)) == Decision.PAUSE
    chosen = sched.choose_trial_to_run(runner)
    assert chosen is not trials[5] and chosen.status == TrialStatus.PENDING


def test_debug_string_shows_rounds_brackets_rungs_and_cutoffs():
    sched, runner, trials = setup(13, max_t=81)
    for t in trials[5:]:
        runner.start_trial(t)
        runner.report(t, at(t, 27))
    text = sched.debug_string()
    lines = text.splitlines()
    assert lines[0] == "Using HyperBand: num_stopped=6 total_brackets=2"
    assert lines[1] == "Round #0:"
    assert lines[2].startswith("  Bracket(Max Size (n)=5, Milestone (r)=81, completed=0.0%): {PENDING: 5}")
    assert lines[4].startswith("  Bracket(Max Size (n)=2, Milestone (r)=81, completed=")
    assert lines[4].endswith("{PENDING: 1, RUNNING: 1, TERMINATED: 6}")
    assert lines[5] == "    Rungs: Iter 27 (n=8): 11 | Iter 81 (n=2): None"


def test_requires_checkpointing():
    assert HyperBandScheduler.requires_checkpointing is True


@pytest.mark.parametrize("kwargs, message", [
    ({"max_t": 0}, "max_t must be a number > 0, but got max_t=0"),
    ({"grace_period": 0}, "grace_period must be a number > 0, but got grace_period=0"),
    ({"max_t": 5, "grace_period": 10}, "grace_period must be <= max_t (max_t=5), but got grace_period=10"),
    ({"reduction_factor": 1}, "reduction_factor must be a number > 1, but got reduction_factor=1"),
    ({"brackets": 0}, "brackets must be an int >= 1, but got brackets=0"),
    ({"time_attr": ""}, "time_attr must be a non-empty string, but got time_attr=''"),
    ({"mode": "avg"}, "mode must be 'min' or 'max', but got mode='avg'"),
])
def test_invalid_arguments_are_refused(kwargs, message):
    with pytest.raises(TuneError) as info:
        hb(**kwargs)
    assert str(info.value) == message


class TestHyperBandContract(SchedulerContract):
    max_iterations = 12

    @pytest.fixture
    def make_scheduler(self):
        return lambda: HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=9)
