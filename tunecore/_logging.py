"""The ``tunecore`` logger hierarchy: where the core's messages go, and how ``verbose`` maps onto it.

Every core module logs to ``logging.getLogger("tunecore.<module>")``. The ``tunecore``
logger has one handler of its own, writing ``tunecore: [WARNING: |ERROR: ]<message>`` to whatever
``sys.stderr`` is at the time, and does not propagate, so messages show without any
logging setup. To route them through your own logging configuration instead::

    import logging
    tunecore_log = logging.getLogger("tunecore")
    tunecore_log.handlers.clear()
    tunecore_log.propagate = True

``verbose=0`` shows warnings and errors only; ``verbose`` 1 and 2 also show information
(resuming, recovering a trial, an interrupted run). The status table and the result dumps
are printed by :class:`tunecore.execution.status.ProgressPrinter`, not logged.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

ROOT = "tunecore"


class _Format(logging.Formatter):
    """``tunecore: message``, with ``WARNING: ``/``ERROR: `` before warnings and errors."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        level = f"{record.levelname}: " if record.levelno >= logging.WARNING else ""
        return f"tunecore: {level}{text}"


class _Stderr(logging.StreamHandler):
    """A handler writing to the current ``sys.stderr`` (which tests and notebooks replace)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_Format())

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass  # a closed or broken stderr never takes the experiment down


def _install() -> logging.Logger:
    logger = logging.getLogger(ROOT)
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
        logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return logger


@contextlib.contextmanager
def verbosity(verbose: int) -> Iterator[None]:
    """For the block: ``verbose`` 0 shows warnings and errors, 1 or more information too."""
    logger = _install()
    before = logger.level
    logger.setLevel(logging.WARNING if verbose <= 0 else logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(before)


def get_logger(name: str) -> logging.Logger:
    """The logger of a core module (``get_logger(__name__)``)."""
    _install()
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")
