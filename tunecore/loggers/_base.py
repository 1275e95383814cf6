"""The logger interface: one instance per trial, on the driver, fed every result."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial

#: The iteration the trial whose loggers are being built restarts from (see Logger.restoring).
_RESTORE_POINT: ContextVar[Optional[int]] = ContextVar("tunecore_logger_restore_point", default=None)


class Logger:
    """Writes a trial's results somewhere.

    Called by: the TrialRunner's logging fan-out on the driver, one instance per
    trial, created when the trial starts, kept across pause/resume, re-created when
    the trial restarts after a failure or an experiment resume, closed when the
    trial ends. ``on_result`` is on the hot path: keep file handles open and do
    per-trial work in ``_init``.

    Restarts: a trial that restarts from a checkpoint at iteration ``k`` repeats the
    results an earlier run logged after ``k``. Before ``_init`` runs,
    ``restore_iteration`` is set to ``k`` (``0``: the trial starts from scratch, as
    on its first start), and each logger must drop what it wrote for iterations
    after ``k`` in ``_init`` (atomically: a temp file and a rename), so that no
    iteration appears twice in its files. ``restore_iteration`` is ``None`` when the
    logger is built outside a runner (nothing is known: keep everything). The
    factory signature stays ``factory(config, logdir, trial)``: the runner builds a
    trial's loggers inside :meth:`Logger.restoring`, and a factory that is not a
    ``Logger`` subclass can read the value with :meth:`Logger.current_restore_iteration`.

    Attributes:
        default_enabled: on for experiments that do not list ``loggers``.
        restore_iteration: the iteration the trial restarts from, ``0`` for a start
            from scratch, ``None`` when unknown (see above).
        restarting: True while :meth:`close` runs because the trial failed and
            restarts from a checkpoint: a new logger continues the same folder, so a
            once-per-trial summary (TensorBoard's HParams session) is left to it.
    """

    default_enabled: bool = True
    restore_iteration: Optional[int] = None
    restarting: bool = False

    def __init__(self, config: dict, logdir: str, trial: Optional[Trial] = None) -> None:
        self.config = config
        self.logdir = logdir
        self.trial = trial
        self.restore_iteration = _RESTORE_POINT.get()
        self._init()

    @staticmethod
    @contextlib.contextmanager
    def restoring(iteration: Optional[int]) -> Iterator[None]:
        """Loggers constructed inside this block get ``restore_iteration = iteration``.

        Used by the runner around building a (re)starting trial's loggers, and by
        tests::

            with Logger.restoring(2):
                logger = MyLogger(config, logdir, trial)  # drops rows after iteration 2
        """
        if iteration is not None and (isinstance(iteration, bool) or not isinstance(iteration, int)
                                      or iteration < 0):
            raise ValueError(f"restore_iteration must be None or an int >= 0, but got restore_iteration={iteration!r}")
        token = _RESTORE_POINT.set(iteration)
        try:
            yield
        finally:
            _RESTORE_POINT.reset(token)

    @staticmethod
    def current_restore_iteration() -> Optional[int]:
        """The restore point of the loggers being built now (see :meth:`restoring`)."""
        return _RESTORE_POINT.get()

    def _init(self) -> None:
        """Open files, write headers; drop rows after ``restore_iteration`` if it is set."""

    def on_result(self, result: dict) -> None:
        """One result, in order. ``result["config"]`` is the trial's config."""
        raise NotImplementedError

    def on_results(self, results: list[dict]) -> None:
        """Several results at once (the runner batches); default: one by one."""
        for result in results:
            self.on_result(result)

    def update_config(self, config: dict) -> None:
        """The trial's config changed (PBT); default: remember it."""
        self.config = config

    def flush(self) -> None:
        """Make everything written so far durable."""

    def close(self) -> None:
        """The trial ended (or restarts, see ``restarting``); flush and release resources."""
        self.flush()


class NoopLogger(Logger):
    default_enabled = False

    def on_result(self, result: dict) -> None:
        pass


class FileLogger(Logger):
    """A logger appending to one open file, flushed on a timer rather than per result.

    Subclasses open their file with :meth:`_open` in ``_init``, write to ``self._file``
    and call :meth:`_written` after each write. ``flush``/``close`` hand everything to
    the OS (safe if the process dies); no fsync per trial.
    """

    flush_interval: float = 1.0

    def _open(self, path: str, **kwargs: Any) -> None:
        self._file = open(path, "a", encoding="utf-8", **kwargs)
        self._last_flush = time.monotonic()

    def _written(self) -> None:
        if time.monotonic() - self._last_flush > self.flush_interval:
            self.flush()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
