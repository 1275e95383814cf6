"""OptunaSearch with metrics as users report them: numpy numbers of every dtype, NaN, ±inf, None.

Optuna must get the Python float each number holds, at the Python int step each
``training_iteration`` holds; a NaN final metric fails the trial (as ``study.tell`` does
with NaN), ±inf are values like any other, and a missing or non-numeric one fails it with a
warning. The saved state stays plain JSON.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optuna.trial import TrialState

import tunecore as tune
from tune_optuna import OptunaSearch
from tunecore.testing import NUMERIC_KINDS as KINDS
from tunecore.testing import NUMPY_INTS, as_kind
from tunecore.util import plain

MISSING = "missing"  # the metric key is left out of the result

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))

tune.register_trainable("opt_values_noop", lambda config, reporter: reporter(loss=0))


def metrics():
    numbers = st.tuples(st.sampled_from(KINDS), st.floats(-1e6, 1e6)).map(lambda p: as_kind(*p))
    odd = st.sampled_from([math.nan, np.float32("nan"), np.array(np.nan), math.inf, -math.inf, np.float16("-inf"),
                           None, "n/a", np.array([1.0, 2.0]), True, MISSING])
    return st.one_of(numbers, odd)


def objective(value):
    """The float Optuna must get for ``value``, or None when the value is no objective value."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def steps():
    return st.one_of(st.integers(0, 50), st.sampled_from(NUMPY_INTS).map(lambda k: k(7)))


def with_metric(value, **extra):
    out = dict(extra)
    if not (isinstance(value, str) and value == MISSING):
        out["loss"] = value
    return out


def new_search(n: int = 1, mode: str = "min") -> OptunaSearch:
    search = OptunaSearch(metric="loss", mode=mode, seed=0, max_concurrent=n)
    search.add_configurations({"opt_values": {"run": "opt_values_noop", "num_samples": n,
                                              "config": {"x": tune.uniform(0, 1)}}})
    return search


@SETTINGS
@given(reports=st.lists(st.tuples(metrics(), steps()), max_size=5), final=metrics(),
       mode=st.sampled_from(["min", "max"]))
def test_what_optuna_gets_for_every_kind_of_metric(reports, final, mode):
    search = new_search(mode=mode)
    (trial,) = search.next_trials()
    want_intermediate: dict = {}
    for value, step in reports:
        search.on_trial_result(trial.trial_id, with_metric(value, training_iteration=step))
        if objective(value) is not None:
            want_intermediate.setdefault(int(step), objective(value))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.on_trial_complete(trial.trial_id, result=with_metric(final, training_iteration=99))
    (told,) = search.study.trials
    assert told.intermediate_values == want_intermediate
    assert all(type(k) is int and type(v) is float for k, v in told.intermediate_values.items())
    failed_for_value = [w for w in caught if "told to Optuna as FAIL" in str(w.message)]
    if objective(final) is None:
        assert told.state == TrialState.FAIL and told.value is None
        assert len(failed_for_value) == 1 and "'loss'" in str(failed_for_value[0].message)
    else:
        assert told.state == TrialState.COMPLETE and not failed_for_value
        assert type(told.value) is float and told.value == objective(final)
    text = json.dumps(search.save_state(), sort_keys=True, allow_nan=False)
    resumed = OptunaSearch(metric="loss", mode=mode, seed=0, max_concurrent=1)
    resumed.restore_state(json.loads(text))
    assert json.dumps(resumed.save_state(), sort_keys=True, allow_nan=False) == text


@pytest.mark.parametrize("mode, values, best", [("min", [1.0, math.inf, np.float32(0.5)], 0.5),
                                                ("max", [np.float16(2.0), -math.inf, np.int64(1)], 2.0)])
def test_infinite_metrics_are_told_as_values_and_survive_a_resume(mode, values, best):
    search = new_search(3, mode)
    trials = search.next_trials()
    for trial, value in zip(trials, values):
        search.on_trial_result(trial.trial_id, {"loss": value, "training_iteration": np.int64(1)})
        search.on_trial_complete(trial.trial_id, result={"loss": value})
    assert [t.state for t in search.study.trials] == [TrialState.COMPLETE] * 3
    assert search.study.best_value == best
    text = json.dumps(search.save_state(), sort_keys=True, allow_nan=False)
    resumed = OptunaSearch(metric="loss", mode=mode, seed=0, max_concurrent=3)
    resumed.restore_state(json.loads(text))
    resumed.add_configurations({"opt_values": {"run": "opt_values_noop", "num_samples": 4,
                                               "config": {"x": tune.uniform(0, 1)}}})
    assert len(resumed.next_trials()) == 1  # replays the finished three, suggests the fourth
    assert [t.value for t in resumed.study.trials[:3]] == [float(plain(v)) for v in values]
    assert [t.intermediate_values for t in resumed.study.trials[:3]] == [{1: float(plain(v))}
                                                                        for v in values]


@pytest.mark.parametrize("value", [math.nan, np.float32("nan"), np.array(np.nan)], ids=["nan", "float32", "0-d"])
def test_a_nan_metric_fails_the_trial_as_optuna_does(value):
    search = new_search()
    (trial,) = search.next_trials()
    search.on_trial_result(trial.trial_id, {"loss": value, "training_iteration": 1})
    with pytest.warns(UserWarning, match="told to Optuna as FAIL"):
        search.on_trial_complete(trial.trial_id, result={"loss": value})
    (told,) = search.study.trials
    assert told.state == TrialState.FAIL and told.intermediate_values == {}


def test_an_early_stopped_trial_keeps_its_numpy_intermediate_values():
    search = new_search()
    (trial,) = search.next_trials()
    for step, value in ((np.int32(1), np.float16(0.5)), (np.uint8(2), np.array(np.float32(0.25))),
                        (np.int64(3), np.float64("nan"))):
        search.on_trial_result(trial.trial_id, {"loss": value, "training_iteration": step})
    search.on_trial_complete(trial.trial_id, early_terminated=True)
    (told,) = search.study.trials
    assert told.state == TrialState.PRUNED and told.value == 0.25
    assert told.intermediate_values == {1: 0.5, 2: 0.25}
