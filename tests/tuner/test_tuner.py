"""The Tuner on real Ray: fit, its TuneConfig/RunConfig/FailureConfig options, stoppers, restore."""

from __future__ import annotations

import json
import os
import time

import pytest

import tunecore as tune
from tunecore import result as R
from tunecore.errors import TrialError, TuneError
from tunecore.stopper import ExperimentPlateauStopper, MaximumIterationStopper, TrialPlateauStopper


def quadratic(config):
    for i in range(config.get("iters", 3)):
        tune.report({"loss": (config["x"] - 2) ** 2 + 1.0 / (i + 1), "started": config.get("t0", 0)})


def test_fit_returns_a_result_grid_with_the_best_result(ray_session, tmp_path):
    tuner = tune.Tuner(quadratic, param_space={"x": tune.grid_search([0, 1, 2, 3, 4])},
                       tune_config=tune.TuneConfig(metric="loss", mode="min"),
                       run_config=tune.RunConfig(name="quad", storage_path=str(tmp_path), verbose=0))
    grid = tuner.fit()
    assert len(grid) == 5 and grid.num_terminated == 5 and grid.num_errors == 0
    assert grid.experiment_path == str(tmp_path / "quad") == tuner.experiment_path
    best = grid.get_best_result()
    assert best.config["x"] == 2 and best.metrics["loss"] == pytest.approx(1 / 3)
    assert tuner.get_results() is grid
    again = tune.Tuner.restore(str(tmp_path / "quad"), quadratic).get_results()
    assert sorted(r.config["x"] for r in again) == [0, 1, 2, 3, 4]
    assert tune.Tuner.can_restore(str(tmp_path / "quad")) and not tune.Tuner.can_restore(str(tmp_path))


def timed(config):
    start = time.time()
    for i in range(3):
        time.sleep(0.05)
        tune.report({"i": i, "start": start, "now": time.time()})


def _intervals(grid):
    return sorted((r.metrics_dataframe["start"].iloc[0], r.metrics_dataframe["now"].iloc[-1]) for r in grid)


def test_max_concurrent_trials_one_never_runs_two_at_once(ray_session, tmp_path):
    grid = tune.Tuner(timed, param_space={"k": tune.grid_search(list(range(5)))},
                      tune_config=tune.TuneConfig(max_concurrent_trials=1),
                      run_config=tune.RunConfig(storage_path=str(tmp_path / "one"), verbose=0)).fit()
    spans = _intervals(grid)
    assert len(spans) == 5
    assert all(end <= nxt_start for (_, end), (nxt_start, _) in zip(spans, spans[1:]))
    # the control: without the limit, the same trials overlap on 4 CPUs
    free = _intervals(tune.Tuner(timed, param_space={"k": tune.grid_search(list(range(5)))},
                                 run_config=tune.RunConfig(storage_path=str(tmp_path / "free"), verbose=0)).fit())
    assert any(end > nxt_start for (_, end), (nxt_start, _) in zip(free, free[1:]))


def fails_or_runs(config):
    for i in range(400):
        if config["fail"] and i == 10:
            raise RuntimeError("deliberate failure")
        time.sleep(0.02)
        tune.report({"i": i})


def test_fail_fast_ends_the_run_after_the_first_error(ray_session, tmp_path):
    start = time.monotonic()
    grid = tune.Tuner(fails_or_runs, param_space={"fail": tune.grid_search([False, True, False])},
                      run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0,
                                                failure_config=tune.FailureConfig(fail_fast=True))).fit()
    assert time.monotonic() - start < 8.0 * 0.02 * 400 / 2  # far from the 8 s the others would run
    assert grid.num_errors == 1
    others = [r for r in grid if r.error is None]
    assert len(others) == 2 and all(r.metrics.get("i", -1) < 399 for r in others)
    for r in others:
        events = [json.loads(line) for line in open(os.path.join(r.path, "events.jsonl"))]
        assert events[-1]["how"] == "experiment" and events[-1]["reason"] == "fail_fast"


def test_fail_fast_raise_raises_the_trials_error(ray_session, tmp_path):
    tuner = tune.Tuner(fails_or_runs, param_space={"fail": tune.grid_search([True, False])},
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0,
                                                 failure_config=tune.FailureConfig(fail_fast="raise")))
    with pytest.raises(TrialError, match="deliberate failure"):
        tuner.fit()


def slow(config):
    for i in range(1000):
        tune.report({"i": i})
        time.sleep(0.05)


def test_time_budget_ends_a_run_of_many_trials_within_the_budget(ray_session, tmp_path):
    budget = 4.0
    start = time.monotonic()
    grid = tune.Tuner(slow, param_space={"k": tune.grid_search(list(range(20)))},
                      tune_config=tune.TuneConfig(time_budget_s=budget),
                      run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    elapsed = time.monotonic() - start
    assert budget <= elapsed < budget + 4.0  # start-up and stopping the running trials
    assert len(grid) == 20 and grid.num_errors == 0
    ran = [r for r in grid if r.metrics]
    assert ran and all(r.metrics["i"] < 999 for r in ran)


def flat_or_rising(config):
    for i in range(40):
        tune.report({"score": 1.0 if config["flat"] else float(i)})


def test_a_plateau_stopper_ends_flat_trials_early(ray_session, tmp_path):
    grid = tune.Tuner(flat_or_rising, param_space={"flat": tune.grid_search([True, False, True])},
                      run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0, stop=TrialPlateauStopper(
                          "score", std=0.001, num_results=4, grace_period=4))).fit()
    for r in grid:
        assert r.metrics[R.TRAINING_ITERATION] == (4 if r.config["flat"] else 40)


def test_stop_all_of_an_experiment_stopper_ends_every_trial(ray_session, tmp_path):
    stopper = ExperimentPlateauStopper("score", std=0.001, top=2, mode="max", patience=0)
    grid = tune.Tuner(flat_or_rising, param_space={"flat": True},
                      tune_config=tune.TuneConfig(num_samples=6, max_concurrent_trials=2),
                      run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0, stop=stopper)).fit()
    assert len(grid) == 6
    never = [r for r in grid if not r.metrics]
    assert never, "the experiment ended before every trial ran"
    reasons = {json.loads(open(os.path.join(r.path, "events.jsonl")).readlines()[-1])["reason"]
               for r in grid if r.path and os.path.exists(os.path.join(r.path, "events.jsonl"))
               and r.metrics.get(R.TRAINING_ITERATION, 0) >= 40}
    assert reasons <= {"stopper"}


def test_maximum_iteration_stopper_and_name_creators(ray_session, tmp_path):
    grid = tune.Tuner(flat_or_rising, param_space={"flat": tune.grid_search([True, False])},
                      tune_config=tune.TuneConfig(trial_name_creator=lambda t: f"trial-{t.config['flat']}",
                                                  trial_dirname_creator=lambda t: f"dir_{t.trial_id}_é"),
                      run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0,
                                                stop=MaximumIterationStopper(5))).fit()
    assert sorted(r.metrics[R.TRAINING_ITERATION] for r in grid) == [5, 5]
    assert all(os.path.basename(r.path).startswith("dir_") and r.path.endswith("_é") for r in grid)
    state = json.load(open(os.path.join(grid.experiment_path, R.EXPERIMENT_STATE_FILE)))
    assert sorted(t["name"] for t in state["trials"]) == ["trial-False", "trial-True"]


def errs_once(config):
    marker = config["marker"]
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.load(open(os.path.join(d, "state.json")))["i"] + 1
    for i in range(start, 4):
        if i == 2 and not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("first run fails at 2")
        d = os.path.join(os.path.dirname(marker), f"ck_{os.getpid()}_{i}")
        os.makedirs(d)
        json.dump({"i": i}, open(os.path.join(d, "state.json"), "w"))
        tune.report({"i": i, "start": start}, checkpoint=tune.Checkpoint.from_directory(d))


@pytest.mark.parametrize("option", ["resume_errored", "restart_errored", "keep"])
def test_restore_reruns_errored_trials_as_asked(ray_session, tmp_path, option):
    marker = str(tmp_path / "marker")
    tune.Tuner(errs_once, param_space={"marker": marker},
               run_config=tune.RunConfig(name="e", storage_path=str(tmp_path / "runs"), verbose=0)).fit()
    path = str(tmp_path / "runs" / "e")
    kwargs = {option: True} if option != "keep" else {}
    grid = tune.Tuner.restore(path, errs_once, **kwargs).fit()
    (result,) = list(grid)
    folders = [f for f in os.listdir(path) if os.path.isdir(os.path.join(path, f))]
    assert len(folders) == 1  # the trial's own folder, reused
    if option == "keep":
        assert result.error is not None
        return
    assert result.error is None and result.metrics["i"] == 3
    assert result.metrics["start"] == (2 if option == "resume_errored" else 0)
    rows = result.metrics_dataframe
    assert list(rows["i"]) == [0, 1, 2, 3]  # no iteration twice


def test_bad_configs_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(TuneError, match="max_concurrent_trials"):
        tune.TuneConfig(max_concurrent_trials=-2)
    with pytest.raises(TuneError, match="time_budget_s"):
        tune.TuneConfig(time_budget_s=0)
    with pytest.raises(TuneError, match="fail_fast"):
        tune.FailureConfig(fail_fast="yes")
    with pytest.raises(TuneError, match="mode must be"):
        tune.TuneConfig(mode="best")
    with pytest.raises(TuneError, match="num_samples"):
        tune.TuneConfig(num_samples=0)
    with pytest.raises(TuneError, match="param_space must be a dict"):
        tune.Tuner(quadratic, param_space=[1, 2])
    with pytest.raises(TuneError, match="no tuner.pkl"):
        tune.Tuner.restore(str(tmp_path), quadratic)
    with pytest.raises(TuneError, match="cannot both"):
        tune.Tuner.restore(str(tmp_path), quadratic, resume_errored=True, restart_errored=True)
    with pytest.raises(TuneError, match="stop"):
        tune.Tuner(quadratic, run_config=tune.RunConfig(stop=42))
