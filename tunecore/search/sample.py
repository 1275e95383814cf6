"""Sample domains: random hyperparameters, in Python (``tune.uniform(0, 1)``) and in JSON.

Each domain is an object variant generation replaces by a sample, drawn from the
generator's random number generator (so a ``seed`` makes runs repeatable). The same
domains are written in JSON/YAML specs as a dict with exactly one key::

    {"uniform": [0, 1]}          {"loguniform": [1e-4, 1e-1]}    {"quniform": [0, 10, 2.5]}
    {"randint": [0, 10]}         {"choice": ["sgd", "adam"]}     {"randn": [0, 1]}
    {"sample_from": "spec.config.lr * 2"}

The arguments may also be given by name: ``{"uniform": {"low": 0, "high": 1}}``.
Model-based searchers (``tune-optuna``) read the same objects to learn the search space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

from tunecore.errors import TuneError

__all__ = [
    "Domain",
    "Uniform",
    "LogUniform",
    "QUniform",
    "RandInt",
    "Choice",
    "RandN",
    "SampleFrom",
    "uniform",
    "loguniform",
    "quniform",
    "randint",
    "choice",
    "randn",
    "sample_from",
    "from_json",
    "is_domain_json",
]


def _number(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise TuneError(f"{name} must be a finite number, but got {name}={value!r}")
    return value


class Domain:
    """A distribution over values of one hyperparameter.

    Subclasses implement :meth:`sample` and :meth:`to_json`. ``sample`` receives a
    :class:`numpy.random.Generator` and, for :class:`SampleFrom`, the read-only view
    of the spec being resolved.
    """

    #: The JSON key of the domain (``"uniform"`` for ``{"uniform": [0, 1]}``).
    json_key: str = ""

    def sample(self, rng: np.random.Generator, spec: Any = None) -> Any:
        """One value drawn from the domain."""
        raise NotImplementedError

    def to_json(self) -> dict:
        """The single-key JSON form that :func:`from_json` reads back."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))

    def __repr__(self) -> str:
        return f"tune.{self.json_key}({', '.join(repr(a) for a in self.to_json()[self.json_key])})"


class Uniform(Domain):
    """A float drawn uniformly from ``[low, high)``."""

    json_key = "uniform"

    def __init__(self, low: float, high: float) -> None:
        self.low = _number("low", low)
        self.high = _number("high", high)
        if not low < high:
            raise TuneError(f"uniform needs low < high, but got low={low!r}, high={high!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        return float(rng.uniform(self.low, self.high))

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high]}


class LogUniform(Domain):
    """A float whose logarithm is uniform: ``low * (high/low) ** U(0, 1)``, for scales like 1e-4..1e-1."""

    json_key = "loguniform"

    def __init__(self, low: float, high: float, base: float = 10) -> None:
        self.low = _number("low", low)
        self.high = _number("high", high)
        self.base = _number("base", base)
        if not 0 < low < high:
            raise TuneError(f"loguniform needs 0 < low < high, but got low={low!r}, high={high!r}")
        if not base > 1:
            raise TuneError(f"loguniform needs base > 1, but got base={base!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        lo, hi = math.log(self.low, self.base), math.log(self.high, self.base)
        return float(min(max(self.base ** rng.uniform(lo, hi), self.low), self.high))

    def to_json(self) -> dict:
        args = [self.low, self.high] if self.base == 10 else [self.low, self.high, self.base]
        return {self.json_key: args}


class QUniform(Domain):
    """A uniform float rounded to a multiple of ``q``: ``round(U(low, high) / q) * q``."""

    json_key = "quniform"

    def __init__(self, low: float, high: float, q: float) -> None:
        self.low = _number("low", low)
        self.high = _number("high", high)
        self.q = _number("q", q)
        if not low < high:
            raise TuneError(f"quniform needs low < high, but got low={low!r}, high={high!r}")
        if not q > 0:
            raise TuneError(f"quniform needs q > 0, but got q={q!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        value = round(float(rng.uniform(self.low, self.high)) / self.q) * self.q
        # Round away float noise (0.1 * 3 -> 0.30000000000000004) to q's own precision.
        decimals = max(0, -int(math.floor(math.log10(abs(self.q)))) + 6)
        value = round(value, decimals)
        if isinstance(self.q, int) and isinstance(self.low, int) and isinstance(self.high, int):
            return int(value)
        return float(value)

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high, self.q]}


class RandInt(Domain):
    """An int drawn uniformly from ``low, ..., high - 1`` (``high`` excluded, like ``range``)."""

    json_key = "randint"

    def __init__(self, low: int, high: int) -> None:
        for name, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TuneError(f"randint needs integer bounds, but got {name}={value!r}")
        if not low < high:
            raise TuneError(f"randint needs low < high (high is excluded), but got low={low!r}, high={high!r}")
        self.low = int(low)
        self.high = int(high)

    def sample(self, rng: np.random.Generator, spec: Any = None) -> int:
        return int(rng.integers(self.low, self.high))

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high]}


class Choice(Domain):
    """One of ``categories``, each equally likely."""

    json_key = "choice"

    def __init__(self, categories: Sequence[Any]) -> None:
        if isinstance(categories, (str, bytes, dict)) or not isinstance(categories, Sequence) or not categories:
            raise TuneError(f"choice needs a non-empty list of categories, but got categories={categories!r}")
        self.categories = list(categories)

    def sample(self, rng: np.random.Generator, spec: Any = None) -> Any:
        import copy

        return copy.deepcopy(self.categories[int(rng.integers(len(self.categories)))])

    def to_json(self) -> dict:
        return {self.json_key: list(self.categories)}

    def __repr__(self) -> str:
        return f"tune.choice({self.categories!r})"


class RandN(Domain):
    """A float from the normal distribution with ``mean`` and standard deviation ``sd``."""

    json_key = "randn"

    def __init__(self, mean: float = 0.0, sd: float = 1.0) -> None:
        self.mean = _number("mean", mean)
        self.sd = _number("sd", sd)
        if not sd > 0:
            raise TuneError(f"randn needs sd > 0, but got sd={sd!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        return float(rng.normal(self.mean, self.sd))

    def to_json(self) -> dict:
        return {self.json_key: [self.mean, self.sd]}


class SampleFrom(Domain):
    """A value computed by ``func(spec)``, which may read other values (``spec.config.lr``).

    ``func`` may also be a Python expression string (the JSON form), evaluated like
    ``{"eval": ...}``: with ``spec``, ``np`` and ``random`` in scope.
    """

    json_key = "sample_from"

    def __init__(self, func: Callable[[Any], Any] | str) -> None:
        if not (callable(func) or isinstance(func, str)):
            raise TuneError(f"sample_from needs a function of spec or an expression string, but got func={func!r}")
        self.func = func

    def sample(self, rng: np.random.Generator, spec: Any = None) -> Any:
        if isinstance(self.func, str):
            from tunecore.search.variants import eval_expression

            return eval_expression(self.func, spec)
        from tunecore.search.variants import call_with_spec

        return call_with_spec(self.func, spec)

    def to_json(self) -> dict:
        if not isinstance(self.func, str):
            raise TuneError("sample_from(<function>) has no JSON form; write the expression as a string")
        return {self.json_key: self.func}

    def __repr__(self) -> str:
        return f"tune.sample_from({self.func!r})"


def uniform(low: float, high: float) -> Uniform:
    """A float drawn uniformly from ``[low, high)``."""
    return Uniform(low, high)


def loguniform(low: float, high: float, base: float = 10) -> LogUniform:
    """A float between ``low`` and ``high`` whose logarithm is uniform (learning rates)."""
    return LogUniform(low, high, base)


def quniform(low: float, high: float, q: float) -> QUniform:
    """A uniform float rounded to a multiple of ``q`` (ints when all arguments are ints)."""
    return QUniform(low, high, q)


def randint(low: int, high: int) -> RandInt:
    """An int in ``[low, high)``."""
    return RandInt(low, high)


def choice(categories: Sequence[Any]) -> Choice:
    """One of ``categories``."""
    return Choice(categories)


def randn(mean: float = 0.0, sd: float = 1.0) -> RandN:
    """A normally distributed float."""
    return RandN(mean, sd)


def sample_from(func: Callable[[Any], Any] | str) -> SampleFrom:
    """A value computed by ``func(spec)`` at variant generation (may read other values)."""
    return SampleFrom(func)


_JSON_FACTORIES: dict[str, Callable[..., Domain]] = {
    "uniform": Uniform,
    "loguniform": LogUniform,
    "quniform": QUniform,
    "randint": RandInt,
    "choice": Choice,
    "randn": RandN,
    "sample_from": SampleFrom,
}


def is_domain_json(value: Any) -> bool:
    """True for a dict with exactly one key naming a domain, e.g. ``{"uniform": [0, 1]}``."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _JSON_FACTORIES


def from_json(value: Any, where: str = "") -> Optional[Domain]:
    """The domain a single-key JSON dict describes, or None if ``value`` is not one.

    Args:
        value: e.g. ``{"loguniform": [1e-4, 1e-1]}`` or ``{"randn": {"mean": 0, "sd": 2}}``.
        where: the path of the value, for error messages.

    Raises:
        TuneError: the key names a domain but its arguments are wrong.
    """
    if not is_domain_json(value):
        return None
    (key, args), = value.items()
    at = f" at {where}" if where else ""
    try:
        if key == "choice":
            return Choice(args)
        if key == "sample_from":
            return SampleFrom(args)
        if args is None:
            return _JSON_FACTORIES[key]()
        if isinstance(args, dict):
            return _JSON_FACTORIES[key](**args)
        if isinstance(args, (list, tuple)):
            return _JSON_FACTORIES[key](*args)
        return _JSON_FACTORIES[key](args)
    except TuneError as exc:
        raise TuneError(f"Bad {{{key!r}: ...}}{at}: {exc}") from None
    except TypeError as exc:
        examples = {"uniform": "[0, 1]", "loguniform": "[1e-4, 1e-1]", "quniform": "[0, 10, 2]",
                    "randint": "[0, 10]", "randn": "[0, 1]"}
        raise TuneError(
            f"Bad {{{key!r}: {args!r}}}{at}: {exc}. Example: {{\"{key}\": {examples.get(key, '[...]')}}}"
        ) from None
