"""The trainable registry: names to Trainable classes, on the driver."""

from __future__ import annotations

import importlib
import inspect
import types
from typing import TYPE_CHECKING, Any

from tunecore.errors import TuneError

if TYPE_CHECKING:
    from tunecore.trainables.trainable import Trainable

_trainables: dict[str, type[Trainable]] = {}


def _wrap(name: str, trainable: Any) -> type[Trainable]:
    from tunecore.trainables.function import wrap_function
    from tunecore.trainables.trainable import Trainable

    if isinstance(trainable, types.FunctionType):
        check_function_signature(name, trainable)
        return wrap_function(trainable, name)
    if inspect.isclass(trainable) and issubclass(trainable, Trainable):
        try:
            trainable.check_api()
        except TuneError as exc:
            raise TypeError(f"Cannot register {name!r}: {exc}") from None
        return trainable
    if inspect.isclass(trainable):
        raise TypeError(
            f"Cannot register {name!r}: the class {trainable.__name__} is not a subclass of "
            "tunecore.Trainable. Subclass Trainable, or register a function train(config)."
        )
    raise TypeError(
        f"Cannot register {name!r}: {trainable!r} is neither a function train(config) (or the 2018 "
        "train(config, reporter)) nor a Trainable subclass (functools.partial objects and instances "
        "are not accepted; wrap them in a def, or use tunecore.with_parameters)."
    )


def check_function_signature(name: str, fn: types.FunctionType) -> None:
    """Refuse, with the accepted forms, a function that can be called neither as ``fn(config)``
    (Ray Tune 2.x, reporting with ``tunecore.report``) nor as ``fn(config, reporter)`` (2018)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - builtins have no signature; let them run
        return
    for args in ((object(),), (object(), object())):
        try:
            signature.bind(*args)
            return
        except TypeError:
            continue
    raise TypeError(
        f"Cannot use {name!r} as a trainable: the function {fn.__qualname__}{signature} can be called "
        f"neither as {fn.__name__}(config) nor as {fn.__name__}(config, reporter). A function trainable "
        "takes the config, def train(config): ... tunecore.report({'mean_accuracy': acc}); or "
        "subclass tunecore.Trainable."
    ) from None


def register_trainable(name: str, trainable: Any) -> None:
    """Register a function ``train(config)`` (or ``train(config, reporter)``) or a Trainable subclass as ``name``.

    Re-registering a name replaces the earlier entry.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_trainable needs a non-empty string name, got {name!r}")
    _trainables[name] = _wrap(name, trainable)


def has_trainable(name: str) -> bool:
    return name in _trainables


def get_trainable_cls(name: str) -> type[Trainable]:
    """The Trainable class for ``name``; a ``module:attr`` import path is loaded and registered."""
    if name in _trainables:
        return _trainables[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise TuneError(
                f"Unknown trainable {name!r}: could not import it ({type(exc).__name__}: {exc}). "
                "Use 'package.module:attribute' with the module importable on the driver."
            ) from None
        try:
            register_trainable(name, obj)
        except TypeError as exc:
            raise TuneError(f"Unknown trainable {name!r}: {exc}") from None
        return _trainables[name]
    known = ", ".join(sorted(n for n in _trainables if ":" not in n)) or "(none)"
    raise TuneError(
        f"Unknown trainable {name!r}. Registered trainables: {known}. Call "
        f"tunecore.register_trainable({name!r}, fn_or_class) first, pass the function or class "
        "itself as 'run', or (in a spec file) give an import path 'package.module:attribute'."
    )


def trainable_name(run: Any) -> str:
    """Register ``run`` if it is a function/class and return the name to refer to it by."""
    if isinstance(run, str):
        return run
    if isinstance(run, types.FunctionType) and run.__name__ == "<lambda>":
        raise TuneError(
            "'run' is a lambda: register it first with tunecore.register_trainable('my_name', "
            "lambda config: ...) and pass 'my_name' as run."
        )
    if isinstance(run, types.FunctionType) or inspect.isclass(run):
        name = run.__name__
        try:
            register_trainable(name, run)
        except TypeError as exc:
            raise TuneError(f"Improper 'run': {exc}") from None
        return name
    raise TuneError(
        f"Improper 'run' {run!r}: not a string nor a trainable. Give a registered name, a function "
        "train(config), or a Trainable subclass."
    )
