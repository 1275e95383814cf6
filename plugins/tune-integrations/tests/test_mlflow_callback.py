"""tune_integrations.mlflow on real Ray and a real MLflow store, everything read back with MlflowClient.

The store is a SQLite database (MLflow 3's default kind of store) shared by the tests of this file,
one MLflow experiment per test; the ``file:`` store is used where the test says so.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pickle
import runpy
import socket
import sys

import numpy as np
import pytest

import tunecore as tune
from tunecore import result as R
from tunecore.experiment import Experiment
from tunecore.util import read_json_lines

# MLflow is imported inside the tests, not here: the trials' workers import this module for its
# trainables, and only the ones calling setup_mlflow need MLflow there
pytestmark = [pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs tune-integrations[mlflow]"),
              # MLflow's SQL store on SQLAlchemy 2.1
              pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOKEN = "s3cr3t-token-never-logged"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite tracking store, its tables made once (MLflow's migrations take seconds)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """MLflow's settings from the environment out of the way; artifacts under tmp_path."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # a new experiment's default artifact folder is ./mlruns


def MlflowClient(tracking_uri: str):  # noqa: N802 - MLflow's name, imported when used
    import mlflow

    return mlflow.MlflowClient(tracking_uri=tracking_uri)


def MLflowLoggerCallback(*args, **kwargs):  # noqa: N802
    from tune_integrations.mlflow import MLflowLoggerCallback

    return MLflowLoggerCallback(*args, **kwargs)


def runs_of(uri: str, experiment: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no MLflow experiment {experiment!r}"
    return sorted(client.search_runs([exp.experiment_id]), key=lambda r: r.data.tags["trial_id"])


def history(uri: str, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in MlflowClient(tracking_uri=uri).get_metric_history(run_id, key))


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(s1 == s2 and (v1 == v2 or (math.isnan(v1) and math.isnan(v2)))
                                    for (s1, v1), (s2, v2) in zip(a, b))


# -- a small real model: least squares by gradient descent on seeded data ------------------------
def regression(config):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)
    w = np.zeros(3)
    for step in range(config["steps"]):
        w -= config["lr"] * 2 * X.T @ (X @ w - y) / len(y)
        loss = np.mean((X @ w - y) ** 2)  # a numpy float64
        if config.get("fail_lr") == config["lr"] and step == 2:
            raise RuntimeError("diverged on purpose")
        tune.report({"loss": loss, "w0": np.float32(w[0]), "improved": bool(loss < 1.0), "note": "text",
                     "nested": {"norm": float(np.linalg.norm(w)), "zero": 0}, "acc@1": np.int64(step),
                     "maybe": float("nan") if step == 1 else 1.5})


SPACE = {
    "lr": tune.grid_search([0.01, 0.05, 0.2]),
    "steps": 4,
    "model": {"depth": np.int64(2), "name": "réseau ü"},
    "sizes": [8, 16],
    "opt@1": "adam",
    "ratio": np.float64(0.25),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_run_per_trial_with_params_metrics_tags_and_status(ray_session, store, tmp_path, monkeypatch, capsys):
    """3 trials (one fails) logged by one callback, while two more callbacks have broken stores: a
    SQLite file under a plain file, and a tracking server that is down. Neither disturbs the run
    nor the working callback; each says so once, then counts."""
    from tune_integrations.mlflow import metrics_of, params_of

    space = dict(SPACE, fail_lr=0.2)
    callback = MLflowLoggerCallback(store, experiment_name="grid é", tags={"team": "ünïcode", "bad key!": 1},
                                    tracking_token=TOKEN)
    (tmp_path / "a_file").write_text("")
    not_a_folder = MLflowLoggerCallback(f"sqlite:///{tmp_path / 'a_file' / 'mlflow.db'}", experiment_name="never")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    server_down = MLflowLoggerCallback(f"http://user:pw@127.0.0.1:{_free_port()}", experiment_name="never")
    grid = tune.Tuner(regression, param_space=space,
                      run_config=tune.RunConfig(name="grid", storage_path=str(tmp_path), verbose=0,
                                                callbacks=[not_a_folder, callback, server_down])).fit()
    assert grid.num_errors == 1 and grid.num_terminated == 2
    assert os.environ["MLFLOW_TRACKING_TOKEN"] == TOKEN  # set for MLflow's client, as Ray does
    err = capsys.readouterr().err
    assert err.count("MLflowLoggerCallback could not start the MLflow run") == 2, err
    assert err.count("MLflow call(s) failed in this run") == 2
    assert "pw@" not in err  # credentials in a URI are not printed
    assert not_a_folder.failures == server_down.failures == 3  # one start per trial; nothing tried without a run
    assert callback.failures == 0

    runs = runs_of(store, "grid é")
    assert len(runs) == 3
    by_id = {r.metrics["trial_id"]: r for r in grid}
    assert sorted(by_id) == [run.data.tags["trial_id"] for run in runs]
    for run in runs:
        result = by_id[run.data.tags["trial_id"]]
        lr = result.config["lr"]
        assert run.info.run_name == run.data.tags["trial_name"] and run.info.run_name.startswith("regression_")
        assert run.data.tags["team"] == "ünïcode" and run.data.tags["bad key_"] == "1"
        assert run.data.tags["tunecore.experiment"] == "grid"
        assert run.data.params == {"lr": str(lr), "steps": "4", "model/depth": "2", "model/name": "réseau ü",
                                   "sizes": "[8, 16]", "opt_1": "adam", "ratio": "0.25",
                                   "fail_lr": "0.2"}
        assert run.data.params == params_of(result.config)
        assert run.info.status == ("FAILED" if lr == 0.2 else "FINISHED")
        rows = read_json_lines(os.path.join(result.path, R.RESULT_FILE))
        assert len(rows) == (2 if lr == 0.2 else 4)
        numeric = metrics_of(rows[0])
        assert {"loss", "w0", "improved", "nested/norm", "nested/zero", "acc_1", "maybe", "training_iteration",
                "time_total_s"} <= set(numeric)
        assert not {"note", "config/lr", "trial_id", "date", "hostname"} & set(numeric)
        assert set(run.data.metrics) == set(numeric)
        for key in numeric:  # the history of every metric is the trial's result.json, step by step
            expected = [(row["training_iteration"], metrics_of(row)[key]) for row in rows]
            assert same(history(store, run.info.run_id, key), expected), key
        assert math.isnan(dict(history(store, run.info.run_id, "maybe"))[2])
        assert history(store, run.info.run_id, "improved")[-1][1] in (0.0, 1.0)

    # the token is nowhere: not in MLflow, not in the experiment's state, not in tuner.pkl
    for run in runs:
        assert TOKEN not in json.dumps([run.data.tags, run.data.params])
    for name in os.listdir(grid.experiment_path):
        path = os.path.join(grid.experiment_path, name)
        if os.path.isfile(path):
            assert TOKEN.encode() not in open(path, "rb").read(), name
    assert TOKEN not in repr(callback) and pickle.loads(pickle.dumps(callback)).tracking_token is None


class ParamsAtTheEnd(tune.Callback):
    """Before the MLflow callbacks hear that a trial ended: what does MLflow hold?"""

    def __init__(self, uri, *mlflow_callbacks):
        self.uri, self.mlflow_callbacks, self.seen = uri, mlflow_callbacks, {}

    def on_trial_complete(self, iteration, trials, trial, **info):
        for callback in self.mlflow_callbacks:
            assert callback.flush(30)
            run_id = callback.get_state()["runs"][trial.trial_id]
            run = MlflowClient(tracking_uri=self.uri).get_run(run_id)
            self.seen[run_id] = (dict(run.data.params), run.info.status, len(history(self.uri, run_id, "loss")))


def checkpointing(config):
    for step in range(3):
        folder = os.path.join(tune.get_context().get_trial_dir(), f"scratch_{step}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.json"), "w") as f:
            json.dump({"step": step, "lr": config["lr"]}, f)
        tune.report({"loss": config["lr"] / (step + 1)}, checkpoint=tune.Checkpoint.from_directory(folder))


def test_artifacts_and_params_on_trial_end_in_a_file_store(ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the folder store behind this switch
    uri = (tmp_path / "mlruns").as_uri()
    at_start = MLflowLoggerCallback(uri, experiment_name="params at start", save_artifact=True)
    at_end = MLflowLoggerCallback(uri, experiment_name="params at end", save_artifact=True,
                                  log_params_on_trial_end=True)
    spy = ParamsAtTheEnd(uri, at_start, at_end)
    grid = tune.Tuner(checkpointing, param_space={"lr": tune.grid_search([0.1, 0.3])},
                      run_config=tune.RunConfig(name="ckpt", storage_path=str(tmp_path / "runs"), verbose=0,
                                                callbacks=[spy, at_start, at_end])).fit()
    assert grid.num_terminated == 2
    client = MlflowClient(tracking_uri=uri)
    lrs = {r.metrics["trial_id"]: str(r.config["lr"]) for r in grid}
    for experiment in ("params at start", "params at end"):
        runs = runs_of(uri, experiment)
        assert len(runs) == 2
        for run in runs:
            assert run.data.params == {"lr": lrs[run.data.tags["trial_id"]]} and run.info.status == "FINISHED"
            params, status, points = spy.seen[run.info.run_id]  # just before the trial's end was logged
            assert status == "RUNNING" and points == 3
            assert params == ({} if experiment == "params at end" else run.data.params)
            top = {a.path for a in client.list_artifacts(run.info.run_id)}
            assert {"result.json", "params.json", "checkpoint_000003"} <= top, top
            files = {a.path for a in client.list_artifacts(run.info.run_id, "checkpoint_000003")}
            assert "checkpoint_000003/model.json" in files, files
            local = client.download_artifacts(run.info.run_id, "checkpoint_000003/model.json", str(tmp_path))
            assert json.load(open(local))["step"] == 2


def traced(config):
    from tune_integrations.mlflow import setup_mlflow

    ml = setup_mlflow(config, tracking_uri=config["uri"], experiment_name="setup ü",
                      create_experiment_if_not_exists=True, tags={"kind": "manual"})
    for step in range(3):
        ml.log_metric("manual_loss", config["lr"] * (3 - step), step=step)
        tune.report({"loss": config["lr"] * (3 - step)})
    if config["lr"] > 0.5:
        raise ValueError("the last step fails")


def test_setup_mlflow_inside_the_trainable(ray_session, store, tmp_path):
    # one trial at a time: the second runs in the first one's (reused) worker and gets a run of its own
    grid = tune.Tuner(traced, param_space={"lr": tune.grid_search([0.9, 0.1]), "uri": store,
                                           "mlflow": {"secret": "not a param"}, "deep": {"x": 1}},
                      tune_config=tune.TuneConfig(max_concurrent_trials=1),
                      run_config=tune.RunConfig(name="setup", storage_path=str(tmp_path), verbose=0)).fit()
    assert grid.num_terminated == 1 and grid.num_errors == 1
    runs = runs_of(store, "setup ü")
    assert len(runs) == 2
    by_id = {r.metrics["trial_id"]: r for r in grid}
    for run in runs:
        result = by_id[run.data.tags["trial_id"]]
        lr = result.config["lr"]
        assert run.info.run_name == run.data.tags["trial_name"] and run.info.run_name.startswith("traced_")
        assert run.data.tags["kind"] == "manual" and run.data.tags["tunecore.source"] == "setup_mlflow"
        assert run.data.params == {"lr": str(lr), "uri": store, "deep/x": "1"}  # no "mlflow" entry
        assert history(store, run.info.run_id, "manual_loss") == [(s, lr * (3 - s)) for s in range(3)]
        # ended with the trial's function: FAILED when it raised
        assert run.info.status == ("FAILED" if lr > 0.5 else "FINISHED")


def test_setup_mlflow_outside_a_trial_and_its_errors(store, tmp_path):
    from tune_integrations.mlflow import setup_mlflow

    with pytest.raises(ValueError, match="no MLflow experiment named 'missing'"):
        setup_mlflow({}, tracking_uri=store, experiment_name="missing")
    with pytest.raises(ValueError, match="experiment_name"):
        setup_mlflow({}, tracking_uri=store)
    ml = setup_mlflow({"a": {"b": 1}}, tracking_uri=store, experiment_name="outside",
                      create_experiment_if_not_exists=True, run_name="by hand")
    try:
        ml.log_metric("m", 1.0)
        run_id = ml.active_run().info.run_id
    finally:
        ml.end_run()
    run = MlflowClient(tracking_uri=store).get_run(run_id)
    assert run.info.run_name == "by hand" and run.info.status == "FINISHED"
    assert run.data.params == {"a/b": "1"} and run.data.metrics == {"m": 1.0}


@pytest.mark.filterwarnings("ignore:Several experiments share one search algorithm")
def test_by_name_and_other_trials_keep_logging_when_one_experiment_cannot(ray_session, store, tmp_path, monkeypatch,
                                                                          capsys):
    from tune_integrations.mlflow import MLflowLoggerCallback as Callback
    from tunecore.callback import resolve_callbacks
    from tunecore.plugins import get_plugin_manager

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    assert isinstance(resolve_callbacks(["mlflow"], get_plugin_manager())[0], Callback)  # RunConfig(callbacks=[...])
    client = MlflowClient(tracking_uri=store)
    client.delete_experiment(client.create_experiment("gone"))
    # no experiment_name: each tunecore experiment logs to the MLflow experiment of its name
    trials = tune.run_experiments(
        [Experiment(name, regression, config={"lr": 0.1, "steps": 2}, local_dir=str(tmp_path)) for name in
         ("kept é", "gone")], callbacks=["mlflow"], verbose=0)
    assert [t.status.value for t in trials] == ["TERMINATED", "TERMINATED"]
    (run,) = runs_of(store, "kept é")
    assert run.info.status == "FINISHED" and len(history(store, run.info.run_id, "loss")) == 2
    err = capsys.readouterr().err
    assert "MLflow experiment 'gone'" in err and "is deleted" in err
    assert client.search_runs([client.get_experiment_by_name("gone").experiment_id]) == []


def fails_once(config):
    marker = config["marker"]
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            start = json.load(open(os.path.join(d, "state.json")))["i"] + 1
    for i in range(start, 4):
        if i == 2 and not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("the first run fails at 2")
        d = os.path.join(os.path.dirname(marker), f"ck_{os.getpid()}_{os.path.basename(marker)}_{i}")
        os.makedirs(d)
        json.dump({"i": i}, open(os.path.join(d, "state.json"), "w"))
        tune.report({"i": i, "start": start}, checkpoint=tune.Checkpoint.from_directory(d))


def test_a_restored_trial_continues_its_mlflow_run(ray_session, store, tmp_path):
    (tmp_path / "work").mkdir()
    markers = [str(tmp_path / "work" / name) for name in ("state", "tags")]
    callback = MLflowLoggerCallback(store, experiment_name="resume")
    tune.Tuner(fails_once, param_space={"marker": tune.grid_search(markers)},
               run_config=tune.RunConfig(name="e", storage_path=str(tmp_path / "runs"), verbose=0,
                                         callbacks=[callback])).fit()
    runs = runs_of(store, "resume")
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == "FAILED" and history(store, run.info.run_id, "i") == [(1, 0.0), (2, 1.0)]
    path = str(tmp_path / "runs" / "e")
    state_file = os.path.join(path, R.EXPERIMENT_STATE_FILE)
    state = json.load(open(state_file))
    saved = state["callbacks"][0]
    assert saved == {"class": "MLflowLoggerCallback",
                     "state": {"runs": {r.data.tags["trial_id"]: r.info.run_id for r in runs}}}
    lost = next(r for r in runs if r.data.params["marker"] == markers[1]).data.tags["trial_id"]
    del saved["state"]["runs"][lost]  # this trial's run is found again by its trial_id tag
    json.dump(state, open(state_file, "w"))

    grid = tune.Tuner.restore(path, fails_once, resume_errored=True).fit()  # the callback comes from tuner.pkl
    assert all(r.error is None and r.metrics["start"] == 2 for r in grid)
    again = runs_of(store, "resume")
    assert [r.info.run_id for r in again] == [r.info.run_id for r in runs]
    for run in again:
        assert run.info.status == "FINISHED"
        assert history(store, run.info.run_id, "i") == [(1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0)]


def test_hooks_called_directly_pbt_changes_and_an_interrupted_run(store, capsys):
    """The hooks as the runner calls them, on real Trial objects: a config that changes (PBT), a
    trial that never ended (interrupted: KILLED), a trial resumed after a pause (the same run)."""
    from tunecore.execution.trial import Trial, TrialStatus

    callback = MLflowLoggerCallback(store, experiment_name="direct")
    changing = Trial("fake", config={"lr": 0.1, "keep": 1}, experiment_name="x")
    cut_short = Trial("fake", config={"lr": 0.5}, experiment_name="x")
    callback.setup()
    for trial in (changing, cut_short):
        callback.on_trial_start(0, [], trial)
        callback.on_trial_result(0, [], trial, {"training_iteration": 1, "loss": 1.0, "config": trial.config})
    changing.config = {"lr": 0.2, "keep": 1, "new": "x"}  # exploited, then started again
    changing.last_result = {"training_iteration": 1}
    callback.on_trial_start(1, [], changing)
    callback.on_trial_result(1, [], changing, {"training_iteration": 2, "loss": 0.5})
    changing.status = TrialStatus.TERMINATED
    callback.on_trial_complete(2, [], changing)
    cut_short.status = TrialStatus.RUNNING
    callback.on_experiment_end([changing, cut_short])
    assert callback._thread is None  # the writer thread is gone

    runs = {r.data.tags["trial_id"]: r for r in runs_of(store, "direct")}
    assert len(runs) == 2
    first = runs[changing.trial_id]
    assert first.data.params == {"lr": "0.1", "keep": "1", "new": "x"} and first.info.status == "FINISHED"
    assert history(store, first.info.run_id, "loss") == [(1, 1.0), (2, 0.5)]
    assert runs[cut_short.trial_id].info.status == "KILLED"
    err = capsys.readouterr().err
    assert f"trial {changing.trial_id} changed lr, but MLflow params cannot change" in err
    assert callback.failures == 0 and "failed in this run" not in err


def test_a_hanging_server_holds_up_nothing_but_the_final_flush(tmp_path, monkeypatch, capsys):
    """A tracking server that accepts connections and never answers: the hooks return at once,
    and the end of the experiment waits flush_timeout_s, then drops what is left."""
    from tunecore.execution.trial import Trial, TrialStatus

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        callback = MLflowLoggerCallback(f"http://127.0.0.1:{server.getsockname()[1]}", experiment_name="hangs")
        callback.flush_timeout_s = 0.5
        callback.setup()
        trials = [Trial("fake", config={"i": i}, experiment_name="x") for i in range(3)]
        for trial in trials:
            callback.on_trial_start(0, trials, trial)
            for step in range(1, 50):
                callback.on_trial_result(step, trials, trial, {"training_iteration": step, "loss": 1.0 / step})
        # the hooks came back while the writer still waits for the server's first answer
        assert callback._queue.qsize() >= 3 * 49
        for trial in trials:
            trial.status = TrialStatus.TERMINATED
            callback.on_trial_complete(60, trials, trial)
        writer = callback._thread
        callback.on_experiment_end(trials)
    writer.join(30)  # the server is gone: the request in flight fails, and the thread ends
    assert not writer.is_alive()
    err = capsys.readouterr().err
    assert "did not take the queued calls within 0.5 s" in err and "could not" not in err


def test_without_mlflow_the_error_names_the_extra(monkeypatch):
    import importlib

    from tunecore.callback import resolve_callbacks
    from tunecore.plugins import get_plugin_manager

    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "tune_integrations.mlflow", raising=False)
    importlib.import_module("tune_integrations.plugin")  # the plugin itself needs no MLflow
    with pytest.raises(ImportError, match=r'pip install "tune-integrations\[mlflow\]"'):
        importlib.import_module("tune_integrations.mlflow")
    with pytest.raises(ImportError, match="tune_integrations.mlflow needs mlflow"):
        resolve_callbacks(["mlflow"], get_plugin_manager())  # RunConfig(callbacks=["mlflow"]): before any trial


def test_keys_and_values_mlflow_accepts():
    from tune_integrations.mlflow import metrics_of, mlflow_key, params_of

    assert mlflow_key("loss") == "loss" and mlflow_key("a/b") == "a/b" and mlflow_key("é ü:x-y.z") == "é ü:x-y.z"
    assert mlflow_key("acc@1") == "acc_1" and mlflow_key("/a//b/") == "a/b" and mlflow_key("a/../b") == "a/__/b"
    assert mlflow_key("") == "_" and len(mlflow_key("k" * 300)) == 250
    assert metrics_of({"a": np.float32(0.5), "b": np.array(2.0), "c": True, "d": "1.5", "e": None, "f": [1],
                       "config": {"lr": 1}, "g": {"h": np.int64(3)}, "i": float("inf")}) == {
        "a": 0.5, "b": 2.0, "c": 1.0, "g/h": 3.0, "i": math.inf}
    assert params_of({"a": {"b": {"c": np.float64(0.1)}}, "long": "x" * 7000}) == {"a/b/c": "0.1",
                                                                                  "long": "x" * 6000}


def test_the_example_runs_and_reads_back(ray_session, store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(R, "DEFAULT_RESULTS_DIR", str(tmp_path / "ray_results"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["mlflow_tracking.py", "--small", "--tracking-uri", store])
    runpy.run_path(os.path.join(REPO, "examples", "mlflow_tracking.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "2 MLflow runs in experiment 'mlflow_digits'" in out, out
    assert out.count("FINISHED") == 2 and "params: alpha=" in out and "checkpoint_000004" in out
    runs = runs_of(store, "mlflow_digits")
    assert all(len(history(store, r.info.run_id, "mean_accuracy")) == 4 for r in runs)
    assert max(r.data.metrics["mean_accuracy"] for r in runs) > 0.8
