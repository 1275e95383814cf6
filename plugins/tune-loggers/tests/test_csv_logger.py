"""CSVLogger: progress.csv that pandas and viskit read, including late and nested metrics."""

from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from tune_loggers import CSVLogger
from tunecore.testing import LoggerContract, make_result, make_trial


def read_rows(logdir) -> list[dict]:
    with open(os.path.join(logdir, "progress.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class TestCSVLoggerContract(LoggerContract):
    @pytest.fixture
    def make_logger(self):
        return CSVLogger

    def read_back(self, logdir):
        return read_rows(logdir)


@pytest.fixture
def trial(tmp_path):
    return make_trial({"lr": 0.01, "model": {"width": 64}}, logdir=str(tmp_path))


def test_nested_metrics_are_flattened_and_pandas_reads_them(trial, tmp_path):
    logger = CSVLogger(trial.config, str(tmp_path), trial)
    for i in range(1, 4):
        logger.on_result(make_result(trial, i, info={"grad_norm": 0.5 * i, "learner": {"loss": np.float32(1 / i)}}))
    logger.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df["training_iteration"]) == [1, 2, 3]
    assert list(df["info/grad_norm"]) == [0.5, 1.0, 1.5]
    assert df["info/learner/loss"].tolist() == pytest.approx([1.0, 0.5, 1 / 3], rel=1e-6)
    assert list(df["config/lr"]) == [0.01] * 3 and list(df["config/model/width"]) == [64] * 3
    assert "info" not in df.columns and "config" not in df.columns
    assert df["episode_reward_mean"].dtype.kind == "f"


def test_late_metric_widens_the_header_and_keeps_every_row(trial, tmp_path):
    logger = CSVLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 1))
    logger.on_result(make_result(trial, 2))
    logger.flush()
    logger.on_result(make_result(trial, 3, late={"metric": 0.75}, other="x"))
    logger.on_result(make_result(trial, 4))
    logger.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df["training_iteration"]) == [1, 2, 3, 4]
    assert math.isnan(df["late/metric"][0]) and math.isnan(df["late/metric"][1])
    assert df["late/metric"][2] == 0.75 and math.isnan(df["late/metric"][3])
    assert df["other"].tolist()[2] == "x"
    header = open(tmp_path / "progress.csv").readline().strip().split(",")
    assert header[-2:] == ["late/metric", "other"]  # new columns go at the end
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


def test_odd_values_round_trip(trial, tmp_path):
    logger = CSVLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 1, nan_metric=float("nan"), flag=True, nothing=None,
                                 values=[1, 2], np_scalar=np.float64(3.5), np_int=np.int64(7), label="a,b"))
    logger.close()
    row = read_rows(tmp_path)[0]
    assert row["nan_metric"] == "nan" and row["flag"] == "True" and row["nothing"] == ""
    assert json.loads(row["values"]) == [1, 2]
    assert (row["np_scalar"], row["np_int"], row["label"]) == ("3.5", "7", "a,b")


def test_batches_are_written_in_order_and_flushed_on_flush(trial, tmp_path):
    logger = CSVLogger(trial.config, str(tmp_path), trial)
    logger.on_results([make_result(trial, i) for i in range(1, 6)])
    logger.flush()
    assert [int(r["training_iteration"]) for r in read_rows(tmp_path)] == [1, 2, 3, 4, 5]
    logger.on_result(make_result(trial, 6))
    logger.close()
    logger.on_result(make_result(trial, 7))  # after close: ignored, no crash
    assert [int(r["training_iteration"]) for r in read_rows(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_params_json_written_when_csv_is_alone_and_on_config_change(trial, tmp_path):
    logger = CSVLogger(trial.config, str(tmp_path), trial)
    assert json.loads((tmp_path / "params.json").read_text()) == {"lr": 0.01, "model": {"width": 64}}
    logger.update_config({"lr": 0.02, "model": {"width": 64}})
    assert json.loads((tmp_path / "params.json").read_text())["lr"] == 0.02
    logger.close()


def test_existing_params_json_is_left_alone(trial, tmp_path):
    (tmp_path / "params.json").write_text('{"written": "by the json logger"}')
    CSVLogger(trial.config, str(tmp_path), trial).close()
    assert json.loads((tmp_path / "params.json").read_text()) == {"written": "by the json logger"}


def test_a_resumed_trial_appends_under_the_existing_header(trial, tmp_path):
    first = CSVLogger(trial.config, str(tmp_path), trial)
    first.on_result(make_result(trial, 1))
    first.close()
    second = CSVLogger(trial.config, str(tmp_path), trial)
    second.on_result(make_result(trial, 2))
    second.on_result(make_result(trial, 3, extra_metric=1.0))
    second.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df["training_iteration"]) == [1, 2, 3]
    assert df["extra_metric"].tolist()[2] == 1.0
    assert open(tmp_path / "progress.csv").read().count("training_iteration") == 1


def test_registered_and_on_by_default():
    from tunecore.plugins import discover

    pm = discover()
    assert pm.loggers.get("csv") is CSVLogger and CSVLogger.default_enabled is True
    assert pm.loggers.owner("csv") == "tune-loggers"
