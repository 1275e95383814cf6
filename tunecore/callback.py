"""Experiment callbacks: Ray Tune 2.x's ``Callback`` hooks, called by the runner on the driver.

Pass instances with ``RunConfig(callbacks=[...])`` (or ``run_experiments(..., callbacks=[...])``);
plugins register factories with the ``tunecore_register_callbacks`` hook. Every hook gets
keyword arguments (accept ``**info``: more may be added), and ``iteration`` is the runner's
loop count. In one run the hooks come in this order:

1. ``setup(stop, num_samples, total_num_samples)`` once, before the first step;
2. each loop turn: ``on_step_begin``, then what happened in the turn, then ``on_step_end``:

   - ``on_trial_start`` when a trial's worker starts (also after a pause or a retry),
     followed by ``on_trial_restore`` when it starts from a checkpoint;
   - ``on_trial_result`` for each result, after the scheduler and the searcher saw it and
     before the loggers write it; a callback may set
     ``result[tunecore.result.SHOULD_CHECKPOINT] = True`` to have a class trainable
     checkpointed now (a function trainable checkpoints itself when it reports);
   - ``on_checkpoint`` when a checkpoint of the trial is registered (``checkpoint`` is a
     :class:`tunecore.Checkpoint`), and ``on_trial_save`` after the runner saved one;
   - ``on_trial_recover`` when a failed trial will be retried, ``on_trial_error`` when it
     failed for good, ``on_trial_complete`` when it ended otherwise (its stop criterion, a
     stopper, the scheduler, a user, or the end of the experiment);
3. ``on_experiment_end(trials)`` once, after the last trial ended.

A callback that raises is reported once (by name) and skipped for that event; the trials and
the other callbacks go on. ``get_state``/``set_state`` let a resumed run continue a callback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Optional

from tunecore.execution.guard import ComponentGuard

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial
    from tunecore.plugins import PluginManager

__all__ = ["Callback", "CallbackList", "resolve_callbacks"]

#: The hooks, in the order of an experiment's life.
HOOKS = ("setup", "on_step_begin", "on_trial_start", "on_trial_restore", "on_trial_result", "on_checkpoint",
         "on_trial_save", "on_trial_recover", "on_trial_error", "on_trial_complete", "on_step_end",
         "on_experiment_end")


class Callback:
    """Base class of experiment callbacks; override the hooks you need (see the module docs)."""

    def setup(self, stop: Any = None, num_samples: Optional[int] = None, total_num_samples: Optional[int] = None,
              **info: Any) -> None:
        """Once, before the first trial starts."""

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        """At the start of each turn of the runner's loop."""

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        """At the end of each turn of the runner's loop."""

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """A trial's worker started (first start, after a pause, or a retry)."""

    def on_trial_restore(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """A trial started from a checkpoint."""

    def on_trial_save(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """The runner checkpointed a (class) trainable."""

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict,
                        **info: Any) -> None:
        """A result of ``trial``."""

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """``trial`` ended without an error."""

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """``trial`` failed and will be retried."""

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """``trial`` failed for good."""

    def on_checkpoint(self, iteration: int, trials: list[Trial], trial: Trial, checkpoint: Any,
                      **info: Any) -> None:
        """A checkpoint of ``trial`` was registered."""

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """Once, after the last trial ended (also after Ctrl-C or a ``fail_fast`` stop)."""

    def get_state(self) -> Optional[dict]:
        """State to keep for a resumed run (None: nothing)."""
        return None

    def set_state(self, state: dict) -> None:
        """Inverse of :meth:`get_state`."""


def _name(callback: Any) -> str:
    return f"callback {type(callback).__name__!r}"


class CallbackList:
    """The run's callbacks, each called through the guard (a raising one is reported and skipped)."""

    def __init__(self, callbacks: Iterable[Any] = (), guard: Optional[ComponentGuard] = None) -> None:
        self.callbacks: list[Any] = list(callbacks)
        self.guard = guard or ComponentGuard()
        # only the hooks someone overrides are called: nothing to do costs nothing per result
        self._overridden = {hook: [c for c in self.callbacks if _overrides(c, hook)] for hook in HOOKS}

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def wants(self, hook: str) -> bool:
        return bool(self._overridden.get(hook))

    def call(self, hook: str, **kwargs: Any) -> None:
        """``callback.<hook>(**kwargs)`` for each callback that overrides it."""
        for callback in self._overridden.get(hook, ()):
            self.guard.call(_name(callback), kwargs.get("trial"), kwargs.get("result", hook), _invoke, callback, hook,
                            kwargs)

    def get_state(self) -> list:
        """One entry per callback (its class name and ``get_state()``), for the experiment state."""
        out = []
        for callback in self.callbacks:
            state = None
            try:
                state = callback.get_state() if hasattr(callback, "get_state") else None
            except Exception as exc:
                self.guard.report(_name(callback), None, "get_state", exc)
            out.append({"class": type(callback).__name__, "state": state})
        return out

    def set_state(self, states: Sequence[Any]) -> None:
        """Give each callback its saved state (matched by position and class name)."""
        for callback, saved in zip(self.callbacks, states or ()):
            if not isinstance(saved, dict) or saved.get("class") != type(callback).__name__:
                continue
            if saved.get("state") is not None and hasattr(callback, "set_state"):
                self.guard.call(_name(callback), None, "set_state", callback.set_state, saved["state"])


def _invoke(callback: Any, hook: str, kwargs: dict) -> None:
    getattr(callback, hook)(**kwargs)


def _overrides(callback: Any, hook: str) -> bool:
    method = getattr(type(callback), hook, None)
    if method is None:
        return callable(getattr(callback, hook, None))  # a duck-typed callback
    return method is not getattr(Callback, hook, None)


def resolve_callbacks(callbacks: Optional[Sequence[Any]], plugins: PluginManager) -> list[Any]:
    """The run's callbacks: the given ones (instances, or names a plugin registered) and every
    registered callback whose factory sets ``default_enabled``.

    Raises:
        TuneError: an unknown name, or something that is neither a callback nor a name.
    """
    from tunecore.errors import TuneError

    out: list[Any] = []
    given = list(callbacks or ())
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TuneError(f"callbacks must be a list of tunecore.Callback instances (or registered names), "
                        f"but got callbacks={callbacks!r}")
    for item in given:
        if isinstance(item, str):
            out.append(plugins.callbacks.create(item))
        elif isinstance(item, type):
            raise TuneError(f"callbacks: {item.__name__} is a class; pass an instance, {item.__name__}()")
        elif isinstance(item, Callback) or any(callable(getattr(item, h, None)) for h in HOOKS):
            out.append(item)
        else:
            raise TuneError(f"callbacks: {item!r} is not a tunecore.Callback; subclass tunecore.Callback and "
                            "override the hooks you need (on_trial_result, on_trial_complete, ...)")
    named = {type(c) for c in out}
    for name, factory in plugins.callbacks.items():
        if getattr(factory, "default_enabled", False) and factory not in named:
            try:
                out.append(factory())
            except Exception as exc:  # a broken plugin never takes the experiment down
                ComponentGuard().report(f"callback {name!r}", None, "its construction", exc)
    return out
