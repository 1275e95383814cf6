"""The logger interface: one instance per trial, on the driver, fed every result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.trial import Trial


class Logger:
    """Writes a trial's results somewhere.

    Called by: the TrialRunner's logging fan-out on the driver, one instance per
    trial, created when the trial first starts, kept across pause/resume and
    recovery, closed when the trial ends. ``on_result`` is on the hot path: keep
    file handles open and do per-trial work in ``_init``.

    Attributes:
        default_enabled: on for experiments that do not list ``loggers``.
    """

    default_enabled: bool = True

    def __init__(self, config: dict, logdir: str, trial: Optional["Trial"] = None) -> None:
        self.config = config
        self.logdir = logdir
        self.trial = trial
        self._init()

    def _init(self) -> None:
        """Open files, write headers."""

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
        """The trial ended; flush and release resources."""
        self.flush()


class NoopLogger(Logger):
    default_enabled = False

    def on_result(self, result: dict) -> None:
        pass
