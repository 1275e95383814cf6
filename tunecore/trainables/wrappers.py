"""``with_parameters`` and ``with_resources``: Ray Tune 2.x's wrappers around a trainable."""

from __future__ import annotations

import functools
import inspect
import threading
import types
from typing import Any, Callable, Union

from tunecore.errors import TuneError
from tunecore.execution.trial import Resources

__all__ = ["with_parameters", "with_resources"]

_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


class _Parameter:
    """A large object handed to a trainable: put in Ray's object store once, when the trainable
    is first sent to the workers, and fetched once per worker process."""

    def __init__(self, value: Any) -> None:
        self._value = value
        self._ref: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        import sys

        ray = sys.modules.get("ray")
        if ray is None or not ray.is_initialized():
            return {"value": self._value, "ref": None}  # no Ray (a trial in the driver): a plain copy
        with self._lock:
            if self._ref is None:
                self._ref = ray.put(self._value)
        return {"value": None, "ref": self._ref}

    def __setstate__(self, state: dict) -> None:
        self._value, self._ref, self._lock = state["value"], state["ref"], threading.Lock()

    def get(self) -> Any:
        if self._ref is None:
            return self._value
        import ray

        key = self._ref.hex()
        with _cache_lock:
            if key not in _cache:
                _cache[key] = ray.get(self._ref)
            return _cache[key]


def with_parameters(trainable: Any, **kwargs: Any) -> Any:
    """The trainable, given ``kwargs`` besides its config (large data through the object store).

    A function ``train(config, data=None)`` becomes ``train(config)`` called with
    ``data=...``; a class gets them in ``setup(config, **kwargs)`` (or ``_setup``). Each
    object is put in Ray's object store once and fetched once per worker process, however
    many trials use it.

    Raises:
        TuneError: ``trainable`` is neither a function nor a Trainable class, or takes no
            argument by one of the names.
    """
    from tunecore.trainables.trainable import Trainable

    params = {name: _Parameter(value) for name, value in kwargs.items()}
    if isinstance(trainable, types.FunctionType):
        _check_accepts(trainable, kwargs, trainable.__name__)
        takes_reporter = _takes_reporter_besides(trainable, kwargs)

        if takes_reporter:
            def inner(config: dict, reporter: Any) -> Any:
                return trainable(config, reporter, **{k: p.get() for k, p in params.items()})
        else:
            def inner(config: dict) -> Any:  # type: ignore[misc]
                return trainable(config, **{k: p.get() for k, p in params.items()})

        functools.update_wrapper(inner, trainable, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
        return inner
    if inspect.isclass(trainable) and issubclass(trainable, Trainable):
        hook = "setup" if _defines(trainable, "setup") else "_setup"
        _check_accepts(getattr(trainable, hook), kwargs, f"{trainable.__name__}.{hook}")

        def setup_with(self: Any, config: dict) -> None:
            getattr(trainable, hook)(self, config, **{k: p.get() for k, p in params.items()})

        return type(trainable.__name__, (trainable,), {hook: setup_with, "__module__": trainable.__module__,
                                                       "__qualname__": trainable.__qualname__})
    raise TuneError(f"with_parameters takes a function train(config) or a Trainable subclass, but got {trainable!r}")


def with_resources(trainable: Any, resources: Union[dict, Resources, Callable[[dict], Any]]) -> Any:
    """The trainable with the resources each of its trials reserves (used where the experiment
    gives no ``trial_resources``): a dict such as ``{"cpu": 2, "gpu": 1}`` (Ray's ``"CPU"``/``"GPU"``
    spellings too), or a function of the trial's config that returns one.

    Raises:
        TuneError: ``trainable`` is not a trainable, or ``resources`` not a valid request.
    """
    from tunecore.trainables.registry import trainable_name
    from tunecore.trainables.trainable import Trainable

    if not callable(resources):
        fixed = _resources(resources)  # refused now, before any trial starts

        def request(cls: type, config: dict) -> Resources:
            return fixed
    else:
        def request(cls: type, config: dict) -> Resources:
            return _resources(resources(config))

    if isinstance(trainable, types.FunctionType):
        from tunecore.trainables.function import wrap_function

        base: type = wrap_function(trainable, trainable_name(trainable))
    elif inspect.isclass(trainable) and issubclass(trainable, Trainable):
        base = trainable
    else:
        raise TuneError(f"with_resources takes a function train(config) or a Trainable subclass, but got {trainable!r}")
    return type(base.__name__, (base,), {"default_resource_request": classmethod(request),
                                         "__module__": base.__module__})


def _resources(value: Any) -> Resources:
    if isinstance(value, Resources):
        return value
    if not isinstance(value, dict):
        raise TuneError(f"with_resources needs a dict like {{'cpu': 2, 'gpu': 1}}, but got {value!r}")
    return Resources.from_json({str(k).lower(): v for k, v in value.items()})


def _defines(cls: type, name: str) -> bool:
    from tunecore.trainables.trainable import Trainable

    return getattr(cls, name, None) is not getattr(Trainable, name, None)


def _check_accepts(fn: Callable, kwargs: dict, what: str) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return
    if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    missing = [k for k in kwargs if k not in signature.parameters]
    if missing:
        raise TuneError(f"with_parameters: {what}{signature} takes no argument {missing[0]!r}; "
                        f"add it, e.g. def {getattr(fn, '__name__', 'train')}(config, {missing[0]}=None).")


def _takes_reporter_besides(fn: Callable, kwargs: dict) -> bool:
    """``fn(config, reporter, **kwargs)`` (2018) rather than ``fn(config, **kwargs)``."""
    params = [p for name, p in inspect.signature(fn).parameters.items() if name not in kwargs
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params) >= 2
