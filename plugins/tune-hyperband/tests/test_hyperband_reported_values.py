"""HyperBand and ASHA with metrics as users report them: numpy numbers of every dtype, NaN, ±inf, None.

numpy numbers must decide exactly as the Python numbers they hold; a NaN or missing metric
never ranks above a real score; a result without a usable time is let through; the saved
state stays plain JSON.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tune_hyperband import AsyncHyperBandScheduler, HyperBandScheduler
from tune_hyperband._common import percentile
from tunecore.schedulers import Decision
from tunecore.testing import NUMERIC_KINDS as KINDS
from tunecore.testing import FakeRunner, as_kind, make_trial
from tunecore.util import plain

MISSING = "missing"  # the metric key is left out of the result

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

#: ASHA warns (once per scheduler) about results without a numeric metric: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:AsyncHyperBandScheduler.*no value for metric:UserWarning")


def odd_metrics():
    """What a metric can be besides a plain number: NaN, ±inf, None, text, an array, or missing."""
    return st.sampled_from([math.nan, np.float32("nan"), np.float16("nan"), math.inf, -math.inf,
                            np.float64("-inf"), None, "n/a", np.array([1.0, 2.0]), True, MISSING])


def metrics():
    """Any metric value: a number of any kind, or an odd one."""
    return st.one_of(st.tuples(st.sampled_from(KINDS), st.floats(-100, 100)).map(lambda p: as_kind(*p)),
                     odd_metrics())


def rank(value, mode: str = "max") -> float:
    """How a scheduler must rank ``value``, larger is better: NaN and non-numbers below every score."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return -math.inf
    return float(value) if mode == "max" else -float(value)


def result(trial, t, metric):
    out = {"training_iteration": t, "time_total_s": float(plain(t)), "trial_id": trial.trial_id}
    if not (isinstance(metric, str) and metric == MISSING):
        out["episode_reward_mean"] = metric
    return out


def strict_json(state) -> str:
    return json.dumps(state, sort_keys=True, allow_nan=False)


# -- numpy numbers decide as the Python numbers they hold -----------------------------------------
def run_side_by_side(make, curves, kind, time_kind, max_t):
    """Run ``curves[i][t]`` through two schedulers, one fed ``kind`` numbers, one the Python ones."""
    logs = []
    for convert in (lambda k, x: as_kind(k, x), lambda k, x: plain(as_kind(k, x))):
        def result_fn(trial, i, convert=convert):
            return result(trial, convert(time_kind, i), convert(kind, curves[int(trial.trial_id[1:])][i - 1]))

        sched = make()
        runner = FakeRunner(sched, cpus=3, result_fn=result_fn)
        for i in range(len(curves)):
            runner.add_trial(make_trial({}, trial_id=f"c{i}"))
        runner.run(max_iterations=max_t)
        logs.append((runner.decisions, [t.status for t in runner.trials], strict_json(sched.save_state())))
    return logs


TIME_KINDS = (int, np.int64, np.float32, "0-d")
curves_strategy = st.integers(3, 8).flatmap(
    lambda n: st.lists(st.lists(st.floats(-100, 100), min_size=9, max_size=9), min_size=n, max_size=n))


@SETTINGS
@given(curves=curves_strategy, kind=st.sampled_from(KINDS), time_kind=st.sampled_from(TIME_KINDS))
def test_asha_decides_on_numpy_numbers_as_on_python_ones(curves, kind, time_kind):
    def make():
        return AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=9, grace_period=1,
                                       reduction_factor=2, brackets=2)

    numpy_run, python_run = run_side_by_side(make, curves, kind, time_kind, 9)
    assert numpy_run == python_run


@SETTINGS
@given(curves=curves_strategy, kind=st.sampled_from(KINDS), time_kind=st.sampled_from(TIME_KINDS))
def test_hyperband_decides_on_numpy_numbers_as_on_python_ones(curves, kind, time_kind):
    def make():
        return HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=9, reduction_factor=3)

    numpy_run, python_run = run_side_by_side(make, curves, kind, time_kind, 9)
    assert numpy_run == python_run


# -- NaN and missing metrics rank last -------------------------------------------------------------
@SETTINGS
@given(rewards=st.lists(metrics(), min_size=8, max_size=8), mode=st.sampled_from(["max", "min"]))
def test_hyperband_halving_never_keeps_a_worse_trial_than_one_it_stops(rewards, mode):
    sched = HyperBandScheduler(metric="episode_reward_mean", mode=mode, max_t=81)
    runner = FakeRunner(sched, cpus=1000)
    trials = [runner.add_trial(make_trial({})) for _ in range(13)]
    members = trials[5:]  # bracket 1: 8 trials to milestone 27, the best floor(8/3) = 2 go on
    for trial in members:
        runner.start_trial(trial)
    for trial, reward in zip(members, rewards):
        runner.report(trial, result(trial, 27, reward))
    bracket = sched.brackets()[0][1]
    kept = [rank(r, mode) for t, r in zip(members, rewards) if t.trial_id in bracket.live]
    stopped = [rank(r, mode) for t, r in zip(members, rewards) if t.trial_id not in bracket.live]
    assert len(kept) == 2 and len(stopped) == 6
    assert max(stopped) <= min(kept), f"kept {kept}, stopped {stopped}"
    strict_json(sched.save_state())


@SETTINGS
@given(scores=st.lists(st.one_of(st.floats(), st.sampled_from([-math.inf, math.inf, math.nan]), st.none()),
                       max_size=12),
       q=st.sampled_from([50.0, 66.66666666666667, 75.0, 0.0, 100.0]))
def test_percentile_of_scores_with_infinities_is_never_nan(scores, q):
    cut = percentile(scores, q)
    real = sorted(s for s in scores if s is not None and not math.isnan(s))
    if not real:
        assert cut is None
        return
    assert cut is not None and not math.isnan(cut), f"percentile({scores}, {q}) = {cut}"
    assert real[0] <= cut <= real[-1]
    if all(math.isfinite(s) for s in real) and real[-1] - real[0] < 1e300:
        assert cut == pytest.approx(float(np.percentile(real, q)), rel=1e-9, abs=1e-300)


@SETTINGS
@given(earlier=st.lists(metrics(), min_size=1, max_size=6), nan=st.sampled_from([math.nan, np.float32("nan"),
                                                                                  np.array(np.nan)]))
def test_asha_stops_a_nan_trial_wherever_the_rung_has_a_cutoff(earlier, nan):
    sched = AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=10, grace_period=1,
                                    reduction_factor=2)
    runner = FakeRunner(sched, cpus=100)
    for reward in earlier:
        trial = runner.add_trial(make_trial({}))
        runner.start_trial(trial)
        runner.report(trial, result(trial, 1, reward))
    rung = sched._brackets[0].rungs[0]
    cutoff = sched._brackets[0].cutoff(rung)
    assert cutoff is None or not math.isnan(cutoff)
    diverged = runner.add_trial(make_trial({}))
    runner.start_trial(diverged)
    decision = runner.report(diverged, result(diverged, 1, nan))
    assert rung.recorded[diverged.trial_id] == -math.inf  # recorded as the worst score
    if cutoff is not None and cutoff > -math.inf:
        assert decision == Decision.STOP
    else:
        assert decision == Decision.CONTINUE
    restored = AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=10, grace_period=1,
                                       reduction_factor=2)
    restored.restore_state(json.loads(strict_json(sched.save_state())))
    assert strict_json(restored.save_state()) == strict_json(sched.save_state())
    assert restored._brackets[0].rungs[0].recorded[diverged.trial_id] == -math.inf


@pytest.mark.parametrize("metric", [None, "n/a", np.array([1.0]), MISSING], ids=["None", "text", "array", "missing"])
def test_asha_does_not_record_a_metric_that_is_not_a_number(metric):
    sched = AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=10, grace_period=1,
                                    reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    trial = runner.add_trial(make_trial({}))
    runner.start_trial(trial)
    with pytest.warns(UserWarning, match="no value for metric 'episode_reward_mean'"):
        assert runner.report(trial, result(trial, 1, metric)) == Decision.CONTINUE
    assert all(not rung.recorded for rung in sched._brackets[0].rungs)


# -- results without a usable time ---------------------------------------------------------------
@pytest.mark.parametrize("t", [math.nan, np.float32("nan"), None, "3", np.array([1, 2])],
                         ids=["nan", "float32 nan", "None", "text", "array"])
def test_results_without_a_usable_time_are_let_through(t):
    asha = AsyncHyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=10, grace_period=1,
                                   reduction_factor=2)
    hb = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=9)
    for sched in (asha, hb):
        runner = FakeRunner(sched, cpus=100)
        trial = runner.add_trial(make_trial({}))
        runner.start_trial(trial)
        odd = {"training_iteration": t, "episode_reward_mean": 1.0}
        assert runner.report(trial, odd) == Decision.CONTINUE
        runner.complete(trial, odd)
        strict_json(sched.save_state())
    assert all(not rung.recorded for b in asha._brackets for rung in b.rungs)  # nowhere, not the top rung
    assert hb.brackets()[0][0].progress == 0


def test_hyperband_state_with_numpy_times_and_nan_scores_round_trips_as_plain_json():
    sched = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=81)
    runner = FakeRunner(sched, cpus=100)
    trials = [runner.add_trial(make_trial({})) for _ in range(13)]
    for trial in trials[5:]:
        runner.start_trial(trial)
    for i, trial in enumerate(trials[5:9]):
        runner.report(trial, {"training_iteration": np.int64(27), "episode_reward_mean": [math.nan, 1.0, None,
                                                                                         np.float32(2)][i]})
    text = strict_json(sched.save_state())
    restored = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=81)
    restored.restore_state(json.loads(text))
    assert strict_json(restored.save_state()) == text
    live = restored.brackets()[0][1].live
    assert live[trials[5].trial_id] == [27, -math.inf] and live[trials[8].trial_id] == [27, 2.0]
    assert type(live[trials[8].trial_id][0]) is int


def test_hyperband_keeps_the_last_score_when_a_result_has_no_metric():
    sched = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=81)
    runner = FakeRunner(sched, cpus=100)
    trials = [runner.add_trial(make_trial({})) for _ in range(13)]
    members = trials[5:]
    for trial in members:
        runner.start_trial(trial)
    for i, trial in enumerate(members):
        runner.report(trial, result(trial, 26, float(i)))
    for i, trial in enumerate(members):  # the milestone result of the best two lacks the metric
        runner.report(trial, result(trial, 27, MISSING if i >= 6 else float(i)))
    assert set(sched.brackets()[0][1].live) == {members[6].trial_id, members[7].trial_id}
