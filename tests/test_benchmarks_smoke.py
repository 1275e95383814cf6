"""Smoke tests of benchmarks/: each tunecore workload runs at a tiny size and prints its JSON line.

Timing is never asserted here (targets are checked by benchmarks/compare.py); these
tests only prove the workloads run end to end and report the figures compare.py reads.
Each workload runs in its own subprocess with its own fresh Ray, as compare.py runs it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")

COMMON_KEYS = {"workload", "framework", "version", "python", "params"}

CASES = {
    "overhead": (["--trials", "4"],
                 {"wall_s", "overhead_per_trial_ms", "trials_per_s", "results", "loggers"}),
    "throughput": (["--results", "25"],
                   {"wall_s_loggers_on", "wall_s_loggers_off", "results_per_s_loggers_on",
                    "results_per_s_loggers_off", "results_on", "results_off", "loggers"}),
    "checkpoints": (["--trials", "2", "--iters", "2", "--mb", "1"],
                    {"wall_s", "saves", "restores", "seconds_per_save"}),
    "scale": (["--trials", "6"],
              {"wall_s", "peak_rss_mib", "rss_start_mib", "rss_half_mib", "rss_end_mib",
               "growth_mib_per_1000_trials", "disk_kib_per_trial", "completed"}),
}


def _run(workload: str, args: list[str]) -> dict:
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, os.path.join(BENCH, f"{workload}.py"), *args],
                          capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"{workload} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{workload} must print exactly one line on stdout, got {lines!r}"
    return json.loads(lines[0])


@pytest.mark.parametrize("workload", sorted(CASES))
def test_workload_prints_its_figures(workload: str) -> None:
    args, keys = CASES[workload]
    data = _run(workload, args)
    assert data["workload"] == workload
    assert data["framework"] == "tunecore"
    missing = (COMMON_KEYS | keys) - set(data)
    assert not missing, f"{workload} JSON lacks {sorted(missing)}: {data}"
    for key in keys - {"loggers", "params"}:
        assert isinstance(data[key], (int, float)) and not isinstance(data[key], bool), (key, data[key])
    # every result reached the driver: the workloads count what the scheduler saw
    if workload == "overhead":
        assert data["results"] == 4
        assert "json" in data["loggers"]
    elif workload == "throughput":
        assert data["results_on"] == data["results_off"] == 4 * 25
    elif workload == "checkpoints":
        assert data["saves"] == 2  # one pause per trial before its last iteration
        assert data["restores"] == 2  # each pause came back through a restore
    else:
        assert data["completed"] == 6
        assert data["peak_rss_mib"] >= data["rss_start_mib"] > 0
        assert not math.isnan(data["growth_mib_per_1000_trials"])


def _load_compare():
    sys.path.insert(0, BENCH)
    try:
        spec = importlib.util.spec_from_file_location("bench_compare", os.path.join(BENCH, "compare.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_compare"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(BENCH)


def test_compare_table_reports_ratios_and_verdicts() -> None:
    compare = _load_compare()
    results = {
        "overhead": {"tunecore": [{"wall_s": 2.0, "overhead_per_trial_ms": 10.0}],
                     "raytune": [{"wall_s": 8.0, "overhead_per_trial_ms": 40.0}]},
        "throughput": {"tunecore": [{"results_per_s_loggers_on": 1000.0, "results_per_s_loggers_off": 3000.0}],
                       "raytune": [{"results_per_s_loggers_on": 500.0, "results_per_s_loggers_off": 500.0}]},
        "scale": {"tunecore": [{"growth_mib_per_1000_trials": 10.0, "peak_rss_mib": 100.0}],
                  "raytune": [{"growth_mib_per_1000_trials": 30.0, "peak_rss_mib": 300.0}]},
    }
    rows = {line.split("  ")[0]: line for line in compare.table(results, markdown=False)[1:]}
    assert rows["overhead: whole-run wall time"].rstrip().endswith("PASS")  # 4x >= 3x
    assert "4x" in rows["overhead: whole-run wall time"]
    assert rows["throughput, default loggers on"].rstrip().endswith("FAIL")  # 2x < 5x
    assert rows["throughput, loggers off"].rstrip().endswith("PASS")  # 6x
    assert rows["scale: driver growth per 1,000 trials"].rstrip().endswith("PASS")  # a third
    md = compare.table(results, markdown=True)
    assert md[0].startswith("| figure |") and len(md) == 2 + len(rows)
    # a framework without runs gives no ratio and no verdict, not a crash
    only_ours = {"overhead": {"tunecore": [{"wall_s": 2.0}], "raytune": []}}
    line = compare.table(only_ours, markdown=False)[1]
    assert "n/a" in line


MO_KEYS = {"benchmark", "part", "problem", "method", "anchor", "tunecore_hv", "anchor_hv", "ratio",
           "iterations_fraction", "target", "pass", "hv_check", "per_seed"}


def test_multi_objective_tiny_prints_hypervolumes() -> None:
    """benchmarks/multi_objective.py at its smallest sizes: every part reports finite, positive
    hypervolumes, the independent checks agree, and sequential tunecore gives Optuna's front."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, os.path.join(BENCH, "multi_objective.py"), "--quick", "--tiny",
                           "--markdown"], capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"multi_objective exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    summary = [line for line in lines if line.get("summary")]
    rows = [line for line in lines if not line.get("summary")]
    assert len(summary) == 1 and summary[0]["size"] == "tiny", summary
    assert {"machine", "seconds", "measurements", "passed", "failed", "all_pass", "hv_checks_ok"} <= set(summary[0])
    assert summary[0]["hv_checks_ok"] is True
    methods = {(row["part"], row["method"]) for row in rows}
    assert methods == {("A", "NSGAIISampler"), ("A", "TPESampler"), ("B", "FIFO"),
                       ("B", "MultiObjectiveAsyncHyperBandScheduler"), ("B(iii)", "NSGAIISampler"),
                       ("B(iii)", "TPESampler")}, methods
    for row in rows:
        missing = MO_KEYS - set(row)
        assert not missing, f"{row['part']} {row['method']} lacks {sorted(missing)}"
        assert row["benchmark"] == "multi_objective"
        hvs = [row["tunecore_hv"]] + ([] if row["method"] == "FIFO" else [row["anchor_hv"]])
        for hv in hvs:
            assert isinstance(hv, float) and math.isfinite(hv) and hv > 0, (row["part"], row["method"], hv)
        assert row["hv_check"] is True, (row["part"], row["method"])
        if row["method"] != "FIFO":
            assert isinstance(row["pass"], bool) and math.isfinite(row["ratio"]) and row["ratio"] > 0
        if row["part"] == "A":
            assert row["sequential_identical"] is True, row["per_seed"]
        if row["part"] == "B" and row["method"] != "FIFO":
            assert 0 < row["iterations_fraction"] <= 1
    assert "| part | problem |" in proc.stdout  # --markdown
