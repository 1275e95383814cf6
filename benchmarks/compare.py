"""Run every workload with tunecore and with Ray Tune, alternately, and print ratios and targets.

Each run is its own subprocess with a fresh local Ray, so neither framework inherits
the other's workers or memory. The two frameworks alternate (tunecore first on odd
repeats, Ray Tune first on even ones) so that a machine getting busier or quieter
during the invocation affects both alike; with ``--repeats N`` the median of each
figure is compared.

Ray Tune is optional: without it (``pip install "ray[tune]"``) only tunecore runs,
and the script says so and prints no ratios.

    python benchmarks/compare.py                      # full sizes (tens of minutes)
    python benchmarks/compare.py --quick              # small sizes, a few minutes
    python benchmarks/compare.py --workloads overhead throughput --repeats 3
    python benchmarks/compare.py --markdown           # also print the README table
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as C  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("overhead", "throughput", "checkpoints", "scale")


@dataclass(frozen=True)
class Figure:
    """One compared figure: which key, which way is better, and an optional target."""

    workload: str
    key: str
    label: str
    higher_is_better: bool
    target: Optional[float] = None  # advantage of tunecore over Ray Tune that must be reached
    unit: str = ""


FIGURES = (
    Figure("overhead", "wall_s", "overhead: whole-run wall time", False, 3.0, "s"),
    Figure("overhead", "overhead_per_trial_ms", "overhead: per trial", False, None, "ms"),
    Figure("throughput", "results_per_s_loggers_on", "throughput, default loggers on", True, 5.0, "results/s"),
    Figure("throughput", "results_per_s_loggers_off", "throughput, loggers off", True, 5.0, "results/s"),
    Figure("checkpoints", "seconds_per_save", "checkpoints: save+restore of 10 MB", False, None, "s"),
    Figure("scale", "growth_mib_per_1000_trials", "scale: driver growth per 1,000 trials", False, 2.0, "MiB"),
    Figure("scale", "peak_rss_mib", "scale: driver peak memory", False, None, "MiB"),
)


def sizes(args: argparse.Namespace) -> dict[str, list[str]]:
    """Command-line arguments of each workload for this invocation."""
    quick = args.quick
    return {
        "overhead": ["--trials", str(args.trials or (40 if quick else 200))],
        "throughput": ["--results", str(args.results or (500 if quick else 2000))],
        "checkpoints": ["--trials", "4", "--iters", str(args.iters or (4 if quick else 10))],
        "scale": ["--trials", str(args.scale_trials or (200 if quick else 2000))],
    }


def run_workload(workload: str, framework: str, extra: list[str], timeout: float,
                 log: Callable[[str], None]) -> Optional[dict]:
    """Run one workload in a fresh subprocess; its JSON line, or None if it failed."""
    cmd = [sys.executable, os.path.join(HERE, f"{workload}.py"), "--framework", framework, *extra]
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        log(f"  {workload}/{framework}: timed out after {timeout:.0f} s")
        return None
    if proc.returncode == C.EXIT_NO_RAYTUNE:
        log(f"  {workload}/{framework}: {proc.stderr.strip().splitlines()[-1]}")
        return None
    for line in reversed(proc.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            log(f"  {workload}/{framework}: done in {time.monotonic() - started:.1f} s")
            return data
    tail = "\n    ".join(proc.stderr.strip().splitlines()[-15:])
    log(f"  {workload}/{framework}: failed (exit {proc.returncode}); last lines of stderr:\n    {tail}")
    return None


def median(runs: list[dict], key: str) -> Optional[float]:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float)) and not math.isnan(r[key])]
    return statistics.median(values) if values else None


def advantage(fig: Figure, ours: Optional[float], theirs: Optional[float]) -> Optional[float]:
    """How many times better tunecore is (> 1 means better)."""
    if ours is None or theirs is None:
        return None
    if fig.higher_is_better:
        return ours / theirs if theirs > 0 else None
    if ours <= 0:
        return math.inf if theirs > 0 else None
    return theirs / ours


def verdict(fig: Figure, adv: Optional[float]) -> str:
    if fig.target is None:
        return ""
    if adv is None:
        return "n/a"
    return "PASS" if adv >= fig.target else "FAIL"


def target_text(fig: Figure) -> str:
    if fig.target is None:
        return ""
    if fig.key.startswith("growth"):
        return f"<= 1/{fig.target:g} of Ray Tune"
    return f">= {fig.target:g}x"


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value == math.inf:
        return "inf"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def table(results: dict[str, dict[str, list[dict]]], markdown: bool) -> list[str]:
    """Rows of figure, tunecore, Ray Tune, advantage, target, verdict."""
    head = ["figure", "tunecore", "Ray Tune", "tunecore advantage", "target", "result"]
    rows = []
    for fig in FIGURES:
        if fig.workload not in results:
            continue
        ours = median(results[fig.workload].get("tunecore", []), fig.key)
        theirs = median(results[fig.workload].get("raytune", []), fig.key)
        adv = advantage(fig, ours, theirs)
        unit = f" {fig.unit}" if fig.unit else ""
        rows.append([fig.label, fmt(ours) + unit, fmt(theirs) + unit,
                     "-" if adv is None else f"{fmt(adv)}x", target_text(fig), verdict(fig, adv)])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return lines
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--repeats", type=int, default=1, help="runs per framework and workload (median)")
    p.add_argument("--quick", action="store_true", help="small sizes (a few minutes in all)")
    p.add_argument("--trials", type=int, help="overhead trials (default 200)")
    p.add_argument("--results", type=int, help="throughput results per trial (default 2000)")
    p.add_argument("--iters", type=int, help="checkpoint iterations per trial (default 10)")
    p.add_argument("--scale-trials", type=int, help="scale trials (default 2000)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per run")
    p.add_argument("--json", metavar="PATH", help="also write every raw run here")
    p.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = p.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    frameworks = ["tunecore", "raytune"]
    missing = C.raytune_import_error()
    if missing is not None:
        print("Ray Tune comparison skipped: " + C.RAYTUNE_MISSING.format(error=missing) +
              ". Running tunecore only.", flush=True)
        frameworks = ["tunecore"]
    extra = sizes(args)
    results: dict[str, dict[str, list[dict]]] = {}
    for workload in args.workloads:
        results[workload] = {f: [] for f in frameworks}
        for rep in range(args.repeats):
            order = frameworks if rep % 2 == 0 else frameworks[::-1]
            for framework in order:
                log(f"{workload} [{rep + 1}/{args.repeats}] {framework} {' '.join(extra[workload])}")
                data = run_workload(workload, framework, extra[workload], args.timeout, log)
                if data is not None:
                    results[workload][framework].append(data)
                    print(json.dumps(data, sort_keys=True), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"argv": sys.argv[1:], "cpu_count": os.cpu_count(), "results": results}, f, indent=2)
    print()
    for line in table(results, markdown=False):
        print(line)
    if args.markdown:
        print()
        for line in table(results, markdown=True):
            print(line)
    if missing is not None:
        print("\n(no Ray Tune: no ratios; install it with: pip install \"ray[tune]\")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
