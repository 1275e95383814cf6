"""Callbacks on real Ray: every hook in its documented order, failures contained, plugin callbacks."""

from __future__ import annotations

import logging
import os
import types

import pytest

import tunecore as tune
from tunecore import result as R
from tunecore.callback import Callback, CallbackList, resolve_callbacks
from tunecore.errors import TuneError
from tunecore.logger import LoggerCallback
from tunecore.plugins import get_plugin_manager


def counting(config):
    for i in range(config["n"]):
        tune.report({"score": float(i) * config["scale"]})


class Recorder(Callback):
    """Everything it is told, as (hook, trial id, extra) tuples."""

    def __init__(self):
        self.events = []

    def setup(self, stop=None, num_samples=None, total_num_samples=None, **info):
        self.events.append(("setup", None, (num_samples, total_num_samples)))

    def on_step_begin(self, iteration, trials, **info):
        self.events.append(("step_begin", None, iteration))

    def on_step_end(self, iteration, trials, **info):
        self.events.append(("step_end", None, iteration))

    def on_trial_start(self, iteration, trials, trial, **info):
        assert trial in trials
        self.events.append(("start", trial.trial_id, None))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.events.append(("result", trial.trial_id, result[R.TRAINING_ITERATION]))

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.events.append(("complete", trial.trial_id, trial.status.value))

    def on_trial_error(self, iteration, trials, trial, **info):
        self.events.append(("error", trial.trial_id, None))

    def on_experiment_end(self, trials, **info):
        self.events.append(("end", None, len(trials)))


def test_a_callback_sees_each_start_result_and_end_in_order(ray_session, tmp_path):
    recorder = Recorder()
    tuner = tune.Tuner(counting, param_space={"n": tune.grid_search([2, 3, 5]), "scale": 1.0},
                       tune_config=tune.TuneConfig(num_samples=2),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), callbacks=[recorder], verbose=0))
    grid = tuner.fit()
    events = recorder.events
    assert events[0] == ("setup", None, (2, 6))
    assert events[-1] == ("end", None, 6)
    ids = {e[1] for e in events if e[1]}
    assert len(ids) == 6 == len(grid)
    for trial_id in ids:
        mine = [e for e in events if e[1] == trial_id]
        assert mine[0][0] == "start"
        assert mine[-1] == ("complete", trial_id, "TERMINATED")
        n = grid_config(grid, trial_id)["n"]
        assert [e[2] for e in mine if e[0] == "result"] == list(range(1, n + 1))  # each result, in order
        assert [e[0] for e in mine].count("complete") == 1
    # every trial event comes between an on_step_begin and its on_step_end
    open_step = None
    for hook, _, extra in events[1:-1]:
        if hook == "step_begin":
            assert open_step is None
            open_step = extra
        elif hook == "step_end":
            assert extra == open_step
            open_step = None
        else:
            assert open_step is not None, f"{hook} outside a step"


def grid_config(grid, trial_id):
    return next(r.config for r in grid if os.path.basename(r.path).endswith(trial_id))


class Broken(Callback):
    def on_trial_result(self, iteration, trials, trial, result, **info):
        raise RuntimeError("callback bug")

    def on_trial_complete(self, iteration, trials, trial, **info):
        raise ValueError("another bug")


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_failing_callback_is_reported_once_and_skipped(ray_session, tmp_path):
    handler = Collect()
    logger = logging.getLogger("tunecore")
    logger.addHandler(handler)
    recorder = Recorder()
    try:
        grid = tune.Tuner(counting, param_space={"n": 4, "scale": tune.grid_search([1.0, 2.0])},
                          run_config=tune.RunConfig(storage_path=str(tmp_path), callbacks=[Broken(), recorder],
                                                    verbose=0)).fit()
    finally:
        logger.removeHandler(handler)
    assert grid.num_errors == 0 and grid.num_terminated == 2
    assert sum(e[0] == "result" for e in recorder.events) == 8  # the other callback saw everything
    failing = [m for m in handler.messages if "callback 'Broken'" in m]
    assert len(failing) == 1 and "callback bug" in failing[0]


class StepCheckpointer(tune.Trainable):
    def setup(self, config):
        self.value = 0

    def step(self):
        self.value += 1
        return {"value": self.value}

    def save_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "value"), "w") as f:
            f.write(str(self.value))

    def load_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "value")) as f:
            self.value = int(f.read())


class AskCheckpoint(Callback):
    def __init__(self):
        self.saved = []
        self.checkpoints = []

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if result[R.TRAINING_ITERATION] == 2:
            result[R.SHOULD_CHECKPOINT] = True

    def on_trial_save(self, iteration, trials, trial, **info):
        self.saved.append(trial.last_result[R.TRAINING_ITERATION])

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        with open(os.path.join(checkpoint.path, "value")) as f:
            self.checkpoints.append(int(f.read()))


def test_a_callback_can_ask_for_a_checkpoint(ray_session, tmp_path):
    asker = AskCheckpoint()
    grid = tune.Tuner(StepCheckpointer, run_config=tune.RunConfig(
        storage_path=str(tmp_path), stop={"training_iteration": 4}, callbacks=[asker], verbose=0)).fit()
    assert asker.saved == [2] and asker.checkpoints == [2]
    result = grid[0]
    assert R.SHOULD_CHECKPOINT not in result.metrics  # a request, not a metric
    assert result.checkpoint is not None
    with open(os.path.join(result.checkpoint.path, "value")) as f:
        assert f.read() == "2"


class Ends(LoggerCallback):
    def __init__(self):
        self.started, self.results, self.ended = [], [], []

    def log_trial_start(self, trial):
        self.started.append(trial.trial_id)

    def log_trial_result(self, iteration, trial, result):
        self.results.append(trial.trial_id)

    def log_trial_end(self, trial, failed=False):
        self.ended.append((trial.trial_id, failed))


def failing_at_two(config):
    for i in range(4):
        if i == 2 and config["fail"]:
            raise RuntimeError("boom")
        tune.report({"i": i})


def test_logger_callback_and_plugin_callbacks(ray_session, tmp_path):
    seen = []

    class FromPlugin(Callback):
        default_enabled = True

        def on_trial_complete(self, iteration, trials, trial, **info):
            seen.append(trial.trial_id)

        def on_trial_error(self, iteration, trials, trial, **info):
            seen.append(trial.trial_id)

    pm = get_plugin_manager()
    module = types.SimpleNamespace(tunecore_register_callbacks=tune.hookimpl(
        lambda register: register("seen", FromPlugin)))
    assert pm.add_plugin(module, "tune-test-callbacks").status == "ok"
    ends = Ends()
    try:
        grid = tune.Tuner(failing_at_two, param_space={"fail": tune.grid_search([False, True])},
                          run_config=tune.RunConfig(storage_path=str(tmp_path), callbacks=[ends], verbose=0)).fit()
    finally:
        pm._undo("tune-test-callbacks")
    assert grid.num_errors == 1 and grid.num_terminated == 1
    assert sorted(failed for _, failed in ends.ended) == [False, True]
    assert ends.results.count(ends.ended[0][0]) + ends.results.count(ends.ended[1][0]) == 6
    assert sorted(seen) == sorted(t for t, _ in ends.ended)  # the plugin's default-enabled callback ran


def test_bad_callbacks_are_refused_before_anything_runs(tmp_path):
    pm = get_plugin_manager()
    with pytest.raises(TuneError, match="pass an instance"):
        resolve_callbacks([Recorder], pm)
    with pytest.raises(TuneError, match="not a tunecore.Callback"):
        resolve_callbacks([object()], pm)
    with pytest.raises(TuneError, match="Unknown callback 'nope'"):
        resolve_callbacks(["nope"], pm)
    with pytest.raises(TuneError, match="callbacks must be a list"):
        tune.RunConfig(callbacks=Recorder())


def test_callback_list_calls_only_overridden_hooks_and_keeps_state():
    class Stateful(Callback):
        def __init__(self):
            self.n = 0

        def on_step_end(self, iteration, trials, **info):
            self.n += 1

        def get_state(self):
            return {"n": self.n}

        def set_state(self, state):
            self.n = state["n"]

    first = Stateful()
    callbacks = CallbackList([first, Callback()])
    assert callbacks.wants("on_step_end") and not callbacks.wants("on_trial_result")
    for i in range(3):
        callbacks.call("on_step_end", iteration=i, trials=[])
    again = Stateful()
    CallbackList([again, Callback()]).set_state(callbacks.get_state())
    assert again.n == first.n == 3
