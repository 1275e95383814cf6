"""PBT, its explore step and its replay with values as users report them.

numpy numbers of every dtype (metrics, times, config values) must behave exactly as the
Python numbers they hold; a NaN metric ranks last and is never copied; a result without a
usable time is not a perturbation point; everything saved or recorded stays plain JSON.
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tune_pbt import PopulationBasedTraining, PopulationBasedTrainingReplay
from tune_pbt.explore import explore
from tunecore.schedulers import Decision
from tunecore.testing import NUMERIC_KINDS as KINDS
from tunecore.testing import (
    NUMPY_FLOATS,
    NUMPY_INTS,
    FakeRunner,
    as_kind,
    make_result,
    make_trial,
)
from tunecore.trial import TrialStatus
from tunecore.util import plain

MISSING = "missing"  # the metric key is left out of the result
#: Fields of an exploit record that differ from run to run (wall-clock times).
CLOCK_FIELDS = ("timestamp", "source_checkpoint_timestamp")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def make_pbt(**kw):
    kw.setdefault("time_attr", "training_iteration")
    kw.setdefault("perturbation_interval", 2)
    kw.setdefault("hyperparam_mutations", {"lr": lambda: 0.5, "width": lambda: 8})
    kw.setdefault("resample_probability", 0.25)
    kw.setdefault("seed", 0)
    kw.setdefault("verbose", False)
    kw.setdefault("metric", "episode_reward_mean")
    kw.setdefault("mode", "max")
    return PopulationBasedTraining(**kw)


def strict_json(value) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def result(t, metric):
    out = {"training_iteration": t, "time_total_s": float(plain(t))}
    if not (isinstance(metric, str) and metric == MISSING):
        out["episode_reward_mean"] = metric
    return out


def drive(pbt, rounds, config_of, metric_of, time_of):
    """Five trials reporting ``rounds[r][i]`` at iteration ``2 * (r + 1)``; returns what the runner saw."""
    runner = FakeRunner(pbt, cpus=5)
    trials = [runner.add_trial(make_trial(config_of(i), trial_id=f"p{i}", experiment_tag=str(i)))
              for i in range(5)]
    for trial in trials:
        runner.start_trial(trial)
    for r, scores in enumerate(rounds):
        for trial, score in zip(trials, scores):
            if trial.status != TrialStatus.RUNNING:
                continue
            runner.report(trial, result(time_of(2 * (r + 1)), metric_of(score)))
    exploits = [(tid, ck.value["trial_id"], config, tag, {k: v for k, v in rec.items() if k not in CLOCK_FIELDS})
                for tid, ck, config, tag, rec in runner.exploits]
    return runner, exploits


# -- numpy numbers behave as the Python numbers they hold ------------------------------------------
@SETTINGS
@given(rounds=st.lists(st.lists(st.floats(-100, 100), min_size=5, max_size=5), min_size=1, max_size=4),
       kind=st.sampled_from(KINDS), time_kind=st.sampled_from((int, np.int64, np.float32, "0-d")),
       lr_kind=st.sampled_from(NUMPY_FLOATS + ("0-d",)), width_kind=st.sampled_from(NUMPY_INTS))
def test_pbt_decides_and_explores_on_numpy_numbers_as_on_python_ones(rounds, kind, time_kind, lr_kind, width_kind):
    runs = []
    for convert in (as_kind, lambda k, x: plain(as_kind(k, x))):
        pbt = make_pbt()
        runner, exploits = drive(
            pbt, rounds,
            config_of=lambda i, convert=convert: {"lr": convert(lr_kind, 0.01 * (i + 1)),
                                                  "width": convert(width_kind, 10 + i)},
            metric_of=lambda x, convert=convert: convert(kind, x),
            time_of=lambda t, convert=convert: convert(time_kind, t))
        strict_json([e[2:] for e in exploits])  # configs and records: plain JSON
        runs.append((runner.decisions, runner.requests, exploits, strict_json(pbt.save_state())))
    numpy_run, python_run = runs
    assert numpy_run == python_run
    for _, _, config, _, record in numpy_run[2]:
        assert type(config["lr"]) is float and type(config["width"]) is int
        assert type(record["time"]) is type(plain(as_kind(time_kind, 2)))


def metrics():
    numbers = st.tuples(st.sampled_from(KINDS), st.floats(-100, 100)).map(lambda p: as_kind(*p))
    odd = st.sampled_from([math.nan, np.float32("nan"), np.array(np.nan), math.inf, -math.inf, None, "n/a",
                           np.array([1.0, 2.0]), MISSING])
    return st.one_of(numbers, odd)


def score(value) -> float:
    """How PBT in mode max must score ``value``: NaN below everything, non-numbers not at all (None)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return -math.inf if value != value else float(value)


# -- NaN ranks last and is never copied -------------------------------------------------------------
@SETTINGS
@given(rounds=st.lists(st.lists(metrics(), min_size=5, max_size=5), min_size=1, max_size=4))
def test_a_trial_scoring_nan_is_never_checkpointed_as_top_nor_copied(rounds):
    pbt = make_pbt()
    runner = FakeRunner(pbt, cpus=5)
    trials = [runner.add_trial(make_trial({"lr": 0.1, "width": 4}, experiment_tag=str(i))) for i in range(5)]
    for trial in trials:
        runner.start_trial(trial)
    for r, values in enumerate(rounds):
        for trial, value in zip(trials, values):
            before = len(runner.requests)
            decision = runner.report(trial, result(2 * (r + 1), value))
            assert isinstance(decision, Decision)
            if score(value) == -math.inf:
                assert ("save", trial.trial_id) not in runner.requests[before:], "a NaN trial was checkpointed"
    for _, checkpoint, _, _, record in runner.exploits:
        assert record["source_score"] > -math.inf, f"copied {record['source_trial']}, which scored -inf"
        assert record["score"] <= record["source_score"]
    text = strict_json(pbt.save_state())
    restored = make_pbt()
    restored.restore_state(json.loads(text))
    assert strict_json(restored.save_state()) == text


def test_a_diverged_trial_exploits_a_top_trial():
    pbt = make_pbt()
    runner = FakeRunner(pbt, cpus=4)
    trials = [runner.add_trial(make_trial({"lr": 0.1, "width": 4}, experiment_tag=str(i))) for i in range(4)]
    for trial in trials:
        runner.start_trial(trial)
    for trial, value in zip(trials, (1.0, 2.0, 3.0, 4.0)):
        runner.report(trial, result(2, np.float32(value)))
    runner.report(trials[2], result(4, np.float64("nan")))
    (exploit,) = runner.exploits
    assert exploit[0] == trials[2].trial_id and exploit[1].value["trial_id"] == trials[3].trial_id
    assert exploit[4]["score"] == -math.inf and exploit[4]["source_score"] == 4.0
    assert pbt.save_state()["trials"][trials[2].trial_id]["last_score"] == "-Infinity"


def test_a_trial_that_diverges_whatever_it_copies_does_not_replay_forever():
    pbt = make_pbt(hyperparam_mutations={"quality": lambda: 1.0})
    diverging: list = []

    def result_fn(trial, iteration):
        out = make_result(trial, iteration)
        if trial.trial_id in diverging and iteration <= 4:
            out["episode_reward_mean"] = np.float32("nan")  # whatever state or config it copied
        return out

    runner = FakeRunner(pbt, cpus=2, result_fn=result_fn)
    trials = runner.add_trials(6)
    diverging.extend(t.trial_id for t in trials[::2])
    runner.run(max_iterations=12, max_steps=3000)
    assert all(t.is_finished() for t in runner.trials)
    copies = [(tid, record["source_checkpoint_seq"]) for tid, _, _, _, record in runner.exploits
              if record["score"] == -math.inf]
    assert copies and len(copies) == len(set(copies)), "a diverged trial copied the same checkpoint twice"


@pytest.mark.parametrize("value", [None, "n/a", np.array([1.0, 2.0]), MISSING],
                         ids=["None", "text", "array", "missing"])
def test_a_result_without_a_numeric_metric_is_not_ranked(value, capsys):
    pbt = make_pbt()
    runner = FakeRunner(pbt, cpus=2)
    a, b = [runner.add_trial(make_trial({"lr": 0.1, "width": 4}, experiment_tag=str(i))) for i in range(2)]
    runner.start_trial(a)
    runner.start_trial(b)
    runner.report(a, result(2, 5.0))
    runner.report(b, result(2, 1.0))
    runner.requests.clear()
    assert runner.report(a, result(4, value)) == Decision.CONTINUE
    assert runner.requests == [] and pbt._trial_state[a.trial_id].last_score == 5.0
    assert "cannot be ranked" in capsys.readouterr().err
    runner.report(a, result(5, 6.0))  # the next result with a metric is the perturbation point
    assert pbt._trial_state[a.trial_id].last_score == 6.0


@pytest.mark.parametrize("t", [math.nan, np.float32("nan"), None, "3", np.array([1, 2])],
                         ids=["nan", "float32 nan", "None", "text", "array"])
def test_a_result_without_a_usable_time_is_not_a_perturbation_point(t, capsys):
    pbt = make_pbt()
    runner = FakeRunner(pbt, cpus=2)
    a, b = [runner.add_trial(make_trial({"lr": 0.1, "width": 4}, experiment_tag=str(i))) for i in range(2)]
    runner.start_trial(a)
    runner.start_trial(b)
    runner.report(a, result(2, 5.0))
    runner.report(b, result(2, 1.0))
    runner.report(a, result(4, 5.0))  # the top trial: checkpointed
    runner.requests.clear()
    for _ in range(3):
        assert runner.report(b, {"training_iteration": t, "episode_reward_mean": -1.0}) == Decision.CONTINUE
    assert runner.requests == [] and pbt._trial_state[b.trial_id].last_perturbation_time == 2
    assert "not a perturbation point" in capsys.readouterr().err
    strict_json(pbt.save_state())
    runner.report(b, result(np.int64(4), -1.0))  # a usable time again: b is the bottom trial and exploits a
    assert [e[0] for e in runner.exploits] == [b.trial_id]


# -- explore -----------------------------------------------------------------------------------
@SETTINGS
@given(kind=st.sampled_from(NUMPY_FLOATS + NUMPY_INTS + ("0-d",)), x=st.floats(1, 100), seed=st.integers(0, 2 ** 32))
def test_explore_perturbs_numpy_numbers_as_the_python_numbers_they_hold(kind, x, seed):
    old = as_kind(kind, x)
    ops: dict = {}
    new = explore({"v": old}, {"v": lambda: -1.0}, 0.0, None, random.Random(seed), ops)
    reference_ops: dict = {}
    reference = explore({"v": plain(old)}, {"v": lambda: -1.0}, 0.0, None, random.Random(seed),
                        reference_ops)
    assert ops == reference_ops and ops["v"] in ("*1.2", "*0.8")  # perturbed, not resampled
    assert new == reference and type(new["v"]) is type(reference["v"])
    assert type(new["v"]) is (int if kind in NUMPY_INTS else float)


@pytest.mark.parametrize("old", [math.nan, np.float32("inf"), None, "x", 2 ** 2000], ids=["nan", "inf", "None",
                                                                                        "text", "2**2000"])
def test_explore_resamples_a_value_that_is_not_a_finite_number(old):
    ops: dict = {}
    new = explore({"v": old}, {"v": lambda: 3.0}, 0.0, None, random.Random(0), ops)
    assert ops == {"v": "resample"}
    assert new["v"] == (3 if isinstance(old, int) else 3.0)


# -- replay ------------------------------------------------------------------------------------
def test_replay_switches_at_numpy_iterations_and_lets_odd_ones_through():
    schedule = [{"iteration": 0, "config": {"lr": 1.0}}, {"iteration": 2, "config": {"lr": np.float32(2.0)}}]
    replay = PopulationBasedTrainingReplay(schedule=schedule, verbose=False)
    runner = FakeRunner(replay)
    trial = runner.add_trial(make_trial({}))
    runner.start_trial(trial)
    for odd in (None, math.nan, "2", np.array([1, 2])):
        assert runner.report(trial, {"training_iteration": odd}) == Decision.CONTINUE
    assert runner.exploits == []
    runner.report(trial, {"training_iteration": np.int64(1)})
    runner.report(trial, {"training_iteration": np.int64(2)})
    (exploit,) = runner.exploits
    record = exploit[4]
    assert record["iteration"] == 2 and type(record["iteration"]) is int
    assert record["new_config"] == {"lr": 2.0} and type(record["new_config"]["lr"]) is float
    strict_json(record)
