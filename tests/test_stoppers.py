"""tunecore.stopper without Ray: each stopper's rule against a direct numpy computation of it,
pickling with state, a fake clock for the timeout, and the errors of bad arguments."""

from __future__ import annotations

import datetime
import math
import pickle
import re
import warnings

import cloudpickle
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunecore import result as R
from tunecore import stopper as S
from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.stopper import (
    CombinedStopper,
    ExperimentPlateauStopper,
    FunctionStopper,
    MaximumIterationStopper,
    NoopStopper,
    Stopper,
    TimeoutStopper,
    TrialPlateauStopper,
    as_stopper,
)

# values that often repeat (so plateaus happen), moderate floats, and what must not crash
VALUES = st.one_of(st.sampled_from([0.0, 0.0005, 1.0, 1.002, 2.0]),
                   st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
                   st.sampled_from([None, math.nan, math.inf, -math.inf, "n/a"]),
                   st.integers(-3, 3))
RESULTS = st.lists(st.tuples(st.integers(0, 2), VALUES), max_size=40)  # (trial index, metric value)


def result(value, key="m"):
    """A result reporting ``value`` for ``key`` (``"absent"``: a result without the key)."""
    return {} if value == "absent" else {key: value}


def numeric(value) -> float:
    """The reference's view of a value: a finite number, else NaN."""
    if isinstance(value, (bool, str)) or value is None:
        return math.nan
    return float(value)


# -- TrialPlateauStopper -----------------------------------------------------------------------
def trial_plateau_reference(values, std, num_results, grace_period, threshold, mode):
    """Whether each of one trial's results stops it, computed from the whole history at once."""
    arr = np.array([numeric(v) for v in values], dtype=float)
    out = []
    for k in range(1, len(arr) + 1):
        window = arr[max(0, k - num_results):k]
        ok = k >= grace_period and len(window) == num_results and bool(np.isfinite(window).all())
        if ok and threshold is not None:
            ok = arr[k - 1] <= threshold if mode == "min" else arr[k - 1] >= threshold
        out.append(bool(ok and np.std(window) < std))
    return out


@settings(max_examples=300, deadline=None)
@given(RESULTS, st.sampled_from([0.001, 0.01, 0.5, 0.6, 5.0]), st.integers(1, 5), st.integers(0, 6),
       st.sampled_from([None, ("min", 1.0), ("max", 1.0), ("min", 0.0), ("max", -2.0)]))
def test_trial_plateau_matches_the_numpy_rule_per_trial(rows, std, num_results, grace_period, threshold):
    metric_threshold, mode = (None, None) if threshold is None else (threshold[1], threshold[0])
    stopper = TrialPlateauStopper("m", std=std, num_results=num_results, grace_period=grace_period,
                                  metric_threshold=metric_threshold, mode=mode)
    got: dict[int, list] = {}
    for trial, value in rows:
        got.setdefault(trial, []).append(stopper(f"t{trial}", result(value)))
        assert stopper.stop_all() is False
    for trial, decisions in got.items():
        values = [v for t, v in rows if t == trial]
        assert decisions == trial_plateau_reference(values, std, num_results, grace_period, metric_threshold, mode)


def test_trial_plateau_stops_a_flat_trial_after_the_grace_period_and_a_full_window():
    stopper = TrialPlateauStopper("m", std=0.01, num_results=3, grace_period=5)
    assert [stopper("a", {"m": 1.0}) for _ in range(6)] == [False] * 4 + [True, True]
    rising = TrialPlateauStopper("m", std=0.01, num_results=3, grace_period=0)
    assert not any(rising("b", {"m": float(i)}) for i in range(20))


def test_trial_plateau_std_must_be_below_the_bound_and_the_experiments_at_most_it():
    trial = TrialPlateauStopper("m", std=0.5, num_results=2, grace_period=0)
    assert [trial("a", {"m": 0.0}), trial("a", {"m": 1.0})] == [False, False]  # std 0.5 is not < 0.5
    assert [trial("b", {"m": 0.0}), trial("b", {"m": 0.75})] == [False, True]
    experiment = ExperimentPlateauStopper("m", std=0.5, top=2)
    assert [experiment("a", {"m": 0.0}), experiment("b", {"m": 1.0})] == [False, True]  # 0.5 <= 0.5
    tight = ExperimentPlateauStopper("m", std=0.49, top=2)
    assert [tight("a", {"m": 0.0}), tight("b", {"m": 1.0})] == [False, False]


def test_trial_plateau_threshold_is_a_bound_in_the_mode_direction():
    low = TrialPlateauStopper("m", num_results=2, grace_period=0, metric_threshold=0.5, mode="min")
    assert [low("a", {"m": 0.7}), low("a", {"m": 0.7}), low("b", {"m": 0.4}), low("b", {"m": 0.4})] == \
        [False, False, False, True]
    high = TrialPlateauStopper("m", num_results=2, grace_period=0, metric_threshold=0.5, mode="max")
    assert [high("a", {"m": 0.7}), high("a", {"m": 0.7}), high("b", {"m": 0.4}), high("b", {"m": 0.4})] == \
        [False, True, False, False]
    zero = TrialPlateauStopper("m", num_results=1, grace_period=0, metric_threshold=0.0, mode="max")
    assert zero("a", {"m": -1.0}) is False and zero("a", {"m": 0.0}) is True  # 0.0 is a threshold too


@pytest.mark.parametrize("bad", ["absent", None, math.nan, math.inf, -math.inf, "text", [1.0]])
def test_trial_plateau_a_result_without_a_finite_value_blocks_the_window_until_it_leaves(bad):
    stopper = TrialPlateauStopper("m", num_results=2, grace_period=0)
    decisions = [stopper("a", {"m": 1.0}), stopper("a", result(bad)), stopper("a", {"m": 1.0}),
                 stopper("a", {"m": 1.0})]
    assert decisions == [False, False, False, True]


@pytest.mark.parametrize("value", [np.float32(1.5), np.float64(1.5), np.int64(2), np.array(1.5), 3])
def test_trial_plateau_takes_numpy_scalars_and_ints(value):
    stopper = TrialPlateauStopper("m", num_results=2, grace_period=0)
    assert [stopper("a", {"m": value}), stopper("a", {"m": value})] == [False, True]


def test_trial_plateau_huge_values_neither_warn_nor_stop():
    stopper = TrialPlateauStopper("m", std=1e300, num_results=2, grace_period=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [stopper("a", {"m": 1e308}), stopper("a", {"m": -1e308})] == [False, False]


# -- ExperimentPlateauStopper ------------------------------------------------------------------
def experiment_plateau_reference(values, std, top, mode, patience):
    """stop_all after each result: the top of all finite values so far, and plateaued results in a row."""
    out, run, plateaued = [], 0, False
    for k, value in enumerate(values):
        if np.isfinite(numeric(value)):
            seen = np.sort(np.array([numeric(v) for v in values[:k + 1]], dtype=float))
            seen = seen[np.isfinite(seen)]
            best = seen[:top] if mode == "min" else seen[-top:]
            plateaued = len(best) == top and bool(np.std(best) <= std)
            run = run + 1 if plateaued else 0
        out.append(plateaued and run >= patience)
    return out


@settings(max_examples=300, deadline=None)
@given(RESULTS, st.sampled_from([0.001, 0.01, 0.5, 0.6, 5.0]), st.integers(2, 5), st.sampled_from(["min", "max"]),
       st.integers(0, 4))
def test_experiment_plateau_matches_the_numpy_rule(rows, std, top, mode, patience):
    stopper = ExperimentPlateauStopper("m", std=std, top=top, mode=mode, patience=patience)
    decisions = []
    for trial, value in rows:
        stops_trial = stopper(f"t{trial}", result(value))
        assert stops_trial == stopper.stop_all()
        decisions.append(stops_trial)
    assert decisions == experiment_plateau_reference([v for _, v in rows], std, top, mode, patience)


def test_experiment_plateau_counts_plateaued_results_in_a_row_like_ray():
    def stops_after(patience):
        stopper = ExperimentPlateauStopper("m", std=0.001, top=2, mode="min", patience=patience)
        return next(i for i in range(1, 50) if stopper("a", {"m": 1.0}))

    # the top is full at the 2nd result; Ray counts that one, so patience 0 and 1 agree
    assert [stops_after(p) for p in (0, 1, 2, 3)] == [2, 2, 3, 4]


def test_experiment_plateau_keeps_the_best_values_of_the_mode():
    high = ExperimentPlateauStopper("m", std=0.01, top=2, mode="max")
    assert [high("a", {"m": v}) for v in (5.0, 1.0, 1.0, 5.0)] == [False, False, False, True]
    low = ExperimentPlateauStopper("m", std=0.01, top=2, mode="min")
    assert [low("a", {"m": v}) for v in (5.0, 1.0, 5.0, 1.0)] == [False, False, False, True]


def test_experiment_plateau_skips_results_without_a_finite_value():
    stopper = ExperimentPlateauStopper("m", std=0.01, top=2, patience=2)
    stopper("a", {"m": 1.0})
    assert stopper("a", {"m": 1.0}) is False and stopper._iterations == 1
    for bad in ("absent", None, math.nan, math.inf, "x"):
        assert stopper("b", result(bad)) is False
    assert stopper._iterations == 1 and stopper._top_values == [1.0, 1.0]
    assert stopper("a", {"m": 1.0}) is True


# -- MaximumIterationStopper, NoopStopper ------------------------------------------------------
@given(st.integers(1, 50), st.lists(st.integers(0, 100), max_size=20))
def test_maximum_iteration_stops_at_training_iteration(max_iter, iterations):
    stopper = MaximumIterationStopper(max_iter)
    assert [stopper("a", {R.TRAINING_ITERATION: i}) for i in iterations] == [i >= max_iter for i in iterations]
    assert stopper.stop_all() is False


def test_maximum_iteration_other_results():
    stopper = MaximumIterationStopper(3)
    assert stopper("a", {R.TRAINING_ITERATION: np.int64(3)}) is True
    assert stopper("a", {R.TRAINING_ITERATION: 3.0}) is True
    assert stopper("a", {}) is False and stopper("a", {R.TRAINING_ITERATION: None}) is False
    assert stopper("a", {R.TRAINING_ITERATION: math.nan}) is False


def test_a_stopper_is_the_criterion_of_a_trial():
    trial = Trial("t", stopping_criterion=MaximumIterationStopper(2))
    assert trial.should_stop({R.TRAINING_ITERATION: 1}) is False
    assert trial.should_stop({R.TRAINING_ITERATION: 2}) is True


def test_noop_stops_nothing():
    assert NoopStopper()("a", {R.TRAINING_ITERATION: 10**9, R.DONE: True}) is False
    assert NoopStopper().stop_all() is False


# -- CombinedStopper, FunctionStopper, as_stopper ----------------------------------------------
class Recorder(Stopper):
    """Says what it was told to, and records what it was asked."""

    def __init__(self, answers, stop_all=False):
        self.answers, self.seen, self._stop_all = list(answers), [], stop_all

    def __call__(self, trial_id, result):
        self.seen.append((trial_id, result))
        return self.answers[len(self.seen) - 1]

    def stop_all(self):
        return self._stop_all


@given(st.lists(st.lists(st.booleans(), min_size=5, max_size=5), max_size=4),
       st.lists(st.booleans(), max_size=4))
def test_combined_is_any_and_asks_every_stopper(answers, stop_alls):
    parts = [Recorder(a, stop_all=i < len(stop_alls) and stop_alls[i]) for i, a in enumerate(answers)]
    combined = CombinedStopper(*parts)
    for step in range(5):
        assert combined("a", {"i": step}) == any(a[step] for a in answers)
    assert all(len(p.seen) == 5 for p in parts)  # also after one of them said stop
    assert combined.stop_all() == any(p.stop_all() for p in parts)


def test_combined_wraps_functions_and_keeps_stop_all():
    combined = CombinedStopper(lambda tid, r: r["x"] > 1, MaximumIterationStopper(3))
    assert [combined("a", {"x": 0, R.TRAINING_ITERATION: 1}), combined("a", {"x": 2, R.TRAINING_ITERATION: 1}),
            combined("a", {"x": 0, R.TRAINING_ITERATION: 3})] == [False, True, True]
    assert CombinedStopper().stop_all() is False and CombinedStopper()("a", {}) is False
    assert CombinedStopper(NoopStopper(), Recorder([], stop_all=True)).stop_all() is True


def test_function_stopper_passes_the_trial_and_result():
    calls = []
    stopper = FunctionStopper(lambda tid, r: calls.append((tid, r)) or r.get("x", 0))
    assert stopper("t1", {"x": 0}) is False and stopper("t1", {"x": 5}) is True
    assert calls == [("t1", {"x": 0}), ("t1", {"x": 5})] and stopper.stop_all() is False
    assert FunctionStopper.is_valid_function(len) and not FunctionStopper.is_valid_function(NoopStopper())


def test_as_stopper():
    stopper = MaximumIterationStopper(2)
    assert as_stopper(stopper) is stopper
    assert isinstance(as_stopper(None), NoopStopper)
    wrapped = as_stopper(lambda tid, r: True)
    assert isinstance(wrapped, FunctionStopper) and wrapped("a", {}) is True
    with pytest.raises(TuneError, match="a function"):
        as_stopper({R.TRAINING_ITERATION: 3})


class DuckStopper:
    def __call__(self, trial_id, result):
        return False

    def stop_all(self):
        return True


def test_an_object_with_stop_all_must_be_a_stopper():
    for make in (FunctionStopper, as_stopper, CombinedStopper):
        with pytest.raises(TuneError, match="subclass tunecore.stopper.Stopper"):
            make(DuckStopper())


def test_the_base_class_is_abstract():
    with pytest.raises(TypeError):
        Stopper()

    class OnlyCall(Stopper):
        def __call__(self, trial_id, result):
            return False

    with pytest.raises(TypeError):
        OnlyCall()


# -- TimeoutStopper ----------------------------------------------------------------------------
class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(S, "_clock", fake)
    return fake


@pytest.mark.parametrize("timeout", [10, 10.0, datetime.timedelta(seconds=10), np.float64(10)])
def test_timeout_counts_from_the_first_check(clock, timeout):
    stopper = TimeoutStopper(timeout)
    clock.now += 100  # setting up does not count
    assert stopper.stop_all() is False
    clock.now += 9.5
    assert stopper.stop_all() is False and stopper("a", {}) is False
    clock.now += 0.5
    assert stopper.stop_all() is True


def test_timeout_after_pickling_carries_the_budget_left_not_the_downtime(clock):
    stopper = TimeoutStopper(10)
    stopper.stop_all()
    clock.now += 4
    stopper.stop_all()
    clock.now += 2  # since the last check: charged when pickled
    blob = pickle.dumps(stopper)
    clock.now += 3600  # the experiment was down
    restored = pickle.loads(blob)
    assert restored.stop_all() is False  # the clock restarts here, 4 s left
    clock.now += 3.5
    assert restored.stop_all() is False
    clock.now += 0.5
    assert restored.stop_all() is True
    clock.now = 1006.0 + 3.5  # the original keeps its own clock: 9.5 s since its first check
    assert stopper.stop_all() is False and pickle.loads(pickle.dumps(stopper))._budget == pytest.approx(0.5)


def test_timeout_never_checked_pickles_the_whole_budget(clock):
    restored = pickle.loads(pickle.dumps(TimeoutStopper(datetime.timedelta(minutes=1))))
    clock.now += 500
    assert restored.stop_all() is False
    clock.now += 60
    assert restored.stop_all() is True


# -- pickling keeps state ----------------------------------------------------------------------
def stop_on_x(trial_id, result):
    return result.get("x", 0) > 3


def _feed(stopper, rows):
    return [stopper(tid, r) for tid, r in rows]


STATEFUL = [
    lambda: TrialPlateauStopper("m", std=0.01, num_results=3, grace_period=2),
    lambda: TrialPlateauStopper("m", num_results=2, grace_period=0, metric_threshold=1.5, mode="min"),
    lambda: ExperimentPlateauStopper("m", std=0.01, top=3, mode="max", patience=2),
    lambda: MaximumIterationStopper(4),
    lambda: CombinedStopper(TrialPlateauStopper("m", num_results=3, grace_period=0), MaximumIterationStopper(6)),
    lambda: FunctionStopper(stop_on_x),
    lambda: NoopStopper(),
]
BEFORE = [("a", {"m": 1.0, R.TRAINING_ITERATION: 1}), ("b", {"m": 5.0, R.TRAINING_ITERATION: 1}),
          ("a", {"m": 1.0, R.TRAINING_ITERATION: 2}), ("b", {R.TRAINING_ITERATION: 2})]
AFTER = [("a", {"m": 1.0, R.TRAINING_ITERATION: 3}), ("b", {"m": 1.0, R.TRAINING_ITERATION: 3}),
         ("a", {"m": 1.0, R.TRAINING_ITERATION: 4, "x": 4}), ("b", {"m": 1.0, R.TRAINING_ITERATION: 4})]


@pytest.mark.parametrize("make", STATEFUL)
@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)])
def test_a_pickled_stopper_goes_on_where_it_was(make, dumps, loads):
    original = make()
    _feed(original, BEFORE)
    restored = loads(dumps(original))
    assert _feed(restored, AFTER) == _feed(original, AFTER)
    assert restored.stop_all() == original.stop_all()


def test_pickling_keeps_the_plateau_state():
    stopper = TrialPlateauStopper("m", num_results=3, grace_period=0)
    _feed(stopper, [("a", {"m": 1.0}), ("a", {"m": 1.0})])
    restored = pickle.loads(pickle.dumps(stopper))
    assert restored("a", {"m": 1.0}) is True  # a fresh one needs three results
    top = ExperimentPlateauStopper("m", top=2)
    top("a", {"m": 1.0})
    assert pickle.loads(pickle.dumps(top))("b", {"m": 1.0}) is True


def test_a_lambda_function_stopper_pickles_with_cloudpickle():
    stopper = cloudpickle.loads(cloudpickle.dumps(FunctionStopper(lambda tid, r: tid == "z")))
    assert stopper("z", {}) is True and stopper("y", {}) is False


# -- bad arguments -----------------------------------------------------------------------------
BAD = [
    (lambda: TrialPlateauStopper(3), "metric"),
    (lambda: TrialPlateauStopper(""), "metric"),
    (lambda: TrialPlateauStopper("m", std=-0.1), "std, a number > 0"),
    (lambda: TrialPlateauStopper("m", std=0), "std, a number > 0"),
    (lambda: TrialPlateauStopper("m", std=math.nan), "std, a number > 0"),
    (lambda: TrialPlateauStopper("m", std="0.1"), "std, a number > 0"),
    (lambda: TrialPlateauStopper("m", num_results=0), "num_results, an int >= 1"),
    (lambda: TrialPlateauStopper("m", num_results=2.5), "num_results, an int >= 1"),
    (lambda: TrialPlateauStopper("m", num_results=True), "num_results, an int >= 1"),
    (lambda: TrialPlateauStopper("m", grace_period=-1), "grace_period, an int >= 0"),
    (lambda: TrialPlateauStopper("m", mode="maximize"), "mode="),
    (lambda: TrialPlateauStopper("m", metric_threshold=0.5), "needs mode='min'"),
    (lambda: TrialPlateauStopper("m", metric_threshold=0.0), "needs mode='min'"),
    (lambda: TrialPlateauStopper("m", metric_threshold="high", mode="max"), "metric_threshold, a finite number"),
    (lambda: TrialPlateauStopper("m", metric_threshold=math.nan, mode="max"), "metric_threshold, a finite number"),
    (lambda: ExperimentPlateauStopper(None), "metric"),
    (lambda: ExperimentPlateauStopper("m", std=-1.0), "std, a number > 0"),
    (lambda: ExperimentPlateauStopper("m", top=1), "top, an int >= 2"),
    (lambda: ExperimentPlateauStopper("m", mode=None), "mode='min' or 'max'"),
    (lambda: ExperimentPlateauStopper("m", mode="MAX"), "mode='min' or 'max'"),
    (lambda: ExperimentPlateauStopper("m", patience=-1), "patience, an int >= 0"),
    (lambda: MaximumIterationStopper(0), "max_iter, an int >= 1"),
    (lambda: MaximumIterationStopper("5"), "max_iter, an int >= 1"),
    (lambda: TimeoutStopper(-5), "timeout, a number of seconds > 0"),
    (lambda: TimeoutStopper(datetime.timedelta(0)), "timeout, a number of seconds > 0"),
    (lambda: TimeoutStopper("1h"), "timeout, a number of seconds > 0"),
    (lambda: TimeoutStopper(True), "timeout, a number of seconds > 0"),
    (lambda: FunctionStopper(42), "a function"),
    (lambda: FunctionStopper(NoopStopper()), "pass it as it is"),
    (lambda: CombinedStopper(NoopStopper(), {"x": 1}), "argument 1"),
]


@pytest.mark.parametrize("make, message", BAD)
def test_bad_arguments_raise_a_tune_error_that_says_what_was_wrong(make, message):
    with pytest.raises(TuneError, match=re.escape(message)):
        make()


def test_good_edge_arguments_are_accepted():
    TrialPlateauStopper("m", std=1, num_results=np.int64(1), grace_period=0, mode="max")  # mode alone is fine
    ExperimentPlateauStopper("m", std=1, top=2, mode="max", patience=0)
    MaximumIterationStopper(np.int32(1))
    TimeoutStopper(math.inf)
