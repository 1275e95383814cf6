"""Trials hold their resources as Ray actors: GPUs, extras, never more than fits."""

from __future__ import annotations

import os
import time

import pytest

import tunecore as tune
from tunecore import run_experiments
from tunecore.executor import RayTrialExecutor
from tunecore.trial import Resources


def report_gpus(config, reporter):
    import ray

    start = time.time()
    time.sleep(config.get("hold", 0.5))
    reporter(gpu_ids=[str(g) for g in ray.get_gpu_ids()], cuda=os.environ.get("CUDA_VISIBLE_DEVICES"),
             start=start, end=time.time())


def _overlaps(trials):
    spans = sorted((t.last_result["start"], t.last_result["end"]) for t in trials)
    return any(b_start < a_end for (a_start, a_end), (b_start, b_end) in zip(spans, spans[1:]))


def test_one_gpu_trials_see_distinct_devices(ray_session, results_dir):
    trials = run_experiments({"gpu1": {"run": report_gpus, "trial_resources": {"cpu": 1, "gpu": 1},
                                       "config": {"i": tune.grid_search([0, 1])}, "local_dir": results_dir}},
                             verbose=False)
    ids = [t.last_result["gpu_ids"] for t in trials]
    assert all(len(i) == 1 for i in ids)
    assert ids[0] != ids[1]  # the 2 GPUs of the session's Ray, one each, concurrently
    assert [t.last_result["cuda"] for t in trials] == [i[0] for i in ids]


def meet_then_report(config, reporter):
    """Wait until every trial of the experiment holds its GPU share, then report it."""
    import ray

    barrier = config["barrier"]
    open(os.path.join(barrier, str(config["i"])), "w").close()
    deadline = time.time() + 120
    while len(os.listdir(barrier)) < config["n"] and time.time() < deadline:
        time.sleep(0.05)
    reporter(gpu_ids=[str(g) for g in ray.get_gpu_ids()], met=len(os.listdir(barrier)))


def test_half_gpu_trials_share_one_device(ray_session, results_dir, tmp_path):
    # 4 trials x 0.5 GPU on 2 GPUs, all holding their share at once: each GPU has exactly two
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    trials = run_experiments({"gpuhalf": {"run": meet_then_report, "trial_resources": {"cpu": 1, "gpu": 0.5},
                                          "config": {"i": tune.grid_search([0, 1, 2, 3]), "n": 4,
                                                     "barrier": str(barrier)},
                                          "local_dir": results_dir}}, verbose=False)
    assert all(t.last_result["met"] == 4 for t in trials)  # all four ran at the same time
    ids = [tuple(t.last_result["gpu_ids"]) for t in trials]
    assert all(len(i) == 1 for i in ids)
    assert sorted(ids.count(i) for i in set(ids)) == [2, 2]


def test_no_gpu_means_empty_cuda_visible_devices(ray_session, results_dir):
    [trial] = run_experiments({"nogpu": {"run": report_gpus, "local_dir": results_dir}}, verbose=False)
    assert trial.last_result["cuda"] == "" and trial.last_result["gpu_ids"] == []


def test_extra_resources_are_reserved(ray_session, results_dir):
    # 4 CPUs / 2 GPUs: 1 CPU + 3 extra CPUs + 1 extra GPU each -> one at a time
    trials = run_experiments({"extra": {"run": report_gpus,
                                        "trial_resources": {"cpu": 1, "extra_cpu": 3, "extra_gpu": 1},
                                        "config": {"i": tune.grid_search([0, 1, 2])}, "local_dir": results_dir}},
                             verbose=False)
    assert not _overlaps(trials)


def test_gpu_limited_trials_run_one_after_another(ray_session, results_dir):
    trials = run_experiments({"gpulimit": {"run": report_gpus, "trial_resources": {"cpu": 1, "gpu": 2},
                                           "config": {"i": tune.grid_search([0, 1])}, "local_dir": results_dir}},
                             verbose=False)
    assert not _overlaps(trials)


def test_has_resources_and_queue_trials(ray_session):
    ex = RayTrialExecutor()
    ex.refresh_cluster(force=True)
    assert ex.has_resources(Resources(cpu=0, gpu=0))
    assert ex.has_resources(Resources(cpu=4, gpu=2))
    assert not ex.has_resources(Resources(cpu=100, gpu=100))
    assert not ex.has_resources(Resources(cpu=0, gpu=100))
    assert not ex.has_resources(Resources(cpu=100, gpu=0))
    queued = RayTrialExecutor(queue_trials=True)
    queued.refresh_cluster(force=True)
    assert queued.has_resources(Resources(cpu=100, gpu=0))  # CPUs free now: may queue
    queued._committed.gpu = 2
    assert not queued.has_resources(Resources(cpu=1, gpu=1))  # GPU kind saturated


def test_impossible_fraction_is_refused():
    with pytest.raises(tune.TuneError, match="gpu above 1 must be a whole number"):
        Resources(gpu=1.5)
    with pytest.raises(tune.TuneError, match="must be a number >= 0"):
        Resources(cpu=-1)
