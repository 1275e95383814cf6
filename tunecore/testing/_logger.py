"""``LoggerContract``: the conformance suite every result logger subclasses."""

from __future__ import annotations

import math
import os
from typing import Callable, Optional

import numpy as np
import pytest

from tunecore.execution.trial import Trial
from tunecore.loggers import Logger
from tunecore.testing._fakes import make_result, make_trial
from tunecore.util import as_float, plain

MakeLogger = Callable[[dict, str, Optional[Trial]], Logger]


def _snapshot(logdir: str) -> dict:
    """``{relative path: size}`` of the files under ``logdir``."""
    out = {}
    for root, _, files in os.walk(logdir):
        for name in files:
            path = os.path.join(root, name)
            out[os.path.relpath(path, logdir)] = os.path.getsize(path)
    return out


def feed_logger(logger: Logger, results: list[dict], batched: bool) -> None:
    """Hand ``results`` to ``logger`` as the runner does (one ``on_results`` batch, or one
    ``on_result`` each), then close it, whatever happens."""
    try:
        if batched:
            logger.on_results(results)
        else:
            for result in results:
                logger.on_result(result)
    finally:
        logger.close()


class LoggerContract:
    """Tests every :class:`~tunecore.loggers.Logger` must pass.

    Subclass it in a ``Test...`` class and provide a ``make_logger`` fixture returning
    a factory ``make_logger(config, logdir, trial) -> Logger`` (how the runner builds
    one per trial). Override :meth:`read_back` to parse what the logger wrote, so the
    suite also checks the content, not only that files grew (including that a logger
    built with a restore point ``k``, see :meth:`Logger.restoring`, drops the rows an
    earlier run wrote after ``k``)::

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

        Each dict must hold at least ``training_iteration`` as written; the restart
        tests also compare the ``generation`` metric when the dicts hold it.
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

    # -- restarts from a checkpoint (Logger.restore_iteration) -----------------------------
    def _run(self, make_logger, trial, logdir, restore: Optional[int], iterations, generation: float) -> None:
        with Logger.restoring(restore):
            logger = make_logger(trial.config, logdir, trial)
        try:
            if isinstance(logger, Logger):
                assert logger.restore_iteration == restore, \
                    f"built inside Logger.restoring({restore}), the logger has restore_iteration=" \
                    f"{logger.restore_iteration!r}: does its __init__ call Logger.__init__?"
            for i in iterations:
                logger.on_result(make_result(trial, i, generation=generation))
        finally:
            logger.close()

    def _check_restart(self, logdir: str, expected: list[tuple[int, float]]) -> None:
        self._check_rows(logdir, [it for it, _ in expected])
        rows = self.read_back(logdir)
        if rows is None:
            return
        for row, (it, generation) in zip(rows, expected):
            value = row.get("generation")
            if value not in (None, ""):
                assert float(value) == generation, \
                    f"iteration {it}: read back generation {value}, the run that logged it last wrote {generation}"

    @pytest.mark.parametrize("restore", [2, 0, 5])
    def test_restart_drops_rows_after_the_restore_point(self, make_logger, trial_and_logdir, restore):
        """A trial restarting from iteration k (0: from scratch) ends with rows 1..k, then the new rows."""
        trial, logdir = trial_and_logdir
        self._run(make_logger, trial, logdir, None, range(1, 6), 1.0)
        self._check_restart(logdir, [(i, 1.0) for i in range(1, 6)])
        new = range(restore + 1, restore + 3)
        self._run(make_logger, trial, logdir, restore, new, 2.0)
        self._check_restart(logdir, [(i, 1.0) for i in range(1, restore + 1)] + [(i, 2.0) for i in new])

    def test_two_restarts_in_a_row(self, make_logger, trial_and_logdir):
        """Restart at 3, log 4..6, restart at 4 (an older checkpoint), log 5..7: 1..7 once each."""
        trial, logdir = trial_and_logdir
        self._run(make_logger, trial, logdir, None, range(1, 6), 1.0)
        self._run(make_logger, trial, logdir, 3, range(4, 7), 2.0)
        self._run(make_logger, trial, logdir, 4, range(5, 8), 3.0)
        self._check_restart(logdir, [(1, 1.0), (2, 1.0), (3, 1.0), (4, 2.0), (5, 3.0), (6, 3.0), (7, 3.0)])

    # -- values as users report them -----------------------------------------------------
    def test_any_reported_values(self, make_logger, tmp_path_factory):
        """Results of every kind users report (``tunecore.testing._values``) are written, none lost.

        numpy scalars of every dtype, 0-d and small arrays, NaN/±inf, None, nested dicts,
        lists, unicode text, huge ints, datetimes: the logger must not raise, every
        iteration must be read back, and finite numbers at the top level must read back
        as the same number (to float32 precision, for formats that store that).
        """
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        from tunecore.testing._values import result_dicts

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(result_dicts(), min_size=1, max_size=3), st.booleans())
        def check(extras: list, batched: bool) -> None:
            logdir = str(tmp_path_factory.mktemp("values"))
            trial = make_trial({"quality": 2.0, "lr": np.float32(0.5), "name": "ünïcode"}, logdir=logdir)
            logger = make_logger(trial.config, logdir, trial)
            results = [make_result(trial, i + 1, **extra) for i, extra in enumerate(extras)]
            feed_logger(logger, results, batched)
            rows = self.read_back(logdir)
            if rows is None:
                return
            assert [int(r["training_iteration"]) for r in rows] == list(range(1, len(results) + 1))
            for row, extra in zip(rows, extras):
                for key, value in extra.items():
                    number = as_float(plain(value))
                    if number is None or key not in row or not math.isfinite(number) or abs(number) > 1e30:
                        continue
                    got = as_float(row[key]) if not isinstance(row[key], str) else float(row[key])
                    assert got is not None and math.isclose(got, number, rel_tol=1e-6, abs_tol=1e-30), \
                        f"{key!r}: wrote {value!r}, read back {row[key]!r}"

        check()
