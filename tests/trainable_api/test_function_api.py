"""The Ray Tune 2.x trainable API on real Ray: function trainables with ``tune.report``,
checkpoints reported from functions, 2.x class names, retries, retention and the wrappers."""

from __future__ import annotations

import json
import os
import signal
import tempfile

import numpy as np
import pytest

import tunecore as tune
from tunecore import Experiment, run_experiments
from tunecore.errors import TrialsDidNotComplete
from tunecore.execution.trial import TrialStatus
from tunecore.testing import FailsOnce


def rows(trial):
    with open(os.path.join(trial.logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


def checkpoint_dirs(trial):
    return sorted(d for d in os.listdir(trial.logdir) if d.startswith("checkpoint_"))


def load_step(checkpoint):
    with checkpoint.as_directory() as folder, open(os.path.join(folder, "state.json")) as f:
        return json.load(f)["step"]


def save_step(step, **metrics):
    """Report ``metrics`` with a checkpoint of ``step`` written in a temp folder deleted after."""
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "state.json"), "w") as f:
            json.dump({"step": step}, f)
        tune.report({"step": step, **metrics}, checkpoint=tune.Checkpoint.from_directory(folder))


# -- function trainables ------------------------------------------------------------------
def reports_with_context(config):
    ctx = tune.get_context()
    for i in range(config["n"]):
        if i % 2:
            tune.report(score=i * config["x"])  # the 1.x keyword form
        else:
            tune.report({"score": i * config["x"], "trial_id_seen": ctx.get_trial_id(),
                         "dir_seen": ctx.get_trial_dir(), "name_seen": ctx.get_trial_name(),
                         "experiment_seen": ctx.get_experiment_name(),
                         "cpu_seen": ctx.get_trial_resources().cpu, "np": np.float32(0.5)})


def test_a_function_of_the_config_reports_every_result_in_order(ray_session, results_dir):
    analysis = tune.run(reports_with_context, name="fn", config={"x": tune.grid_search([1, 2]), "n": 5},
                        local_dir=results_dir, verbose=0)
    assert len(analysis.trials_run) == 2
    for trial in analysis.trials_run:
        assert trial.status == TrialStatus.TERMINATED
        r = rows(trial)
        assert [x["training_iteration"] for x in r] == [1, 2, 3, 4, 5]
        assert [x["score"] for x in r] == [i * trial.config["x"] for i in range(5)]
        assert r[0]["trial_id_seen"] == trial.trial_id
        assert r[0]["dir_seen"] == trial.logdir
        assert r[0]["name_seen"] == str(trial)
        assert r[0]["experiment_seen"] == "fn"
        assert r[0]["cpu_seen"] == 1 and r[0]["np"] == 0.5


def test_report_outside_a_trial_says_where_to_call_it():
    with pytest.raises(tune.TuneError, match="outside a trial"):
        tune.report({"x": 1})
    with pytest.raises(tune.TuneError, match="outside a trial"):
        tune.get_context()
    assert tune.get_checkpoint() is None


def reports_a_list(config):
    tune.report([1, 2])


def test_report_of_something_else_than_a_dict_fails_the_trial_clearly(ray_session, results_dir):
    [trial] = run_experiments(Experiment("bad", reports_a_list, local_dir=results_dir, max_failures=0),
                              verbose=0, raise_on_failed_trial=False)
    assert trial.status == TrialStatus.ERROR
    assert "tunecore.report takes a dict of metrics" in open(trial.error_file).read()


def checkpoints_each_step(config):
    start = tune.get_checkpoint()
    step = load_step(start) if start else 0
    while step < config["steps"]:
        step += 1
        save_step(step, score=config["scores"][step - 1] if "scores" in config else step)


def test_a_reported_checkpoint_is_copied_into_the_trial_folder(ray_session, results_dir):
    [trial] = run_experiments(Experiment("ck", checkpoints_each_step, local_dir=results_dir,
                                         config={"steps": 3}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED
    assert checkpoint_dirs(trial) == ["checkpoint_000001", "checkpoint_000002", "checkpoint_000003"]
    assert trial.checkpoint.value == os.path.join(trial.logdir, "checkpoint_000003")
    assert load_step(tune.Checkpoint(trial.checkpoint.value)) == 3  # its source folder is long gone
    assert [x["checkpoint_dir_name"] for x in rows(trial)] == checkpoint_dirs(trial)


def killed_once(config):
    start = tune.get_checkpoint()
    step = load_step(start) if start else 0
    gen = 2 if os.path.exists(config["marker"]) else 1
    while step < 6:
        if step == 3 and gen == 1:
            open(config["marker"], "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies, mid-run
        step += 1
        save_step(step, gen=gen, resumed_at=0 if start is None else load_step(start))


def test_a_sigkilled_function_trial_resumes_from_its_own_checkpoint(ray_session, results_dir, tmp_path):
    [trial] = run_experiments(Experiment("killed", killed_once, local_dir=results_dir, max_failures=1,
                                         config={"marker": str(tmp_path / "killed")}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    r = rows(trial)
    assert [x["training_iteration"] for x in r] == [1, 2, 3, 4, 5, 6]
    assert all(x["step"] == x["training_iteration"] for x in r)  # its state equals its iteration
    resumed = [x for x in r if x["gen"] == 2]
    assert resumed and resumed[0]["resumed_at"] >= 1  # from a checkpoint, not from scratch
    assert resumed[0]["training_iteration"] == resumed[0]["resumed_at"] + 1
    assert len({x["pid"] for x in r}) == 2


def fails_once_without_checkpoint(config):
    gen = 2 if os.path.exists(config["marker"]) else 1
    for i in range(1, 5):
        if i == 3 and gen == 1:
            open(config["marker"], "w").close()
            raise RuntimeError("planned failure")
        tune.report({"i": i, "gen": gen})


def test_a_function_failing_once_without_a_checkpoint_restarts_from_scratch(ray_session, results_dir, tmp_path):
    [trial] = run_experiments(Experiment("scratch", fails_once_without_checkpoint, local_dir=results_dir,
                                         max_failures=1, config={"marker": str(tmp_path / "m")}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    r = rows(trial)
    assert [x["training_iteration"] for x in r] == [1, 2, 3, 4]
    assert [x["gen"] for x in r] == [2, 2, 2, 2]  # the first run's rows were dropped on the restart


def test_a_class_failing_once_without_a_checkpoint_restarts_from_scratch(ray_session, results_dir, tmp_path):
    [trial] = run_experiments(Experiment("scratch_cls", FailsOnce, stop={"training_iteration": 4}, max_failures=1,
                                         local_dir=results_dir,
                                         config={"fail_at": 2, "marker": str(tmp_path / "m")}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    assert [x["step"] for x in rows(trial)] == [1, 2, 3, 4]
    assert [x["gen"] for x in rows(trial)] == [2, 2, 2, 2]


def fails_three_times(config):
    count_file = config["count"]
    runs = int(open(count_file).read()) if os.path.exists(count_file) else 0
    with open(count_file, "w") as f:
        f.write(str(runs + 1))
    if runs < 3:
        raise RuntimeError(f"failure {runs + 1}")
    tune.report({"runs": runs + 1})


def test_max_failures_minus_one_retries_until_the_trial_succeeds(ray_session, results_dir, tmp_path):
    [trial] = run_experiments(Experiment("forever", fails_three_times, local_dir=results_dir, max_failures=-1,
                                         config={"count": str(tmp_path / "count")}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 3
    assert rows(trial)[-1]["runs"] == 4


def test_with_no_retries_left_a_failing_trial_ends_in_error(ray_session, results_dir, tmp_path):
    with pytest.raises(TrialsDidNotComplete):
        run_experiments(Experiment("limited", fails_three_times, local_dir=results_dir, max_failures=2,
                                   config={"count": str(tmp_path / "count")}), verbose=0)


# -- retention ----------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [
    {"checkpoint_config": tune.CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="score")},
    {"checkpoint_config": {"num_to_keep": 2, "checkpoint_score_attribute": "loss", "checkpoint_score_order": "min"}},
    {"keep_checkpoints_num": 2, "checkpoint_score_attr": "min-loss"},
], ids=["CheckpointConfig", "dict", "1.x-keys"])
def test_num_to_keep_two_leaves_exactly_the_two_best_checkpoints(ray_session, results_dir, keep):
    scores = [1.0, 5.0, 2.0, float("nan"), 3.0, 4.0]  # the best two: iterations 2 and 6 (the latest)
    [trial] = run_experiments(Experiment("keep", tune.with_parameters(checkpoints_loss, scores=scores),
                                         local_dir=results_dir, config={"steps": 6}, **keep), verbose=0)
    assert trial.status == TrialStatus.TERMINATED
    assert checkpoint_dirs(trial) == ["checkpoint_000002", "checkpoint_000006"]
    assert trial.checkpoint.value.endswith("checkpoint_000006")


def checkpoints_loss(config, scores=None):
    for step in range(1, config["steps"] + 1):
        save_step(step, score=scores[step - 1], loss=-scores[step - 1])


def test_retention_of_class_checkpoints_keeps_the_most_recent(ray_session, results_dir):
    [trial] = run_experiments(Experiment("keep_cls", FailsOnce, stop={"training_iteration": 5}, checkpoint_freq=1,
                                         keep_checkpoints_num=2, local_dir=results_dir,
                                         config={"fail_at": 0, "marker": "/nonexistent"}), verbose=0)
    assert checkpoint_dirs(trial) == ["checkpoint_000004", "checkpoint_000005"]


def test_bad_checkpoint_configs_fail_before_any_trial_starts(ray_session, results_dir):
    with pytest.raises(tune.TuneError, match="num_to_keep must be"):
        tune.CheckpointConfig(num_to_keep=0)
    with pytest.raises(tune.TuneError, match="disagree"):
        run_experiments(Experiment("clash", checkpoints_each_step, local_dir=results_dir,
                                   checkpoint_config={"num_to_keep": 3}, keep_checkpoints_num=2), verbose=0)
    with pytest.raises(tune.TuneError, match="checkpoint_freq is set but"):
        run_experiments(Experiment("freq", checkpoints_each_step, local_dir=results_dir, checkpoint_freq=2),
                        verbose=0)
    assert not os.path.exists(os.path.join(results_dir, "freq")) or not any(
        e.is_dir() for e in os.scandir(os.path.join(results_dir, "freq")))


def test_checkpoint_at_end_keeps_the_last_reported_checkpoint(ray_session, results_dir):
    [trial] = run_experiments(Experiment("end", checkpoints_each_step, local_dir=results_dir, checkpoint_at_end=True,
                                         checkpoint_config={"num_to_keep": 1}, config={"steps": 3}), verbose=0)
    assert checkpoint_dirs(trial) == ["checkpoint_000003"]
    assert load_step(tune.Checkpoint(trial.checkpoint.value)) == 3


# -- class trainables with the 2.x names ------------------------------------------------------
class StepsV2(tune.Trainable):
    def setup(self, config):
        self.count = 0
        self.marker = config["marker"]

    def step(self):
        self.count += 1
        if self.count == 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("planned failure")
        return {"count": self.count, "done": self.count >= 5}

    def save_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "count.json"), "w") as f:
            json.dump(self.count, f)  # returns None: load_checkpoint gets the folder

    def load_checkpoint(self, checkpoint):
        with open(os.path.join(checkpoint, "count.json")) as f:
            self.count = json.load(f)

    def cleanup(self):
        with open(self.marker + ".cleaned", "a") as f:
            f.write("x")


class DictV2(StepsV2):
    def save_checkpoint(self, checkpoint_dir):
        return {"count": self.count}

    def load_checkpoint(self, checkpoint):
        self.count = checkpoint["count"]


@pytest.mark.parametrize("cls", [StepsV2, DictV2])
def test_a_class_with_the_2x_names_recovers_from_its_checkpoint(ray_session, results_dir, tmp_path, cls):
    marker = str(tmp_path / "m")
    [trial] = run_experiments(Experiment(cls.__name__, cls, checkpoint_freq=1, max_failures=1,
                                         local_dir=results_dir, config={"marker": marker}), verbose=0)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    assert [x["count"] for x in rows(trial)] == [1, 2, 3, 4, 5]
    assert os.path.exists(marker + ".cleaned")


class Mixed(tune.Trainable):
    def step(self):
        return {}

    def _train(self):
        return {}


def test_a_class_mixing_2018_and_2x_names_is_refused_before_any_trial_starts(results_dir):
    with pytest.raises(tune.TuneError, match=r"defines both step\(\) and _train\(\)"):
        Experiment("mixed", Mixed, local_dir=results_dir)


# -- wrappers -----------------------------------------------------------------------------
def uses_data(config, data=None):
    tune.report({"total": float(data.sum()), "size": int(data.size)})


class UsesData(tune.Trainable):
    def setup(self, config, data=None):
        self.data = data

    def step(self):
        return {"total": float(self.data.sum()), "done": True}


def test_with_parameters_hands_large_objects_through_the_object_store(ray_session, results_dir):
    import cloudpickle

    data = np.ones(1_000_000)  # 8 MB
    wrapped = tune.with_parameters(uses_data, data=data)
    assert len(cloudpickle.dumps(wrapped)) < 100_000  # the array is not pickled with the function
    for trainable in (wrapped, tune.with_parameters(UsesData, data=data)):
        trials = run_experiments(Experiment(f"params_{trainable.__name__}", trainable, local_dir=results_dir,
                                            num_samples=2), verbose=0)
        assert [rows(t)[-1]["total"] for t in trials] == [1e6, 1e6]
    with pytest.raises(tune.TuneError, match="takes no argument 'nope'"):
        tune.with_parameters(uses_data, nope=1)


def test_with_resources_sets_what_each_trial_reserves(ray_session, results_dir):
    fixed = tune.with_resources(reports_with_context, {"CPU": 2})
    by_config = tune.with_resources(reports_with_context, lambda config: {"cpu": config["x"]})
    [a] = run_experiments(Experiment("res_a", fixed, local_dir=results_dir, config={"x": 1, "n": 1}), verbose=0)
    [b] = run_experiments(Experiment("res_b", by_config, local_dir=results_dir, config={"x": 3, "n": 1}), verbose=0)
    assert a.resources.cpu == 2 and rows(a)[0]["cpu_seen"] == 2
    assert b.resources.cpu == 3 and rows(b)[0]["cpu_seen"] == 3
    with pytest.raises(tune.TuneError, match="Unknown resource type 'tpu'"):
        tune.with_resources(reports_with_context, {"tpu": 1})


def test_report_waits_for_the_runner_to_ask_for_the_next_result(tmp_path):
    """As in Ray Tune 2.x: the function never runs ahead of the results the runner has taken."""
    from tunecore.trainables.function import wrap_function

    done_after_report = []

    def train(config):
        for i in range(1, 6):
            tune.report({"i": i})
            done_after_report.append(i)

    trainable = wrap_function(train, "sync_train")(config={}, logdir=str(tmp_path))
    for k in range(1, 6):
        assert trainable.train()["i"] == k
        assert done_after_report == list(range(1, k))  # report k returns only at the next fetch
    results, finished = trainable.train_results()
    assert results == [] and finished and done_after_report == [1, 2, 3, 4, 5]
    assert trainable.stop()
