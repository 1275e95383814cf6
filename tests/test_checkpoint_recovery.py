"""Checkpoints, pause/resume and recovery from failures."""

from __future__ import annotations

import json
import os
import signal

import pytest
from trainables import Counter

import tunecore as tune
from tunecore import Experiment, run_experiments
from tunecore.errors import TrialsDidNotComplete
from tunecore.schedulers import FIFOScheduler
from tunecore.trainable import Trainable
from tunecore.trial import TrialStatus


def rows(trial):
    with open(os.path.join(trial.logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


def test_checkpoint_freq_and_at_end_write_checkpoints(ray_session, results_dir):
    [trial] = run_experiments(Experiment("ck", Counter, stop={"training_iteration": 5}, checkpoint_freq=2,
                                         checkpoint_at_end=True, local_dir=results_dir), verbose=False)
    ckpts = sorted(d for d in os.listdir(trial.logdir) if d.startswith("checkpoint_"))
    assert ckpts == ["checkpoint_000002", "checkpoint_000004", "checkpoint_000005"]
    assert trial.checkpoint.value.endswith("checkpoint_000005")
    assert json.load(open(os.path.join(trial.logdir, "checkpoint_000004", "state.json"))) == {"step": 4}


def test_restore_key_starts_from_checkpoint_and_counters_continue(ray_session, results_dir):
    [first] = run_experiments(Experiment("r1", Counter, stop={"training_iteration": 3}, checkpoint_at_end=True,
                                         local_dir=results_dir), verbose=False)
    [second] = run_experiments(Experiment("r2", Counter, stop={"training_iteration": 5},
                                          restore=first.checkpoint.value, local_dir=results_dir), verbose=False)
    r = rows(second)
    assert [x["training_iteration"] for x in r] == [4, 5]
    assert [x["step"] for x in r] == [4, 5]
    assert r[0]["timesteps_total"] == 40
    assert r[0]["experiment_id"] == rows(first)[0]["experiment_id"]


@pytest.mark.parametrize("max_failures, expect_status, expect_failures", [(0, "ERROR", 1), (1, "TERMINATED", 1)])
def test_failure_recovery_from_checkpoint(ray_session, results_dir, tmp_path, max_failures, expect_status,
                                          expect_failures):
    marker = str(tmp_path / f"failed-{max_failures}")
    trials = run_experiments(Experiment("fail", Counter, stop={"training_iteration": 4}, checkpoint_freq=1,
                                        max_failures=max_failures, local_dir=results_dir,
                                        config={"fail_at": 3, "fail_marker": marker}),
                             verbose=False, raise_on_failed_trial=False)
    [trial] = trials
    assert trial.status.value == expect_status and trial.num_failures == expect_failures
    if expect_status == "TERMINATED":
        r = rows(trial)
        # state intact: the step counter continued from checkpoint 2, not from zero
        assert [x["step"] for x in r] == [1, 2, 3, 4]
        assert "planned failure at step 3" in open(os.path.join(trial.logdir, "error.txt")).read()


def test_persistent_error_exhausts_max_failures(ray_session, results_dir):
    [trial] = run_experiments(Experiment("persist", Counter, stop={"training_iteration": 5}, checkpoint_freq=1,
                                         max_failures=2, local_dir=results_dir, config={"persistent_error_at": 2}),
                              verbose=False, raise_on_failed_trial=False)
    assert trial.status == TrialStatus.ERROR and trial.num_failures == 3
    assert open(os.path.join(trial.logdir, "error.txt")).read().count("=== failure") == 3


def test_without_checkpoint_a_failing_trial_is_retried_from_scratch_until_max_failures(ray_session, results_dir):
    with pytest.raises(TrialsDidNotComplete) as info:
        run_experiments(Experiment("nock", Counter, stop={"training_iteration": 5}, max_failures=3,
                                   local_dir=results_dir, config={"persistent_error_at": 2}), verbose=False)
    [trial] = info.value.trials
    assert trial.num_failures == 4  # the first run and three retries, each from scratch


class KillOnce(Counter):
    """SIGKILLs its own worker process at step 3 the first time (a crashed worker)."""

    def _train(self):
        result = super()._train()
        marker = self.config["marker"]
        if self.step == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return result


def test_sigkilled_worker_restarts_on_new_actor_from_checkpoint(ray_session, results_dir, tmp_path):
    [trial] = run_experiments(Experiment("killed", KillOnce, stop={"training_iteration": 5}, checkpoint_freq=1,
                                         max_failures=1, local_dir=results_dir,
                                         config={"marker": str(tmp_path / "killed")}), verbose=False)
    r = rows(trial)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    assert [x["step"] for x in r] == [1, 2, 3, 4, 5]
    assert [x["training_iteration"] for x in r] == [1, 2, 3, 4, 5]
    assert len({x["pid"] for x in r}) == 2  # a new worker process after the kill


class Pausing(FIFOScheduler):
    """Pauses every trial once at iteration 2 (a stand-in for HyperBand's pauses)."""

    requires_checkpointing = True

    def __init__(self):
        self.paused = set()

    def on_trial_result(self, runner, trial, result):
        if result["training_iteration"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return self.PAUSE
        return self.CONTINUE


def test_pause_and_resume_keep_state(ray_session, results_dir):
    import tunecore.schedulers  # noqa: F401

    scheduler = Pausing()
    trials = run_experiments({"pause": {"run": Counter, "stop": {"training_iteration": 4},
                                        "config": {"scale": tune.grid_search([1, 2])}, "local_dir": results_dir}},
                             scheduler=scheduler, verbose=False)
    for trial in trials:
        assert trial.status == TrialStatus.TERMINATED
        assert [x["step"] for x in rows(trial)] == [1, 2, 3, 4]
    assert len(scheduler.paused) == 2


def test_scheduler_needing_checkpoints_refuses_a_class_that_cannot_checkpoint(ray_session, results_dir):
    class NoSave(tune.Trainable):
        def step(self):
            return {"x": 1}

    with pytest.raises(tune.TuneError, match="pauses and resumes trials through checkpoints"):
        run_experiments({"nockpt": {"run": NoSave, "local_dir": results_dir}}, scheduler=Pausing(), verbose=False)
    assert not os.path.exists(os.path.join(results_dir, "nockpt"))


def test_a_paused_function_trainable_resumes_from_scratch_when_it_reported_no_checkpoint(ray_session, results_dir):
    def f(config, reporter):
        for i in range(1, 5):
            reporter(step=i)

    scheduler = Pausing()
    [trial] = run_experiments({"fn_scratch": {"run": f, "local_dir": results_dir}}, scheduler=scheduler, verbose=False)
    assert trial.status == TrialStatus.TERMINATED and len(scheduler.paused) == 1
    assert [x["step"] for x in rows(trial)] == [1, 2, 3, 4]  # the paused run's rows were dropped


def test_save_to_object_roundtrip_standalone(tmp_path):
    t = Counter(config={"scale": 1}, logdir=str(tmp_path / "a"))
    for _ in range(3):
        t.train()
    blob = t.save_to_object()
    u = Counter(config={"scale": 1}, logdir=str(tmp_path / "b"))
    u.restore_from_object(blob)
    result = u.train()
    assert result["step"] == 4 and result["training_iteration"] == 4 and result["timesteps_total"] == 40
    assert not [d for d in os.listdir(tmp_path / "b") if "object" in d]  # temp dirs cleaned


def test_dict_checkpoints(tmp_path):
    class DictState(Trainable):
        def _setup(self, config):
            self.w = 0

        def _train(self):
            self.w += 2
            return {"w": self.w}

        def _save(self, d):
            return {"w": self.w}

        def _restore(self, state):
            self.w = state["w"]

    a = DictState(logdir=str(tmp_path / "a"))
    a.train()
    path = a.save()
    b = DictState(logdir=str(tmp_path / "b"))
    b.restore(path)
    assert b.train()["w"] == 4


def test_zero_mean_loss_fills_neg_mean_loss(tmp_path):
    class Loss(Trainable):
        def _train(self):
            return {"mean_loss": 0.0}

    assert Loss(logdir=str(tmp_path)).train()["neg_mean_loss"] == 0.0
