"""``tunecore.logger``: Ray Tune 2.x's name for the logging API (``from ray.tune.logger import ...``).

:class:`LoggerCallback` is Ray Tune 2.x's base for loggers written as experiment callbacks
(one instance for the whole run, told about every trial). tunecore's per-trial loggers
(:class:`tunecore.loggers.Logger`: JSON, CSV, TensorBoard, those plugins register) keep
running beside the callbacks; both see every result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunecore.callback import Callback
from tunecore.loggers import FileLogger, Logger, NoopLogger

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial

__all__ = ["FileLogger", "Logger", "LoggerCallback", "NoopLogger"]


class LoggerCallback(Callback):
    """A logger for all trials of a run: override the ``log_trial_*`` methods.

    ``log_trial_start`` when a trial starts (again after a pause or a retry),
    ``log_trial_restore`` when it starts from a checkpoint, ``log_trial_save`` after the
    runner checkpointed it, ``log_trial_result(iteration, trial, result)`` for each result and
    ``log_trial_end(trial, failed)`` when it ends (``failed``: it ended in ERROR).
    """

    def log_trial_start(self, trial: Trial) -> None:
        """``trial`` started."""

    def log_trial_restore(self, trial: Trial) -> None:
        """``trial`` started from a checkpoint."""

    def log_trial_save(self, trial: Trial) -> None:
        """``trial`` was checkpointed."""

    def log_trial_result(self, iteration: int, trial: Trial, result: dict) -> None:
        """A result of ``trial``."""

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        """``trial`` ended (``failed``: in ERROR)."""

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_start(trial)

    def on_trial_restore(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_restore(trial)

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_save(trial)

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict,
                        **info: Any) -> None:
        self.log_trial_result(iteration, trial, result)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_end(trial, failed=False)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.log_trial_end(trial, failed=True)
