"""Each trial's loggers on the driver: made from the registry, fed in batches, isolated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.execution.guard import ComponentGuard
from tunecore.loggers._base import Logger

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial
    from tunecore.plugins import Registry


class LoggerFanout:
    """The runner's logging: one set of loggers per trial.

    A logger that raises is reported once (by name, see :class:`ComponentGuard`) and
    skipped for that result: a logger whose ``on_results`` is the default gets each
    result on its own, so one bad value costs one row; an ``on_results`` override
    writes a batch all or nothing. A logger that cannot be built is left out for that
    trial. The trial and the other loggers go on. A trial keeps its loggers across
    pause and resume; they are rebuilt (told the restore point) only when it restarts.
    """

    def __init__(self, registry: Registry, guard: Optional[ComponentGuard] = None) -> None:
        self._registry = registry
        self._by_trial: dict[str, list[Logger]] = {}
        self._guard = guard or ComponentGuard()

    def has(self, trial: Trial) -> bool:
        return trial.trial_id in self._by_trial

    def open(self, trial: Trial, restore_iteration: int) -> None:
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
                    self._guard.report(f"logger {_name(name)!r}", trial, trial.config, exc)
        self._by_trial[trial.trial_id] = loggers

    def log(self, trial: Trial, results: list[dict]) -> None:
        for logger in self._by_trial.get(trial.trial_id, ()):
            component = f"logger {_name(type(logger))!r}"
            if type(logger).on_results is Logger.on_results:
                for result in results:
                    self._guard.call(component, trial, result, logger.on_result, result)
            else:
                self._guard.call(component, trial, results[0] if len(results) == 1 else results,
                                 logger.on_results, results)

    def update_config(self, trial: Trial, config: dict) -> None:
        self._each(trial, lambda logger: logger.update_config(config), config)

    def flush(self, trial: Trial) -> None:
        self._each(trial, lambda logger: logger.flush(), None)

    def close(self, trial: Trial, restarting: bool = False) -> None:
        """Close the trial's loggers; ``restarting``: it restarts from a checkpoint next (Logger.restarting)."""
        def close(logger: Logger) -> None:
            logger.restarting = restarting
            logger.close()

        self._each(trial, close, None)
        self._by_trial.pop(trial.trial_id, None)

    def _each(self, trial: Trial, call: Callable[[Logger], Any], value: Any) -> None:
        for logger in self._by_trial.get(trial.trial_id, ()):
            self._guard.call(f"logger {_name(type(logger))!r}", trial, value, call, logger)


def _name(factory: Any) -> str:
    return factory if isinstance(factory, str) else getattr(factory, "__name__", str(factory))
