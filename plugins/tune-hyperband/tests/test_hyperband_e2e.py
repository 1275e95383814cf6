"""Both schedulers end to end through ``tunecore.run_experiments`` on the session's Ray."""

from __future__ import annotations

import json
import os

import tunecore as tune
from tune_hyperband import HyperBandScheduler
from tunecore import run_experiments
from tunecore.testing import StepTrainable
from tunecore.trial import TrialStatus


class StepCounter(StepTrainable):
    """reward = quality * step; the step counter lives in the checkpoint."""

    def _train(self):
        self.step += 1
        return {"episode_reward_mean": self.config["quality"] * self.step, "step": self.step}


def rows(trial):
    with open(os.path.join(trial.logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


def test_hyperband_pauses_and_resumes_class_trainables(ray_session, results_dir):
    # max_t=4, eta=2, three brackets: bracket 0 runs qualities 1-3 to 4; bracket 1 runs 4-6
    # to 2 and keeps floor(3/2) = 1; bracket 2 runs 7-10 to 1, keeps 2, then at 3 keeps 1.
    sched = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=4, reduction_factor=2)
    trials = run_experiments({
        "hb": {
            "run": StepCounter,
            "config": {"quality": tune.grid_search([float(q) for q in range(1, 11)])},
            "stop": {"training_iteration": 4},
            "local_dir": results_dir,
        }
    }, scheduler=sched, verbose=False)
    assert all(t.status == TrialStatus.TERMINATED for t in trials)
    by_quality = {t.config["quality"]: t for t in trials}
    expected = {1: 4, 2: 4, 3: 4, 4: 2, 5: 2, 6: 4, 7: 1, 8: 1, 9: 3, 10: 4}
    for q, last in expected.items():
        history = rows(by_quality[float(q)])
        # counters continue across a pause: the trainable's own step equals the iteration
        assert [r["training_iteration"] for r in history] == list(range(1, last + 1)), q
        assert [r["step"] for r in history] == list(range(1, last + 1)), q
    assert sched._num_stopped == 5
    # Of bracket 2's four, every one but the last to reach milestone 1 was paused there, so
    # at least one of its two keepers holds an in-memory checkpoint at iteration 1 (the only
    # checkpoint this experiment takes) and was resumed from it.
    paused = [q for q in (9.0, 10.0) if by_quality[q].checkpoint is not None
              and by_quality[q].checkpoint.storage == "memory" and by_quality[q].checkpoint.iteration == 1]
    assert paused
    assert "Bracket(Max Size (n)=1, Milestone (r)=4, completed=100.0%)" in sched.debug_string()


def test_asha_stops_bad_function_trainables_early(ray_session, results_dir):
    def curve(config, reporter):
        for i in range(1, 11):
            reporter(mean_accuracy=config["quality"] * i / 10)

    trials = run_experiments({
        "asha": {
            "run": curve,
            "config": {"quality": tune.grid_search([0.9, 0.5, 0.2, 0.1])},
            # one trial at a time, so rung cut-offs are deterministic
            "trial_resources": {"cpu": 4},
            "local_dir": results_dir,
        }
    }, scheduler={"name": "asha", "metric": "mean_accuracy", "mode": "max", "max_t": 10,
                  "grace_period": 1, "reduction_factor": 2}, verbose=False)
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 4
    iterations = [t.last_result["training_iteration"] for t in trials]
    assert iterations == [10, 1, 1, 1]  # each worse trial is cut at the first rung


def test_spec_name_async_hyperband_resolves(ray_session, results_dir, capsys):
    def quick(config, reporter):
        for i in range(3):
            reporter(episode_reward_mean=i)

    trials = run_experiments({"named": {"run": quick, "local_dir": results_dir}},
                             scheduler={"name": "async_hyperband", "max_t": 100}, verbose=1)
    assert trials[0].status == TrialStatus.TERMINATED
    out = capsys.readouterr().out
    assert "Using AsyncHyperBand: num_stopped=0" in out
    assert "Bracket: Iter 10.000: None | Iter 40.000: None" in out


def step_counter_function(config):
    """StepCounter as a Ray Tune 2.x function: the step counter lives in its reported checkpoints."""
    import tempfile

    start = tune.get_checkpoint()
    step = 0
    if start is not None:
        with start.as_directory() as folder, open(os.path.join(folder, "step.json")) as f:
            step = json.load(f)
    while True:
        step += 1
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "step.json"), "w") as f:
                json.dump(step, f)
            tune.report({"episode_reward_mean": config["quality"] * step, "step": step},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def test_hyperband_pauses_and_resumes_function_trainables(ray_session, results_dir):
    # the same brackets as the class test above, with a function trainable
    sched = HyperBandScheduler(metric="episode_reward_mean", mode="max", max_t=4, reduction_factor=2)
    trials = run_experiments({
        "hb_fn": {
            "run": step_counter_function,
            "config": {"quality": tune.grid_search([float(q) for q in range(1, 11)])},
            "stop": {"training_iteration": 4},
            "local_dir": results_dir,
        }
    }, scheduler=sched, verbose=False)
    assert all(t.status == TrialStatus.TERMINATED for t in trials)
    by_quality = {t.config["quality"]: t for t in trials}
    expected = {1: 4, 2: 4, 3: 4, 4: 2, 5: 2, 6: 4, 7: 1, 8: 1, 9: 3, 10: 4}
    for q, last in expected.items():
        history = rows(by_quality[float(q)])
        # resumed from its own checkpoint: no iteration repeats, the state equals the iteration
        assert [r["training_iteration"] for r in history] == list(range(1, last + 1)), q
        assert [r["step"] for r in history] == list(range(1, last + 1)), q
    assert sched._num_stopped == 5
    resumed = [t for t in trials if any(e.get("event") == "paused" for e in t.events)
               and t.last_result["training_iteration"] > 1]
    assert resumed  # some trials were paused and went on from their checkpoint


