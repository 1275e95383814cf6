"""tune_integrations.keras: Keras 3 (JAX backend, CPU) reports and checkpoints real trials on Ray.

A tiny Dense network on scikit-learn's digits (no download) trains a few epochs per trial;
what the trials report is read back from their folders, and the checkpointed models are
loaded back with Keras and compared with the models the trials trained.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # before Keras is first imported, here and in Ray's workers

import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tunecore as tune
from tunecore import result as R
from tunecore.util import read_json_lines

keras = pytest.importorskip("keras")
tik = pytest.importorskip("tune_integrations.keras")
TuneReportCheckpointCallback = tik.TuneReportCheckpointCallback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STEPS = 10  # training batches an epoch: 1200 images in batches of 120

#: the trials of the shared run: the callback each makes, and how it trains
CASES = {
    "renamed": {"epochs": 3},
    "all": {"epochs": 3},
    "end_only": {"epochs": 3},
    "batches": {"epochs": 2, "batch_size": 400},
    "retry": {"epochs": 5, "fail_at": 3},  # the "renamed" callback; the first run crashes as epoch 4 begins
}


def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return x[:1200], y[:1200], x[1200:], y[1200:]


def build(lr):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def make_callback(case):
    if case in ("renamed", "retry"):
        return TuneReportCheckpointCallback({"val_acc": "val_accuracy", "точность ✓": "accuracy", "loss": "loss"},
                                            frequency=2)
    if case == "all":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return tik.TuneReportCallback()
    if case == "end_only":
        return TuneReportCheckpointCallback(["val_loss", "accuracy"], frequency=0)
    if case == "batches":  # Ray 2.7+'s arguments
        return TuneReportCheckpointCallback(metrics="loss", report_metrics_on="train_batch_end",
                                            checkpoint_on="epoch_end")
    raise AssertionError(case)


class FailOnce(keras.callbacks.Callback):
    """Crash the trial's first run as epoch ``at`` (0-based) begins; the marker file remembers it did."""

    def __init__(self, at, marker):
        super().__init__()
        self.at, self.marker = at, marker

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError(f"worker lost at epoch {epoch}")


def use_jax_cache(folder):
    """JAX's persistent compilation cache: the trials' identical train steps compile once, not each."""
    import jax

    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def train_digits(config):
    """Ray Tune 2.x's Keras pattern: continue from tune.get_checkpoint() if there is one."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    from tune_integrations.keras import TuneReportCheckpointCallback, get_initial_epoch

    use_jax_cache(config["jax_cache"])
    case = CASES[config["case"]]
    keras.utils.set_random_seed(0)
    x, y, x_val, y_val = digits()
    start = tune.get_checkpoint()
    model = TuneReportCheckpointCallback.get_model(start) if start else build(config["lr"])
    initial_epoch = get_initial_epoch(start)
    callbacks = [make_callback(config["case"])]
    if "fail_at" in case:
        callbacks.insert(0, FailOnce(case["fail_at"], config["marker"]))
    model.fit(x, y, validation_data=(x_val, y_val), epochs=case["epochs"], initial_epoch=initial_epoch,
              batch_size=case.get("batch_size", 1200 // STEPS), shuffle=False, verbose=0, callbacks=callbacks)
    trial_dir = tune.get_context().get_trial_dir()
    np.save(os.path.join(trial_dir, "predictions.npy"), model.predict(x_val, verbose=0))
    with open(os.path.join(trial_dir, "fit.json"), "w") as f:
        json.dump({"initial_epoch": initial_epoch, "optimizer_steps": int(model.optimizer.iterations)}, f)


def rows_of(result):
    return read_json_lines(os.path.join(result.path, "result.json"))


def checkpointed(rows):
    return [r["training_iteration"] for r in rows if r.get(R.CHECKPOINT_DIR_NAME)]


@pytest.fixture(scope="module")
def jax_cache(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("jax-cache"))
    use_jax_cache(folder)  # this process predicts and evaluates with the models it loads
    return folder


@pytest.fixture(scope="module")
def trials(ray_session, tmp_path_factory, jax_cache):
    """One run, one trial per case, one at a time (one worker: Keras and JAX load once)."""
    storage = tmp_path_factory.mktemp("keras-runs")
    tuner = tune.Tuner(train_digits,
                       param_space={"case": tune.grid_search(list(CASES)), "lr": 0.3, "jax_cache": jax_cache,
                                    "marker": str(storage / "failed-once")},
                       tune_config=tune.TuneConfig(max_concurrent_trials=1),
                       run_config=tune.RunConfig(name="keras_cases", storage_path=str(storage), verbose=0,
                                                 failure_config=tune.FailureConfig(max_failures=1)))
    grid = tuner.fit()
    assert grid.num_errors == 0, [r.error for r in grid]
    assert os.path.exists(storage / "failed-once")
    return {r.config["case"]: r for r in grid}


def test_one_row_per_epoch_with_the_renamed_metrics_as_floats(trials):
    rows = rows_of(trials["renamed"])
    assert [r["training_iteration"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert {"val_acc", "точность ✓", "loss"} <= set(row) and "val_accuracy" not in row
        assert all(type(row[k]) is float for k in ("val_acc", "точность ✓", "loss"))
    assert rows[-1]["val_acc"] > rows[0]["val_acc"] and rows[-1]["loss"] < rows[0]["loss"]


def test_checkpoints_at_the_frequency_and_at_the_end(trials):
    renamed = trials["renamed"]
    # every 2nd epoch, and the last one (checkpoint_at_end), with that epoch's row: no extra row
    assert checkpointed(rows_of(renamed)) == [2, 3]
    assert [m["training_iteration"] for _, m in renamed.best_checkpoints] == [2, 3]
    for checkpoint, metrics in renamed.best_checkpoints:
        with checkpoint.as_directory() as folder:
            assert {"model.keras", "tune_keras.json"} <= set(os.listdir(folder))
        assert tik.get_initial_epoch(checkpoint) == metrics["training_iteration"]
    end_only = rows_of(trials["end_only"])  # frequency=0: the end only
    assert len(end_only) == 3 and checkpointed(end_only) == [3]
    assert {"val_loss", "accuracy"} <= set(end_only[0]) and "loss" not in end_only[0]


def test_get_model_gives_back_the_trained_model(trials):
    renamed = trials["renamed"]
    model = TuneReportCheckpointCallback.get_model(renamed.checkpoint)
    _, _, x_val, y_val = digits()
    predictions = model.predict(x_val, verbose=0)
    np.testing.assert_array_equal(predictions, np.load(os.path.join(renamed.path, "predictions.npy")))
    assert int(model.optimizer.iterations) == 3 * STEPS  # the optimizer's state came along
    accuracy = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(rows_of(renamed)[-1]["val_acc"], abs=1e-6)
    earlier = tik.get_model(renamed.best_checkpoints[0][0], compile=False)  # epoch 2's: another model
    assert not np.allclose(earlier.predict(x_val, verbose=0), predictions)


def test_metrics_none_reports_all_logs_and_the_report_callback_never_checkpoints(trials):
    rows = rows_of(trials["all"])
    assert len(rows) == 3 and checkpointed(rows) == []
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert trials["all"].checkpoint is None


def test_reports_at_batch_ends_and_checkpoints_at_epoch_ends(trials):
    rows = rows_of(trials["batches"])
    # 3 training batches an epoch, each a row; each epoch's end a row with its checkpoint
    assert [r["training_iteration"] for r in rows] == list(range(1, 9))
    assert checkpointed(rows) == [4, 8]
    assert all(type(r["loss"]) is float for r in rows)
    assert [tik.get_initial_epoch(c) for c, _ in trials["batches"].best_checkpoints] == [1, 2]


def test_a_retried_trial_continues_from_the_checkpointed_epoch(trials):
    result = trials["retry"]
    rows = rows_of(result)
    # the first run reported epochs 1-3 (a checkpoint at 2), then crashed as epoch 4 began; the
    # retry restored epoch 2's checkpoint (initial_epoch=2) and trained epochs 3-5
    assert [r["training_iteration"] for r in rows] == [1, 2, 3, 4, 5]
    assert checkpointed(rows) == [2, 4, 5]
    with open(os.path.join(result.path, "fit.json")) as f:
        done = json.load(f)
    assert done["initial_epoch"] == 2
    # the optimizer went on from the checkpoint's state: 5 epochs of steps in all, not 3
    assert done["optimizer_steps"] == 5 * STEPS
    assert tik.get_initial_epoch(result.checkpoint) == 5
    # trained alike (seeded, no shuffling): the retried trial ends where the others are after 5 epochs
    assert rows[2]["val_acc"] == pytest.approx(rows_of(trials["renamed"])[2]["val_acc"], abs=1e-6)


def test_arguments_are_checked_when_the_callback_is_made():
    with pytest.raises(ValueError, match="invalid trigger time 'train_start'.*'train_begin'"):
        TuneReportCheckpointCallback(on="train_start")
    with pytest.raises(ValueError, match="one int >= 0 for each hook"):
        TuneReportCheckpointCallback(frequency=[1, 2], on=["epoch_end"])
    with pytest.raises(tune.TuneError, match="ending in '.keras'"):
        TuneReportCheckpointCallback(filename="checkpoint")
    with pytest.raises(tune.TuneError, match="without a folder"):
        TuneReportCheckpointCallback(filename="sub/model.keras")
    with pytest.raises(tune.TuneError, match="frequency="):
        TuneReportCheckpointCallback(frequency=-1)
    with pytest.raises(tune.TuneError, match="names no metric"):
        TuneReportCheckpointCallback(metrics={})
    with pytest.raises(tune.TuneError, match="both str"):
        TuneReportCheckpointCallback(metrics={"loss": 1})
    with pytest.warns(DeprecationWarning, match="TuneReportCallback is deprecated"):
        tik.TuneReportCallback("loss", on="batch_end")  # Ray <= 2.6's alias of train_batch_end


def test_a_metric_keras_did_not_log_names_the_ones_it_did():
    callback = TuneReportCheckpointCallback({"loss": "val_loss"})
    with pytest.raises(tune.TuneError, match=r"asks for 'val_loss', but Keras' logs at epoch_end have only "
                                             r"'loss', 'accuracy'\. Validation metrics .*validation_data="):
        callback.on_epoch_end(0, {"loss": np.float32(0.5), "accuracy": 0.9})


def test_logged_numpy_and_jax_values_are_reported_as_python_floats():
    import jax.numpy as jnp

    callback = TuneReportCheckpointCallback({"loss": "loss", "f1 по классам": "f1", "lr": "learning_rate"})
    got = callback._metrics_of({"loss": np.float32(0.25), "f1": jnp.array([0.5, 0.75]),
                                "learning_rate": jnp.float32(0.125), "other": "x"}, "epoch_end")
    assert got == {"loss": 0.25, "f1 по классам": [0.5, 0.75], "lr": 0.125}
    assert [type(v) for v in (got["loss"], got["lr"], *got["f1 по классам"])] == [float] * 4


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_without_keras_or_its_backend_the_error_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["HOME"] = str(tmp_path)  # no ~/.keras/keras.json: Keras' default backend, TensorFlow
    env["KERAS_HOME"] = str(tmp_path / ".keras")
    no_keras = _python("import sys; sys.modules['keras'] = None\n"
                       "import tune_integrations, tune_integrations.plugin\n"
                       "try:\n    import tune_integrations.keras\n"
                       "except ImportError as e:\n    print('ERROR', type(e).__name__, e)\n", env)
    assert 'ERROR MissingFrameworkError tune_integrations.keras needs Keras 3' in no_keras.stdout, no_keras.stderr
    assert 'pip install "tune-integrations[keras]"' in no_keras.stdout

    code = "import tune_integrations.keras"
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    else:  # Keras' default backend is installed: ask for one that is not
        env["KERAS_BACKEND"] = "torch"
        code = "import sys; sys.modules['torch'] = None\n" + code
    no_backend = _python(code, env)
    assert no_backend.returncode != 0
    assert "Keras could not load its backend" in no_backend.stderr, no_backend.stderr[-2000:]
    assert "os.environ['KERAS_BACKEND'] = 'jax'" in no_backend.stderr


def test_importing_the_package_does_not_import_keras():
    out = _python("import sys, tune_integrations, tune_integrations.plugin; print('keras' in sys.modules, "
                  "'jax' in sys.modules)", dict(os.environ))
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_the_asha_example_stops_the_weak_learning_rates_early(tmp_path, jax_cache):
    """examples/keras_asha.py --small, as a user runs it: its own Ray, KERAS_BACKEND set by the script."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "RAY_ADDRESS")}
    env.update(HOME=str(tmp_path), TUNECORE_RESULTS_DIR=str(tmp_path / "ray_results"),
               JAX_COMPILATION_CACHE_DIR=jax_cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "keras_asha.py"), "--small"], env=env,
                         capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "4 trials, 0 errors" in out, out
    stopped = {}
    for path in (tmp_path / "ray_results" / "keras_asha").glob("*/result.json"):
        rows = read_json_lines(str(path))
        stopped[rows[-1]["config"]["lr"]] = rows[-1]["training_iteration"]
    assert sorted(stopped) == [3e-05, 1e-4, 0.1, 0.3], stopped
    # one trial at a time, the first (lr=0.3) sets every rung's bar: the weak rates are cut at
    # the first rung (grace period 2), the first runs to max_t
    assert stopped[1e-4] == stopped[3e-05] == 2 and stopped[0.3] == 6, stopped
    assert _number(r"(\d+) epochs in all \(running every trial to the end: 24\)", out) == sum(stopped.values())
    best = _number(r"best lr=([0-9.e-]+): val accuracy=", out)
    assert stopped[best] == 6
    assert "the reported one: True" in out


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text[-2000:]}"
    return float(match.group(1))
