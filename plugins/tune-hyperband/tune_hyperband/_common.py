"""Shared pieces of the two HyperBand schedulers: argument checks and rung arithmetic."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Optional

from tunecore.errors import TuneError
from tunecore.util import as_float, plain

#: Relative slack when comparing milestones computed with floats (``10 * 3**2 <= 90``).
_EPS = 1e-9


def check_positive(name: str, value: Any) -> None:
    """Refuse a value that is not a number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TuneError(f"{name} must be a number > 0, but got {name}={value!r}")


def check_reduction_factor(value: Any) -> None:
    """Refuse a reduction factor that is not a number > 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 1:
        raise TuneError(f"reduction_factor must be a number > 1, but got reduction_factor={value!r}")


def check_brackets(value: Any, allow_none: bool = False) -> None:
    """Refuse a bracket count that is not an int >= 1."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TuneError(f"brackets must be an int >= 1, but got brackets={value!r}")


def check_time_attr(value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise TuneError(f"time_attr must be a non-empty string, but got time_attr={value!r}")


def max_brackets(max_t: float, grace_period: float, eta: float) -> int:
    """How many brackets fit: 1 + the largest ``s`` with ``grace_period * eta**s <= max_t``.

    Computed by repeated multiplication rather than ``log`` so that exact powers
    (``log(1000)/log(10) == 2.9999...``) are not lost to rounding.
    """
    count, milestone = 0, float(grace_period)
    while milestone <= max_t * (1 + _EPS):
        count += 1
        milestone *= eta
    return max(count, 1)


def milestones(grace_period: float, max_t: float, eta: float, s: int) -> list[float]:
    """ASHA rung milestones of bracket ``s``: ``grace_period * eta**(k+s) <= max_t``, ascending."""
    out: list[float] = []
    k = s
    while True:
        m = grace_period * eta ** k
        if m > max_t * (1 + _EPS):
            return out
        out.append(_tidy(m))
        k += 1


def _tidy(x: float) -> float:
    """``9.000000000000002`` -> ``9``; other values unchanged."""
    r = round(x)
    return r if abs(x - r) <= _EPS * max(1.0, abs(x)) else x


def time_of(result: dict, attr: str) -> Optional[float]:
    """``result[attr]`` as a Python number, or None when it cannot place the result in time.

    Python and numpy numbers alike (and 0-d arrays); None when the key is missing or
    holds None, NaN, a bool or anything but a real number. Ints stay ints (milestones
    print as ``Iter 9``) unless beyond 2**53, where they become floats (±inf past
    float's range).
    """
    value = plain(result.get(attr))
    if type(value) is int and -2 ** 53 <= value <= 2 ** 53:
        return value
    number = as_float(value)
    return None if number is None or number != number else number




def percentile(values: Sequence[Optional[float]], q: float) -> Optional[float]:
    """The ``q``-th percentile (0..100, linear interpolation, as numpy's default); None if empty.

    None and NaN values are left out. Infinite values take part as the extremes they
    are: between ``-inf`` and a finite neighbour the percentile is ``-inf``, between a
    finite one and ``inf`` it is ``inf`` (plain interpolation would give NaN).
    """
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    low, high, fraction = vals[lo], vals[hi], pos - lo
    if fraction == 0 or low == high:
        return low
    if math.isinf(low):
        return low
    if math.isinf(high):
        return high
    if math.isinf(high - low):  # two finite values more than DBL_MAX apart
        return low * (1 - fraction) + high * fraction
    return low + (high - low) * fraction


def fmt(value: Optional[float]) -> str:
    """A cut-off for the status table: 4 significant digits, or ``None``."""
    return "None" if value is None else f"{value:.4g}"


class MaxTBudget:
    """``reached_budget`` of the schedulers here: a result at ``time_attr >= max_t`` used the whole budget."""

    _time_attr: str
    _max_t: float

    def reached_budget(self, result: dict) -> bool:
        t = time_of(result, self._time_attr)
        return t is not None and t >= self._max_t


def check_grace_period(grace_period: float, max_t: float) -> None:
    """``grace_period`` positive and at most ``max_t``."""
    check_positive("grace_period", grace_period)
    if grace_period > max_t:
        raise TuneError(f"grace_period must be <= max_t (max_t={max_t}), but got grace_period={grace_period}")
