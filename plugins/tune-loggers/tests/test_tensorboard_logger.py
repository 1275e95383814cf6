"""TensorBoardLogger: event files read back with tensorboard's EventAccumulator."""

from __future__ import annotations

import glob
import math
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tune_loggers import TensorBoardLogger
from tune_loggers.tensorboard_logger import scalars_of, step_of
from tunecore.testing import LoggerContract, make_result, make_trial


def load(logdir) -> EventAccumulator:
    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    return ea


def series(ea: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in ea.Scalars(tag)]


def hparams_data(ea: EventAccumulator) -> dict:
    """``{tag: HParamsPluginData}`` of the hparams summaries in the run."""
    return {tag: plugin_data_pb2.HParamsPluginData.FromString(content)
            for tag, content in ea.PluginTagToContent("hparams").items()}


class TestTensorBoardLoggerContract(LoggerContract):
    @pytest.fixture
    def make_logger(self):
        return TensorBoardLogger

    def read_back(self, logdir):
        ea = load(logdir)
        return [{"training_iteration": v} for _, v in series(ea, "ray/tune/training_iteration")]


@pytest.fixture
def trial(tmp_path):
    return make_trial({"lr": 0.01, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "layers": 3},
                      logdir=str(tmp_path))


def test_scalars_tags_steps_and_values(trial, tmp_path):
    logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
    for i in range(1, 4):
        logger.on_result(make_result(trial, i, info={"learner": {"loss": np.float32(1.0 / i)}},
                                     label="text", flag=True, values=[1, 2]))
    logger.close()
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 1
    ea = load(tmp_path)
    tags = set(ea.Tags()["scalars"])
    assert {"ray/tune/episode_reward_mean", "ray/tune/mean_loss", "ray/tune/info/learner/loss",
            "ray/tune/training_iteration", "ray/tune/timesteps_total", "ray/tune/time_total_s"} <= tags
    # no scalars for text, bools, lists or the config
    assert not {t for t in tags if t.split("/")[2] in ("label", "flag", "values", "config", "done", "trial_id")}
    # steps are timesteps_total (10, 20, 30)
    assert series(ea, "ray/tune/episode_reward_mean") == [(10, 1.0), (20, 2.0), (30, 3.0)]
    assert [s for s, _ in series(ea, "ray/tune/info/learner/loss")] == [10, 20, 30]
    assert [v for _, v in series(ea, "ray/tune/info/learner/loss")] == pytest.approx([1.0, 0.5, 1 / 3], rel=1e-6)
    assert series(ea, "ray/tune/training_iteration") == [(10, 1.0), (20, 2.0), (30, 3.0)]


def test_step_falls_back_to_training_iteration(trial, tmp_path):
    logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
    logger.on_results([{"training_iteration": i, "timesteps_total": None, "acc": i / 10} for i in (1, 2)])
    logger.on_result({"training_iteration": 3, "timesteps_total": 0, "acc": 0.3})
    logger.close()
    assert series(load(tmp_path), "ray/tune/acc") == [(1, pytest.approx(0.1)), (2, pytest.approx(0.2)),
                                                      (3, pytest.approx(0.3))]


def test_hparams_session_holds_config_and_final_metrics(trial, tmp_path):
    logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 1, nan_metric=float("nan")))
    logger.update_config(dict(trial.config, lr=0.02))  # PBT-style change: the final config wins
    logger.on_result(make_result(trial, 2, nan_metric=float("nan")))
    logger.close()
    data = hparams_data(load(tmp_path))
    experiment = data["_hparams_/experiment"].experiment
    start = data["_hparams_/session_start_info"].session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(0.02)
    assert start.hparams["layers"].number_value == 3
    assert start.hparams["opt/name"].string_value == "adam"
    assert start.hparams["opt/betas"].string_value == "[0.9, 0.99]"
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    assert {"ray/tune/episode_reward_mean", "ray/tune/mean_accuracy"} <= metric_tags
    assert "ray/tune/nan_metric" not in metric_tags
    assert "_hparams_/session_end_info" in data
    # the HParams view reads each metric's value as the last scalar of its tag
    assert series(load(tmp_path), "ray/tune/episode_reward_mean")[-1] == (20, 2.0)


def test_helpers():
    assert scalars_of({"a": 1, "b": {"c": np.float32(0.5)}, "config": {"x": 1}, "pid": 3, "s": "x",
                       "done": True, "n": None}) == {"ray/tune/a": 1.0, "ray/tune/b/c": 0.5}
    assert step_of({"timesteps_total": 50, "training_iteration": 2}) == 50
    assert step_of({"timesteps_total": 0, "training_iteration": 2}) == 2
    assert step_of({}) == 0
    assert math.isnan(scalars_of({"x": float("nan")})["ray/tune/x"])


def test_flush_makes_results_readable_before_close(trial, tmp_path):
    logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 1))
    logger.flush()
    assert series(load(tmp_path), "ray/tune/mean_loss") == [(10, -1.0)]
    logger.close()
    logger.close()
    assert os.listdir(tmp_path)


def test_registered_and_on_by_default():
    from tunecore.plugins import discover

    pm = discover()
    assert pm.loggers.get("tensorboard") is TensorBoardLogger and TensorBoardLogger.default_enabled
