"""Each trial's loggers on the driver: made from the registry, fed in batches, isolated."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from tunecore.errors import TuneError
from tunecore.loggers._base import Logger

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.plugins import Registry
    from tunecore.trial import Trial


class LoggerFanout:
    """The runner's logging: one set of loggers per trial.

    A logger that raises is reported once (by name) and dropped for that trial; the
    trial and the other loggers go on. A trial keeps its loggers across pause and
    resume; they are rebuilt (told the restore point) only when it restarts.
    """

    def __init__(self, registry: "Registry") -> None:
        self._registry = registry
        self._by_trial: dict[str, list[Logger]] = {}
        self._warned: set = set()

    def has(self, trial: "Trial") -> bool:
        return trial.trial_id in self._by_trial

    def open(self, trial: "Trial", restore_iteration: int) -> None:
        """Make the trial's loggers; each drops what it logged after ``restore_iteration``."""
        if trial.loggers is not None:
            names = list(trial.loggers)
        else:
            names = [n for n, f in self._registry.items() if getattr(f, "default_enabled", True)]
        loggers = []
        with Logger.restoring(restore_iteration):
            for name in names:
                try:
                    factory = self._registry.get(name) if isinstance(name, str) else name
                    loggers.append(factory(trial.config, trial.logdir, trial))
                except TuneError:
                    raise
                except Exception as exc:  # a broken logger never takes the experiment down
                    self._warn(name, exc)
        self._by_trial[trial.trial_id] = loggers

    def log(self, trial: "Trial", results: list[dict]) -> None:
        self._each(trial, lambda logger: logger.on_results(results), drop=True)

    def update_config(self, trial: "Trial", config: dict) -> None:
        self._each(trial, lambda logger: logger.update_config(config), drop=True)

    def flush(self, trial: "Trial") -> None:
        self._each(trial, lambda logger: logger.flush())

    def close(self, trial: "Trial", restarting: bool = False) -> None:
        """Close the trial's loggers; ``restarting``: it restarts from a checkpoint next (Logger.restarting)."""
        def close(logger: Logger) -> None:
            logger.restarting = restarting
            logger.close()

        self._each(trial, close)
        self._by_trial.pop(trial.trial_id, None)

    def _each(self, trial: "Trial", call: Callable[[Logger], Any], drop: bool = False) -> None:
        loggers = self._by_trial.get(trial.trial_id, [])
        for logger in list(loggers):
            try:
                call(logger)
            except Exception as exc:
                self._warn(type(logger), exc)
                if drop:
                    loggers.remove(logger)

    def _warn(self, name: Any, exc: BaseException) -> None:
        key = getattr(name, "__name__", str(name))
        if key not in self._warned:
            self._warned.add(key)
            print(f"tunecore: logger {key!r} failed and is skipped for this trial: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
