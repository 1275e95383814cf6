"""Hypothesis strategies for the values users really report (needs hypothesis).

Numpy scalars of every dtype, 0-d and small arrays, NaN and ±inf, None, nested dicts,
lists, unicode strings, very large ints and datetimes: what a training loop hands to
``reporter(...)``. The conformance suites push these through every scheduler and logger.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

NUMPY_FLOATS = (np.float16, np.float32, np.float64)
NUMPY_INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
#: Every numeric type a metric may have, for :func:`as_kind` ("0-d": a 0-d numpy array).
NUMERIC_KINDS = (int, float, *NUMPY_FLOATS, *NUMPY_INTS, "0-d")


def as_kind(kind: Any, x: float) -> Any:
    """``x`` as a number of ``kind`` (one of :data:`NUMERIC_KINDS`); ints rounded and clipped
    to the dtype's range."""
    if kind == "0-d":
        return np.array(np.float32(x))
    if kind is int or kind in NUMPY_INTS:
        number = int(round(x))
        if kind is int:
            return number
        info = np.iinfo(kind)
        return kind(min(int(info.max), max(int(info.min), number)))
    return kind(x)


def metric_values() -> Any:
    """Numbers a metric can be: Python and numpy ints and floats of every dtype, NaN, ±inf, 0-d arrays."""
    from hypothesis import strategies as st

    floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
    numpy_floats = st.builds(lambda t, x: t(x), st.sampled_from(NUMPY_FLOATS), st.floats(-6e4, 6e4))
    numpy_ints = st.builds(_numpy_int, st.sampled_from(NUMPY_INTS), st.integers(-(2 ** 64), 2 ** 64))
    zero_d = st.builds(np.array, st.floats(allow_nan=True, allow_infinity=True))
    nonfinite = st.sampled_from([float("nan"), float("inf"), float("-inf"), np.float16("nan"),
                                 np.float32("inf"), np.float64("-inf"), np.float64("nan")])
    return st.one_of(st.integers(-(2 ** 53), 2 ** 53), floats, numpy_floats, numpy_ints, zero_d, nonfinite)


def _numpy_int(dtype: Any, x: int) -> Any:
    info = np.iinfo(dtype)
    return dtype(min(info.max, max(info.min, x)))


def reported_values() -> Any:
    """Any one value a user may report, nested dicts and lists included."""
    from hypothesis import strategies as st

    leaves = st.one_of(
        metric_values(),
        st.none(),
        st.booleans(),
        st.builds(np.bool_, st.booleans()),
        st.integers(-(2 ** 100), 2 ** 100),
        st.text(max_size=12),
        st.datetimes(min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(2200, 1, 1)),
        st.builds(lambda xs: np.array(xs, dtype=np.float64), st.lists(st.floats(), max_size=4)),
        st.builds(lambda xs: np.array(xs, dtype=np.int32), st.lists(st.integers(-1000, 1000), max_size=4)),
    )
    keys = _keys()
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                        max_leaves=8)


def result_dicts(*, required: tuple = ()) -> Any:
    """A result dict of user-reported values; ``required`` keys always hold a metric value."""
    from hypothesis import strategies as st

    keys = _keys().filter(lambda k: k not in required)
    base = st.dictionaries(keys, reported_values(), max_size=6)
    if not required:
        return base
    return st.tuples(base, st.fixed_dictionaries({k: metric_values() for k in required})).map(
        lambda pair: {**pair[0], **pair[1]})


def _keys() -> Any:
    """Metric names: any printable unicode, no ``/`` (the separator of flattened keys)."""
    from hypothesis import strategies as st

    return st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"),
                   min_size=1, max_size=10).filter(lambda k: k not in _RESERVED)


#: make_result's own parameter names: a metric of that name could not be passed as a keyword.
_RESERVED = frozenset({"trial", "iteration"})
