"""tunecore.pareto against plain statements of each rule: dominance, fronts, spread, hypervolume."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tunecore import pareto as P


def _brute_front(points):
    """Indices no other point dominates, from the definition."""
    pts = [tuple(p) for p in points]
    return [i for i, p in enumerate(pts)
            if not any(all(q[k] <= p[k] for k in range(len(p))) and any(q[k] < p[k] for k in range(len(p)))
                       for j, q in enumerate(pts) if j != i)]


def _brute_hv(points, ref):
    """Inclusion-exclusion over the boxes [p, ref]: exact for a handful of points."""
    boxes = [np.asarray(p, float) for p in points if np.all(np.asarray(p) < ref)]
    total = 0.0
    for r in range(1, len(boxes) + 1):
        for combo in itertools.combinations(boxes, r):
            corner = np.max(combo, axis=0)
            total += (-1) ** (r + 1) * float(np.prod(np.asarray(ref) - corner))
    return total


point_sets = st.integers(1, 4).flatmap(lambda d: arrays(
    np.float64, st.tuples(st.integers(0, 30), st.just(d)),
    elements=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]) | st.floats(-5, 5, allow_nan=False)))


@settings(max_examples=150, deadline=None)
@given(point_sets)
def test_fronts_partition_the_points_and_the_first_is_the_definition(points):
    fronts = P.non_dominated_sort(points)
    flat = sorted(i for f in fronts for i in f)
    assert flat == list(range(len(points)))
    if len(points):
        assert fronts[0] == _brute_front(points)
        assert list(np.flatnonzero(P.pareto_mask(points))) == _brute_front(points)
    for k in range(1, len(fronts)):  # front k is the front of what the earlier fronts leave
        rest = sorted(i for f in fronts[k:] for i in f)
        assert [rest[j] for j in _brute_front([points[i] for i in rest])] == fronts[k]


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: arrays(
    np.float64, st.tuples(st.integers(0, 7), st.just(d)), elements=st.floats(0, 1, allow_nan=False))))
def test_hypervolume_equals_inclusion_exclusion(points):
    ref = np.full(points.shape[1], 1.2)
    assert P.hypervolume(points, ref) == pytest.approx(_brute_hv(points, ref), abs=1e-9)


def test_hypervolume_known_values_and_edges():
    assert P.hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    assert P.hypervolume([[0.5, 0.5, 0.5]], [1, 1, 1]) == pytest.approx(0.125)
    assert P.hypervolume([], [1, 1]) == 0.0
    assert P.hypervolume([[2, 0]], [1, 1]) == 0.0  # beyond the reference: nothing
    assert P.hypervolume([[1, 1], [1, 1]], [2, 2]) == pytest.approx(1.0)  # duplicates count once
    with pytest.raises(ValueError, match="reference point of 3 values"):
        P.hypervolume([[1, 1]], [2, 2, 2])
    with pytest.raises(ValueError, match="finite"):
        P.hypervolume([[1, 1]], [math.inf, 2])


def test_minimized_flips_max_columns_and_checks_modes():
    assert P.minimized([[1, 2]], ["min", "max"]).tolist() == [[1, -2]]
    with pytest.raises(ValueError, match="'min' or 'max'"):
        P.minimized([[1, 2]], ["min", "best"])
    with pytest.raises(ValueError, match="2 modes for points of 3"):
        P.minimized([[1, 2, 3]], ["min", "max"])


def test_front_indices_skip_infeasible_and_non_finite_rows():
    values = [[1, 1], [0, 5], [math.nan, 0], [0.5, 0.5], [math.inf, -1]]
    assert P.front_indices(values, ["min", "min"]) == [1, 3]
    assert P.front_indices(values, ["min", "min"], feasible=[True, True, True, False, True]) == [0, 1]
    assert P.front_indices(values, ["max", "max"]) == [0, 1]


def test_crowding_distance_and_epsnet_spread_the_front():
    front = [[i / 7, 1 - i / 7] for i in range(8)]  # evenly spaced on a line
    crowd = P.crowding_distance(front)
    assert math.isinf(crowd[0]) and math.isinf(crowd[7]) and np.allclose(crowd[1:7], crowd[1])
    order = P.epsnet_order(front)
    assert order[:2] == [0, 7]  # the two extremes first
    assert order[2] in (3, 4)  # then the middle
    assert sorted(order) == list(range(8))


@settings(max_examples=100, deadline=None)
@given(point_sets, st.sampled_from(P.TIE_BREAKS))
def test_rank_order_is_front_by_front(points, tie_break):
    order = P.rank_order(points, tie_break)
    assert sorted(order) == list(range(len(points)))
    position = {i: k for k, i in enumerate(order)}
    for earlier, later in zip(P.non_dominated_sort(points), P.non_dominated_sort(points)[1:]):
        assert max(position[i] for i in earlier) < min(position[i] for i in later)


def test_is_feasible_reads_numbers_only():
    assert P.is_feasible({"c": -1, "d": np.float32(0)}, ["c", "d"])
    assert not P.is_feasible({"c": 0.1}, ["c"])
    assert not P.is_feasible({"c": math.nan}, ["c"])
    assert not P.is_feasible({}, ["c"])
    assert not P.is_feasible({"c": "low"}, ["c"])
    assert P.is_feasible({"eval": {"c": -2}}, ["eval/c"])
