"""Sample domains: random hyperparameters, in Python (``tune.uniform(0, 1)``) and in JSON.

Each domain is an object variant generation replaces by a sample, drawn from the
generator's random number generator (so a ``seed`` makes runs repeatable). The same
domains are written in JSON/YAML specs as a dict with exactly one key::

    {"uniform": [0, 1]}          {"loguniform": [1e-4, 1e-1]}    {"quniform": [0, 10, 2.5]}
    {"randint": [0, 10]}         {"choice": ["sgd", "adam"]}     {"randn": [0, 1]}
    {"qrandint": [0, 100, 5]}    {"lograndint": [1, 1000]}       {"qlograndint": [8, 1024, 8]}
    {"qloguniform": [1e-4, 1e-1, 5e-5]}                          {"qrandn": [0, 1, 0.1]}
    {"sample_from": "spec.config.lr * 2"}

The arguments may also be given by name: ``{"uniform": {"low": 0, "high": 1}}``. The
Python functions take Ray Tune 2.x's names and semantics (``tune.uniform(lower, upper)``,
``tune.qrandint(lower, upper, q)`` with ``upper`` included, ...). Quantized domains draw
multiples of ``q``; :meth:`Domain.is_valid` says whether a value could have been drawn.
Model-based searchers (``tune-optuna``) read the same objects to learn the search space.
"""

from __future__ import annotations

import decimal
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
    "QLogUniform",
    "RandInt",
    "QRandInt",
    "LogRandInt",
    "QLogRandInt",
    "Choice",
    "RandN",
    "QRandN",
    "SampleFrom",
    "uniform",
    "loguniform",
    "quniform",
    "qloguniform",
    "randint",
    "qrandint",
    "lograndint",
    "qlograndint",
    "choice",
    "randn",
    "qrandn",
    "sample_from",
    "from_json",
    "is_domain_json",
]


def _number(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise TuneError(f"{name} must be a finite number, but got {name}={value!r}")
    return value


def _integer(name: str, value: Any, domain: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TuneError(f"{domain} needs integer arguments, but got {name}={value!r}")
    return int(value)


def _base(domain: str, base: Any) -> Any:
    base = _number("base", base)
    if not base > 1:
        raise TuneError(f"{domain} needs base > 1, but got base={base!r}")
    return base


def _q_decimals(q: float) -> int:
    """The decimals of ``q`` as written (0.1: 1, 5e-05: 5, 1.8515625: 7, 1/12: 17; ints: 0).

    Rounding ``k * q`` to them removes float noise (0.1 * 3 -> 0.30000000000000004 -> 0.3)
    and keeps every digit of ``q``, so the result is still a multiple of ``q``.
    """
    exponent = decimal.Decimal(repr(float(q))).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _float_multiples(low: float, high: float, q: float, domain: str) -> tuple[int, int]:
    """``(k_lo, k_hi)``: the multiples ``k * q`` inside ``[low, high]``; an error if there is none."""
    k_lo, k_hi = math.ceil(low / q - 1e-9), math.floor(high / q + 1e-9)
    if k_lo > k_hi:
        raise TuneError(f"{domain} needs a multiple of q between low and high, but got low={low!r}, "
                        f"high={high!r}, q={q!r}")
    return k_lo, k_hi


def _int_multiples(low: int, high: int, q: int, domain: str) -> tuple[int, int]:
    k_lo, k_hi = -(-low // q), high // q
    if k_lo > k_hi:
        raise TuneError(f"{domain} needs a multiple of q between low and high, but got low={low!r}, "
                        f"high={high!r}, q={q!r}")
    return k_lo, k_hi


def _is_float(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                                    and float(value).is_integer())


def _is_multiple(value: float, q: float) -> bool:
    k = value / q
    return math.isclose(k, round(k), rel_tol=1e-9, abs_tol=1e-6)


def _same(value: Any, category: Any) -> bool:
    """``value == category`` for a category check: numbers by value (1 == 1.0), other types must match."""
    if _is_float(value) and _is_float(category):
        return bool(value == category)
    if type(value) is not type(category):
        return False
    try:
        return bool(value == category)
    except Exception:  # e.g. arrays, whose == is elementwise
        return value is category


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

    def is_valid(self, value: Any) -> bool:
        """Whether ``value`` is one the domain could draw (always True for :class:`SampleFrom`)."""
        return True

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

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and self.low <= value <= self.high


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

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and self.low <= value <= self.high


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
        value = round(value, _q_decimals(self.q))
        if isinstance(self.q, int) and isinstance(self.low, int) and isinstance(self.high, int):
            return int(value)
        return float(value)

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high, self.q]}

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and _is_multiple(value, self.q) and \
            self.low - abs(self.q) / 2 <= value <= self.high + abs(self.q) / 2


class QLogUniform(Domain):
    """A log-uniform float rounded to a multiple of ``q``, ``high`` included (Ray's ``qloguniform``).

    Drawn log-uniformly between the first and the last multiple of ``q`` inside
    ``[low, high]``, then rounded to the nearest multiple.
    """

    json_key = "qloguniform"

    def __init__(self, low: float, high: float, q: float, base: float = 10) -> None:
        self.low = _number("low", low)
        self.high = _number("high", high)
        self.q = _number("q", q)
        self.base = _base("qloguniform", base)
        if not 0 < low < high:
            raise TuneError(f"qloguniform needs 0 < low < high, but got low={low!r}, high={high!r}")
        if not q > 0:
            raise TuneError(f"qloguniform needs q > 0, but got q={q!r}")
        self._k = _float_multiples(low, high, q, "qloguniform")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        lo, hi = self._k[0] * self.q, self._k[1] * self.q
        value = self.base ** rng.uniform(math.log(lo, self.base), math.log(hi, self.base))
        k = min(max(round(value / self.q), self._k[0]), self._k[1])
        return float(round(k * self.q, _q_decimals(self.q)))

    def to_json(self) -> dict:
        args = [self.low, self.high, self.q] + ([] if self.base == 10 else [self.base])
        return {self.json_key: args}

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and _is_multiple(value, self.q) and \
            self._k[0] <= round(value / self.q) <= self._k[1]


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

    def is_valid(self, value: Any) -> bool:
        return _is_int(value) and self.low <= value < self.high


class QRandInt(Domain):
    """An int drawn uniformly from the multiples of ``q`` in ``[low, high]``: ``high`` is *included*.

    Ray's ``qrandint``: unlike :class:`RandInt`, the upper bound is inclusive.
    """

    json_key = "qrandint"

    def __init__(self, low: int, high: int, q: int = 1) -> None:
        self.low = _integer("low", low, "qrandint")
        self.high = _integer("high", high, "qrandint")
        self.q = _integer("q", q, "qrandint")
        if not self.low <= self.high:  # high is included: qrandint(5, 5) is always 5, as in Ray
            raise TuneError(f"qrandint needs low <= high (high is included), but got low={low!r}, high={high!r}")
        if not self.q >= 1:
            raise TuneError(f"qrandint needs q >= 1, but got q={q!r}")
        self._k = _int_multiples(self.low, self.high, self.q, "qrandint")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> int:
        return int(rng.integers(self._k[0], self._k[1] + 1)) * self.q

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high] + ([] if self.q == 1 else [self.q])}

    def is_valid(self, value: Any) -> bool:
        return _is_int(value) and int(value) % self.q == 0 and self.low <= value <= self.high


class LogRandInt(Domain):
    """An int in ``[low, high)`` (``high`` excluded) whose logarithm is uniform (Ray's ``lograndint``)."""

    json_key = "lograndint"

    def __init__(self, low: int, high: int, base: float = 10) -> None:
        self.low = _integer("low", low, "lograndint")
        self.high = _integer("high", high, "lograndint")
        self.base = _base("lograndint", base)
        if not 0 < self.low < self.high:
            raise TuneError(f"lograndint needs 0 < low < high (high is excluded), but got low={low!r}, high={high!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> int:
        value = self.base ** rng.uniform(math.log(self.low, self.base), math.log(self.high, self.base))
        return min(max(int(math.floor(value)), self.low), self.high - 1)

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high] + ([] if self.base == 10 else [self.base])}

    def is_valid(self, value: Any) -> bool:
        return _is_int(value) and self.low <= value < self.high


class QLogRandInt(Domain):
    """A log-uniform int rounded to a multiple of ``q``, ``high`` *included* (Ray's ``qlograndint``)."""

    json_key = "qlograndint"

    def __init__(self, low: int, high: int, q: int, base: float = 10) -> None:
        self.low = _integer("low", low, "qlograndint")
        self.high = _integer("high", high, "qlograndint")
        self.q = _integer("q", q, "qlograndint")
        self.base = _base("qlograndint", base)
        if not 0 < self.low <= self.high:  # high is included, as for qrandint
            raise TuneError(f"qlograndint needs 0 < low <= high (high is included), but got low={low!r}, "
                            f"high={high!r}")
        if not self.q >= 1:
            raise TuneError(f"qlograndint needs q >= 1, but got q={q!r}")
        self._k = _int_multiples(self.low, self.high, self.q, "qlograndint")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> int:
        lo, hi = self._k[0] * self.q, self._k[1] * self.q
        value = self.base ** rng.uniform(math.log(lo, self.base), math.log(hi, self.base))
        return min(max(int(round(value / self.q)), self._k[0]), self._k[1]) * self.q

    def to_json(self) -> dict:
        return {self.json_key: [self.low, self.high, self.q] + ([] if self.base == 10 else [self.base])}

    def is_valid(self, value: Any) -> bool:
        return _is_int(value) and int(value) % self.q == 0 and self.low <= value <= self.high


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

    def is_valid(self, value: Any) -> bool:
        return any(_same(value, c) for c in self.categories)

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

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and math.isfinite(float(value))


class QRandN(Domain):
    """A normal float rounded to a multiple of ``q``: ``round(N(mean, sd) / q) * q`` (Ray's ``qrandn``)."""

    json_key = "qrandn"

    def __init__(self, mean: float, sd: float, q: float) -> None:
        self.mean = _number("mean", mean)
        self.sd = _number("sd", sd)
        self.q = _number("q", q)
        if not sd > 0:
            raise TuneError(f"qrandn needs sd > 0, but got sd={sd!r}")
        if not q > 0:
            raise TuneError(f"qrandn needs q > 0, but got q={q!r}")

    def sample(self, rng: np.random.Generator, spec: Any = None) -> float:
        value = round(float(rng.normal(self.mean, self.sd)) / self.q) * self.q
        return float(round(value, _q_decimals(self.q)))

    def to_json(self) -> dict:
        return {self.json_key: [self.mean, self.sd, self.q]}

    def is_valid(self, value: Any) -> bool:
        return _is_float(value) and math.isfinite(float(value)) and _is_multiple(value, self.q)


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


def uniform(lower: float, upper: float) -> Uniform:
    """A float drawn uniformly from ``[lower, upper)``."""
    return Uniform(lower, upper)


def loguniform(lower: float, upper: float, base: float = 10) -> LogUniform:
    """A float between ``lower`` and ``upper`` whose logarithm is uniform (learning rates)."""
    return LogUniform(lower, upper, base)


def quniform(lower: float, upper: float, q: float) -> QUniform:
    """A uniform float rounded to a multiple of ``q`` (ints when all arguments are ints)."""
    return QUniform(lower, upper, q)


def qloguniform(lower: float, upper: float, q: float, base: float = 10) -> QLogUniform:
    """A log-uniform float rounded to a multiple of ``q``; ``upper`` is included."""
    return QLogUniform(lower, upper, q, base)


def randint(lower: int, upper: int) -> RandInt:
    """An int in ``[lower, upper)``."""
    return RandInt(lower, upper)


def qrandint(lower: int, upper: int, q: int = 1) -> QRandInt:
    """An int multiple of ``q`` in ``[lower, upper]``: ``upper`` is included, unlike :func:`randint`."""
    return QRandInt(lower, upper, q)


def lograndint(lower: int, upper: int, base: float = 10) -> LogRandInt:
    """An int in ``[lower, upper)`` whose logarithm is uniform."""
    return LogRandInt(lower, upper, base)


def qlograndint(lower: int, upper: int, q: int, base: float = 10) -> QLogRandInt:
    """A log-uniform int rounded to a multiple of ``q`` in ``[lower, upper]`` (``upper`` included)."""
    return QLogRandInt(lower, upper, q, base)


def choice(categories: Sequence[Any]) -> Choice:
    """One of ``categories``."""
    return Choice(categories)


def randn(mean: float = 0.0, sd: float = 1.0) -> RandN:
    """A normally distributed float."""
    return RandN(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> QRandN:
    """A normally distributed float rounded to a multiple of ``q``."""
    return QRandN(mean, sd, q)


def sample_from(func: Callable[[Any], Any] | str) -> SampleFrom:
    """A value computed by ``func(spec)`` at variant generation (may read other values)."""
    return SampleFrom(func)


_JSON_FACTORIES: dict[str, Callable[..., Domain]] = {
    "uniform": Uniform,
    "loguniform": LogUniform,
    "quniform": QUniform,
    "qloguniform": QLogUniform,
    "randint": RandInt,
    "qrandint": QRandInt,
    "lograndint": LogRandInt,
    "qlograndint": QLogRandInt,
    "choice": Choice,
    "randn": RandN,
    "qrandn": QRandN,
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
                    "randint": "[0, 10]", "randn": "[0, 1]", "qloguniform": "[1e-4, 1e-1, 1e-4]",
                    "qrandint": "[0, 100, 5]", "lograndint": "[1, 1000]", "qlograndint": "[8, 1024, 8]",
                    "qrandn": "[0, 1, 0.1]"}
        raise TuneError(
            f"Bad {{{key!r}: {args!r}}}{at}: {exc}. Example: {{\"{key}\": {examples.get(key, '[...]')}}}"
        ) from None
