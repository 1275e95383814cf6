"""Pareto arithmetic for several objectives: dominance, non-dominated sorting, spread, hypervolume.

Every function here takes points as an ``(n, d)`` array-like of floats where **lower is better
in every column** (:func:`minimized` turns values with ``"min"``/``"max"`` modes into that) and
returns plain Python/numpy values. Points must be finite; callers drop the rest first
(:func:`finite_rows`). Pure numpy, no Ray: used by :class:`tunecore.ResultGrid`,
:class:`tunecore.Analysis`, ``tune ls``, the dashboard and the multi-objective schedulers.

- :func:`non_dominated_sort`: the fronts, best first (Deb et al. 2002, NSGA-II).
- :func:`crowding_distance` and :func:`epsnet_order`: two ways to order the points of one front so
  that the first ones spread along it (NSGA-II's crowding distance; the greedy ε-net of
  Schmucker et al. 2021, "Multi-objective Asynchronous Successive Halving").
- :func:`rank_order`: every point, front by front, each front in its tie-break order: what a
  multi-objective successive-halving rung promotes the head of.
- :func:`hypervolume`: the exact volume dominated by the points and bounded by a reference point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

__all__ = [
    "TIE_BREAKS",
    "crowding_distance",
    "dominates",
    "epsnet_order",
    "finite_rows",
    "front_indices",
    "hypervolume",
    "is_feasible",
    "minimized",
    "non_dominated_sort",
    "pareto_trials",
    "pareto_mask",
    "rank_order",
]

#: The tie-breaks :func:`rank_order` knows.
TIE_BREAKS = ("epsnet", "crowding")


def _points(points: Any) -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if array.size else array.reshape(0, 1)
    if array.ndim != 2:
        raise ValueError(f"points must be an (n, d) array of objective values, but got shape {array.shape}")
    return array


def minimized(values: Any, modes: Sequence[str]) -> np.ndarray:
    """``values`` (one row a point, one column an objective) signed so that lower is better in each.

    Raises:
        ValueError: a mode other than ``"min"``/``"max"``, or a column count other than ``len(modes)``.
    """
    array = _points(values)
    if array.shape[1] != len(modes) and array.shape[0]:
        raise ValueError(f"{len(modes)} modes for points of {array.shape[1]} objectives")
    signs = []
    for mode in modes:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', but got {mode!r}")
        signs.append(-1.0 if mode == "max" else 1.0)
    return array * np.asarray(signs) if array.shape[0] else array.reshape(0, len(modes))


def finite_rows(values: Any) -> np.ndarray:
    """A boolean mask of the rows whose every value is finite (no NaN, no infinity)."""
    array = _points(values)
    return np.all(np.isfinite(array), axis=1)


def is_feasible(row: Any, constraints: Sequence[str]) -> bool:
    """True when every named constraint in ``row`` is a number ``<= 0`` (missing, NaN or not a
    number: infeasible). Nested keys as ``"a/b"``; numpy numbers count."""
    from tunecore.util import as_float, lookup_metric

    for key in constraints:
        value = as_float(lookup_metric(row, key))
        if value is None or math.isnan(value) or value > 0:
            return False
    return True


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a`` is no worse than ``b`` in every objective and better in one (lower is better)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(x <= y) and np.any(x < y))


def _dominance(points: np.ndarray) -> np.ndarray:
    """``d[i, j]``: point i dominates point j."""
    le = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    lt = np.any(points[:, None, :] < points[None, :, :], axis=2)
    return le & lt


def non_dominated_sort(points: Any) -> list[list[int]]:
    """The fronts of ``points``: indices of the non-dominated ones first, then of those only they
    dominate, and so on. Equal points share a front; every index appears once, in ascending order
    within its front."""
    array = _points(points)
    n = array.shape[0]
    if n == 0:
        return []
    dominated_by = _dominance(array)  # [i, j]: i dominates j
    count = dominated_by.sum(axis=0)  # how many points dominate j
    fronts: list[list[int]] = []
    current = np.flatnonzero(count == 0)
    while current.size:
        fronts.append([int(i) for i in current])
        count = count - dominated_by[current].sum(axis=0)
        count[current] = -1  # placed
        current = np.flatnonzero(count == 0)
    return fronts


def pareto_mask(points: Any) -> np.ndarray:
    """A boolean mask of the non-dominated points."""
    array = _points(points)
    mask = np.zeros(array.shape[0], dtype=bool)
    fronts = non_dominated_sort(array)
    if fronts:
        mask[fronts[0]] = True
    return mask


def crowding_distance(points: Any) -> np.ndarray:
    """NSGA-II's crowding distance of each point of one front (larger: more isolated).

    The extremes of each objective get infinity; an objective with one value adds nothing.
    """
    array = _points(points)
    n, d = array.shape
    distance = np.zeros(n)
    if n <= 2:
        distance[:] = math.inf
        return distance
    for k in range(d):
        order = np.argsort(array[:, k], kind="stable")
        column = array[order, k]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span <= 0:
            continue
        distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance


def _normalized(array: np.ndarray) -> np.ndarray:
    low, high = array.min(axis=0), array.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (array - low) / span


def epsnet_order(points: Any) -> list[int]:
    """The points of one front in greedy ε-net order: each next point the farthest (in the
    objective space scaled to [0, 1] per objective) from those already taken.

    Starts from the point best in the first objective (the lowest index among equals), so the
    head of the order covers the front evenly, whatever its shape.
    """
    array = _points(points)
    n = array.shape[0]
    if n == 0:
        return []
    scaled = _normalized(array)
    first = int(np.lexsort(scaled.T[::-1])[0])
    order = [first]
    nearest = np.linalg.norm(scaled - scaled[first], axis=1)
    nearest[first] = -1.0
    for _ in range(n - 1):
        nxt = int(np.argmax(nearest))
        order.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(scaled - scaled[nxt], axis=1))
        nearest[order] = -1.0
    return order


def rank_order(points: Any, tie_break: str = "epsnet") -> list[int]:
    """Every index of ``points``, best first: front by front, each front ordered by ``tie_break``
    (``"epsnet"``: :func:`epsnet_order`; ``"crowding"``: descending :func:`crowding_distance`,
    ties by index)."""
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break must be one of {list(TIE_BREAKS)}, but got {tie_break!r}")
    array = _points(points)
    order: list[int] = []
    for front in non_dominated_sort(array):
        sub = array[front]
        if tie_break == "epsnet":
            local = epsnet_order(sub)
        else:
            crowd = crowding_distance(sub)
            local = sorted(range(len(front)), key=lambda i: (-crowd[i], i))
        order.extend(front[i] for i in local)
    return order


def hypervolume(points: Any, reference: Sequence[float]) -> float:
    """The volume of objective space dominated by ``points`` and dominating ``reference``.

    Exact (a sweep in 2-D, slicing by the last objective above that). Points not strictly better
    than the reference in every objective add nothing.

    Raises:
        ValueError: a reference of another dimension than the points, or not finite.
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    array = _points(points)
    if array.shape[0] and array.shape[1] != ref.size:
        raise ValueError(f"a reference point of {ref.size} values for points of {array.shape[1]} objectives")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"the reference point must be finite, but got {list(ref)}")
    if array.shape[0] == 0:
        return 0.0
    array = array[np.all(array < ref, axis=1)]
    if array.shape[0] == 0:
        return 0.0
    array = array[pareto_mask(array)]
    return float(_hv(np.unique(array, axis=0), ref))


def _hv(points: np.ndarray, ref: np.ndarray) -> float:
    d = points.shape[1]
    if d == 1:
        return float(ref[0] - points[:, 0].min())
    if d == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], np.minimum.accumulate(points[order, 1])
        widths = np.diff(np.append(xs, ref[0]))
        return float(np.sum(widths * (ref[1] - ys)))
    order = np.argsort(points[:, -1], kind="stable")
    ordered = points[order]
    zs = np.append(ordered[:, -1], ref[-1])
    total = 0.0
    for i in range(len(ordered)):
        depth = zs[i + 1] - zs[i]
        if depth > 0:
            total += depth * _hv(ordered[: i + 1, :-1], ref[:-1])
    return total


def front_indices(values: Any, modes: Sequence[str], feasible: Optional[Sequence[bool]] = None) -> list[int]:
    """Indices of the non-dominated rows of ``values`` (raw, in the given ``modes``) among the
    finite and (when ``feasible`` is given) feasible ones, in ascending order."""
    array = _points(values)
    if array.shape[0] == 0:
        return []
    usable = finite_rows(array)
    if feasible is not None:
        usable &= np.asarray(feasible, dtype=bool)
    candidates = np.flatnonzero(usable)
    if candidates.size == 0:
        return []
    mask = pareto_mask(minimized(array[candidates], modes))
    return [int(i) for i in candidates[mask]]


def pareto_trials(trials: Sequence[Any], metrics: Sequence[str], modes: Sequence[str],
                  constraints: Optional[Sequence[str]] = None) -> list[Any]:
    """The trials (or records) on the Pareto front of their last results: feasible, every
    objective a finite number, none dominated by another such trial. In their given order."""
    from tunecore.util import as_float, lookup_metric

    values, feasible = [], []
    for t in trials:
        last = t.last_result or {}
        row = [as_float(lookup_metric(last, m)) for m in metrics]
        values.append([math.nan if v is None else v for v in row])
        feasible.append(not constraints or is_feasible(last, constraints))
    return [trials[i] for i in front_indices(values, modes, feasible)] if trials else []
