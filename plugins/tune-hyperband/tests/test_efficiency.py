"""The tuning-efficiency targets of ``benchmarks/hyperband_efficiency.py``, held in CI.

The benchmark is a deterministic simulation (no clock, no Ray cluster): the same seeds give
the same decisions, so its targets can be asserted without flakiness. Ray Tune's own
schedulers are the comparator (the plugin's ``test`` extra installs ``ray[tune]``).
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SEEDS = list(range(20))


@pytest.fixture(scope="module")
def bench():
    path = os.path.join(ROOT, "benchmarks", "hyperband_efficiency.py")
    spec = importlib.util.spec_from_file_location("hyperband_efficiency", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def runs(bench):
    return bench.run_all(SEEDS, {
        "asha": lambda: bench._ours("asha"),
        "hyperband": lambda: bench._ours("hyperband"),
        "ray_asha_same_settings": lambda: bench._ray("asha", "same"),
        "ray_hyperband": lambda: bench._ray("hyperband", "defaults"),
    })


@pytest.mark.parametrize("name", ["asha", "hyperband"])
def test_within_2_percent_of_the_best_with_a_third_of_the_iterations(bench, runs, name):
    agg = bench.aggregate(runs[name])
    assert agg["mean_ratio"] >= 0.98, agg
    assert agg["mean_fraction"] <= 1 / 3, agg
    assert agg["unfinished"] == 0, agg


@pytest.mark.parametrize("ours, theirs", [("asha", "ray_asha_same_settings"), ("hyperband", "ray_hyperband")])
def test_at_least_as_accurate_as_ray_tune_with_no_more_iterations(bench, runs, ours, theirs):
    a, b = bench.aggregate(runs[ours]), bench.aggregate(runs[theirs])
    assert a["mean_ratio"] >= b["mean_ratio"], (a, b)
    assert a["mean_fraction"] <= b["mean_fraction"], (a, b)
    per_seed = bench.head_to_head(runs[ours], runs[theirs])
    assert per_seed["iterations"]["losses"] == 0, per_seed


def test_sensitivity_mode_compares_each_setting(bench):
    (row,) = bench.sensitivity([0], max_ts=(27,), etas=(3,))
    assert (row["max_t"], row["eta"]) == (27, 3)
    for side in ("tunecore", "ray"):
        assert 0.5 < row[side]["ratio"] <= 1.0 and 0.0 < row[side]["fraction"] < 1.0
