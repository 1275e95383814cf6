"""``LoggerContract``: the conformance suite every result logger subclasses."""

from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import pytest

from tunecore.loggers import Logger
from tunecore.testing._fakes import make_result, make_trial
from tunecore.trial import Trial

MakeLogger = Callable[[dict, str, Optional[Trial]], Logger]


def _snapshot(logdir: str) -> dict:
    """``{relative path: size}`` of the files under ``logdir``."""
    out = {}
    for root, _, files in os.walk(logdir):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, logdir)] = os.path.getsize(path)
    return out


class LoggerContract:
    """Tests every :class:`~tunecore.loggers.Logger` must pass.

    Subclass it in a ``Test...`` class and provide a ``make_logger`` fixture returning
    a factory ``make_logger(config, logdir, trial) -> Logger`` (how the runner builds
    one per trial). Override :meth:`read_back` to parse what the logger wrote, so the
    suite also checks the content, not only that files grew::

        class TestMyLogger(LoggerContract):
            @pytest.fixture
            def make_logger(self):
                return MyLogger

            def read_back(self, logdir):
                return [json.loads(line) for line in open(os.path.join(logdir, "my.jsonl"))]
    """

    @pytest.fixture
    def make_logger(self) -> MakeLogger:
        raise NotImplementedError(
            f"{type(self).__name__} subclasses LoggerContract: define a make_logger fixture "
            "that returns a factory (config, logdir, trial) -> Logger")

    def read_back(self, logdir: str) -> Optional[list[dict]]:
        """The results as read from ``logdir``, one dict each, or None if not checkable.

        Each dict must hold at least ``training_iteration`` as written.
        """
        return None

    @pytest.fixture
    def trial_and_logdir(self, tmp_path):
        logdir = tmp_path / "trial"
        logdir.mkdir()
        trial = make_trial({"quality": 2.0, "lr": 0.01, "nested": {"a": 1}}, logdir=str(logdir))
        return trial, str(logdir)

    def _check_rows(self, logdir: str, iterations: list[int]) -> None:
        rows = self.read_back(logdir)
        if rows is None:
            return
        got = [int(r["training_iteration"]) for r in rows]
        assert got == iterations, f"read back iterations {got}, wrote {iterations}"

    # -- the contract ------------------------------------------------------------------
    def test_factory_returns_a_logger(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        try:
            assert isinstance(logger, Logger)
        finally:
            logger.close()

    def test_writes_and_flushes(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        before = _snapshot(logdir)
        for i in range(1, 4):
            logger.on_result(make_result(trial, i))
        logger.flush()
        after = _snapshot(logdir)
        assert after != before and sum(after.values()) > sum(before.values()), \
            "nothing reached the disk after on_result + flush"
        self._check_rows(logdir, [1, 2, 3])
        logger.close()
        self._check_rows(logdir, [1, 2, 3])

    def test_close_flushes(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_result(make_result(trial, 1))
        logger.close()
        assert sum(_snapshot(logdir).values()) > 0
        self._check_rows(logdir, [1])

    def test_close_twice_is_harmless(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_result(make_result(trial, 1))
        logger.close()
        logger.close()

    def test_batches_equal_single_results(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_results([make_result(trial, i) for i in range(1, 4)])
        logger.on_result(make_result(trial, 4))
        logger.close()
        self._check_rows(logdir, [1, 2, 3, 4])

    def test_metric_appearing_late(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_result(make_result(trial, 1))
        logger.on_result(make_result(trial, 2, late_metric=0.5))
        logger.on_result(make_result(trial, 3))
        logger.close()
        self._check_rows(logdir, [1, 2, 3])

    def test_nested_dicts_and_odd_values(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_result(make_result(
            trial, 1,
            info={"learner": {"loss": 0.25, "grad": np.float32(1.5)}, "steps": np.int64(7)},
            nan_metric=float("nan"), label="text", flag=True, values=[1, 2, 3], nothing=None,
            np_scalar=np.float64(3.0),
        ))
        logger.on_result(make_result(trial, 2, info={"learner": {"loss": 0.125}}))
        logger.close()
        self._check_rows(logdir, [1, 2])

    def test_update_config(self, make_logger, trial_and_logdir):
        trial, logdir = trial_and_logdir
        logger = make_logger(trial.config, logdir, trial)
        logger.on_result(make_result(trial, 1))
        new_config = dict(trial.config, lr=0.02)
        logger.update_config(new_config)
        logger.on_result(make_result(trial, 2))
        logger.close()
        self._check_rows(logdir, [1, 2])
