"""The core JSON logger passes tunecore.testing.LoggerContract, and writes what it says."""

import json
import math
import os

import pytest

from tunecore.loggers import JsonLogger
from tunecore.testing import LoggerContract, make_result, make_trial
from tunecore.util import read_json_lines


class TestJsonLoggerContract(LoggerContract):
    @pytest.fixture
    def make_logger(self):
        return JsonLogger

    def read_back(self, logdir):
        with open(os.path.join(logdir, "result.json"), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


def test_json_logger_params_and_late_metric(tmp_path):
    trial = make_trial({"lr": 0.5, "nested": {"a": 1}}, logdir=str(tmp_path))
    logger = JsonLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 1))
    logger.on_result(make_result(trial, 2, late=3.5, info={"loss": float("nan")}))
    logger.update_config({"lr": 0.25})
    logger.close()
    rows = [json.loads(line) for line in open(tmp_path / "result.json", encoding="utf-8")]
    assert "late" not in rows[0] and rows[1]["late"] == 3.5
    assert rows[1]["info"] == {"loss": "NaN"}  # plain JSON; read_json_lines gives the float back
    assert math.isnan(read_json_lines(str(tmp_path / "result.json"))[1]["info"]["loss"])
    assert json.loads((tmp_path / "params.json").read_text()) == {"lr": 0.25}
