"""Multi-objective tuning: tunecore's hypervolumes against Optuna's own, and MO-ASHA against full runs.

Part A, the plumbing loses nothing: ZDT1, ZDT2 and ZDT3 (6 decision variables in [0, 1], two
objectives, both minimised) at equal trial counts, through ``tunecore.Tuner`` with
``tune_optuna.OptunaSearch(sampler=...)`` (a function trainable that reports ``f1``/``f2``)
and through Optuna's own ``study.optimize`` with the same sampler class and seed
(``NSGAIISampler`` and ``TPESampler``). Hypervolume of each final front against (1.1, 11):
``ResultGrid.get_hypervolume`` for tunecore, ``tunecore.pareto.hypervolume`` of the study's
trials for Optuna (and of ``study.best_trials``), all checked against an independent 2-D sweep. Target: mean
ratio over seeds >= 0.95. For context, the hypervolume of Optuna's ``RandomSampler`` at the same
trial count, and, on seed 0, tunecore with ``max_concurrent_trials=1`` (which must give Optuna's
front exactly: the same sampler sees the same history).

Part B, early stopping on two objectives: a simulated learner (``width`` in 16..512, ``lr``
log-uniform 1e-4..1) whose validation error follows a learning curve over 81 epochs (fast
learning rates plateau high, slow ones win late, wide models with large rates diverge; noise
sd 0.004), and whose latency is ``width / 512``. 64 configurations drawn with the seed, run
through ``tunecore.grid_search``: (i) FIFO, every trial to epoch 81; (ii)
``tune_hyperband.MultiObjectiveAsyncHyperBandScheduler(max_t=81, grace_period=1,
reduction_factor=3)``. Hypervolume of the front of each trial's last reported (error, latency)
against (0.5, 1.1), and against a tight (0.2, 1.1) for sensitivity. Targets: HV(MO-ASHA) /
HV(FIFO) >= 0.95 and iterations / FIFO's <= 1/3 (means over seeds). Part B(iii): the same
problem with full runs, tunecore + OptunaSearch against Optuna's own study, equal trial counts.
For context, the HV of training a random subset of the configurations fully with MO-ASHA's budget.

Diagnostic rows (full size only, not targets): NSGA-II with ``max_concurrent_trials=2`` (how
much the trials suggested before earlier ones are told cost), MO-ASHA with ``grace_period=9``.

    python benchmarks/multi_objective.py [--quick] [--tiny] [--json PATH] [--markdown] [--parts A,B,C]
        [--no-diagnostics] [--max-concurrent N]

Prints one JSON line per measurement (a problem and a sampler or scheduler, means over seeds
with the per-seed figures), then a summary line (versions, commit, seconds per part, every
verdict); ``--markdown`` adds a table. Exit code 0 whatever the verdicts (it is a benchmark):
read ``FAIL``. One local Ray with 2 CPUs for the whole script.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from typing import Any, Callable, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import init_ray, quiet  # noqa: E402

_stdout = sys.stdout  # the JSON lines and the table; what the frameworks print goes to stderr

HV_TARGET = 0.95
ITER_TARGET = 1 / 3

# -- Part A: ZDT1-3 ----------------------------------------------------------------------
N_VARS = 6
#: 1.1 x the worst value each objective can take on [0, 1]^n (f1 <= 1, f2 <= g <= 10).
ZDT_REFERENCE = (1.1, 11.0)


def _g(x: list[float]) -> float:
    return 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)


def zdt1(x: list[float]) -> tuple[float, float]:
    f1, g = x[0], _g(x)
    return f1, g * (1.0 - math.sqrt(f1 / g))


def zdt2(x: list[float]) -> tuple[float, float]:
    f1, g = x[0], _g(x)
    return f1, g * (1.0 - (f1 / g) ** 2)


def zdt3(x: list[float]) -> tuple[float, float]:
    f1, g = x[0], _g(x)
    return f1, g * (1.0 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10 * math.pi * f1))


PROBLEMS: dict[str, Callable[[list[float]], tuple[float, float]]] = {"zdt1": zdt1, "zdt2": zdt2, "zdt3": zdt3}


def _zdt_trainable(problem: str) -> Callable[[dict], None]:
    fn = PROBLEMS[problem]

    def zdt(config: dict) -> None:
        import tunecore

        f1, f2 = fn([config[f"x{i}"] for i in range(N_VARS)])
        tunecore.report({"f1": f1, "f2": f2})

    return zdt


# -- Part B: a two-objective learning-curve problem ---------------------------------------
MAX_T = 81
WIDTHS = (16, 32, 64, 128, 256, 512)
LR_RANGE = (1e-4, 1.0)
#: error 0.5 (every converged configuration is below it, an untrained one at 0.7-0.9 is not);
#: latency 1.1 x the largest (width 512).
CURVE_REFERENCE = (0.5, 1.1)
CURVE_REFERENCE_TIGHT = (0.2, 1.1)


def latency(width: int) -> float:
    """The second objective: proportional to the model width, known before training."""
    return width / WIDTHS[-1]


def error_curve(width: int, lr: float, seed: int, max_t: int = MAX_T) -> np.ndarray:
    """Validation error after epochs 1..max_t of one configuration; a function of (width, lr, seed).

    As ``hyperband_efficiency.py``'s learner, on the error scale: ``lr`` sets the speed (high
    rates converge in a few epochs and plateau high, low rates fall slowly and end lowest, the
    best between 10**-2.9 and 10**-2.3); width lowers the floor (by 0.10 from 16 to 512) and
    slows each epoch; large rates on wide models diverge after an early minimum. Noise sd 0.004.
    """
    rng = np.random.default_rng([seed, zlib.crc32(f"{int(width)}:{float(lr)!r}".encode())])
    t = np.arange(1, max_t + 1, dtype=float)
    w = math.log2(width / WIDTHS[0]) / math.log2(WIDTHS[-1] / WIDTHS[0])
    log_lr = math.log10(lr)
    speed = 40 * lr / (1 + w)
    ceiling = 0.86 + 0.10 * w - 0.10 * max(0.0, log_lr + 2.3) - 0.05 * max(0.0, -2.9 - log_lr)
    acc = 0.10 + (ceiling - 0.10) * (1 - np.exp(-((speed * t) ** 0.7)))
    if lr * (1 + 2 * w) > 0.6:
        t_div = rng.uniform(3, 30)
        acc = np.where(t > t_div, 0.10 + (acc - 0.10) * np.exp(-(t - t_div) / 15), acc)
    acc = np.clip(acc + rng.normal(0, 0.004, size=max_t), 0.0, 1.0)
    return 1.0 - acc


def sample_points(seed: int, n: int) -> list[dict]:
    """``n`` configurations drawn with ``seed``: width uniform over :data:`WIDTHS`, lr log-uniform."""
    rng = np.random.default_rng(seed)
    lo, hi = (math.log10(v) for v in LR_RANGE)
    return [{"width": int(rng.choice(WIDTHS)), "lr": float(10 ** rng.uniform(lo, hi))} for _ in range(n)]


def _curve_trainable(seed: int, max_t: int) -> Callable[[dict], None]:
    def learner(config: dict) -> None:
        import tunecore

        point = config.get("point", config)
        width, lr = int(point["width"]), float(point["lr"])
        errors = error_curve(width, lr, seed, max_t)
        cost = latency(width)
        for epoch in range(1, max_t + 1):
            tunecore.report({"error": float(errors[epoch - 1]), "latency": cost})

    return learner


# -- measuring ----------------------------------------------------------------------------
def hv2d(points: Any, reference: tuple[float, float]) -> float:
    """An independent 2-D hypervolume (both minimised): a sweep over the points sorted by f1."""
    pts = sorted((float(a), float(b)) for a, b in points if a < reference[0] and b < reference[1])
    area, ceiling = 0.0, reference[1]
    for x, y in pts:
        if y < ceiling:
            area += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return area


def make_sampler(name: str, seed: int, population: int) -> Any:
    import optuna

    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(name)


SAMPLER_NAMES = {"nsga2": "NSGAIISampler", "tpe": "TPESampler", "random": "RandomSampler"}


def run_tuner(trainable: Callable, param_space: dict, metric: list[str], num_samples: int, *,
              search_alg: Any = None, scheduler: Any = None, max_concurrent_trials: Optional[int] = None) -> Any:
    """One ``tunecore.Tuner.fit`` in a temporary folder; its ResultGrid."""
    import tunecore

    with tempfile.TemporaryDirectory(prefix="tunecore-bench-mo-") as storage:
        tuner = tunecore.Tuner(
            trainable, param_space=param_space,
            tune_config=tunecore.TuneConfig(metric=metric, mode=["min"] * len(metric), search_alg=search_alg,
                                            scheduler=scheduler, num_samples=num_samples,
                                            max_concurrent_trials=max_concurrent_trials),
            run_config=tunecore.RunConfig(verbose=0, storage_path=storage))
        return tuner.fit()


def grid_points(grid: Any, metrics: list[str]) -> list[list[float]]:
    return [[float(r.metrics[m]) for m in metrics] for r in grid if r.metrics and all(m in r.metrics for m in metrics)]


def optuna_study(sampler: Any, objective: Callable, trials: int) -> Any:
    import optuna

    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return study


def study_points(study: Any) -> list[list[float]]:
    return [list(t.values) for t in study.trials if t.values is not None]


def _hv_both(points: list[list[float]], reference: tuple[float, float]) -> tuple[float, float]:
    from tunecore.pareto import hypervolume

    return hypervolume(points, reference) if points else 0.0, hv2d(points, reference)


def _mean(values: list[float]) -> float:
    return float(statistics.mean(values)) if values else math.nan


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits) if math.isfinite(value) else value


class Report:
    """Collects the measurements, prints each as a JSON line, keeps them for the table and --json."""

    def __init__(self, json_path: Optional[str]) -> None:
        self.lines: list[dict] = []
        self.json_path = json_path

    def emit(self, line: dict) -> dict:
        line = {"benchmark": "multi_objective", **line}
        self.lines.append(line)
        _stdout.write(json.dumps(line, sort_keys=True) + "\n")
        _stdout.flush()
        return line

    def save(self) -> None:
        if self.json_path:
            with open(self.json_path, "w", encoding="utf-8") as f:
                for line in self.lines:
                    f.write(json.dumps(line, sort_keys=True) + "\n")


# -- Part A --------------------------------------------------------------------------------
def in_flight_at_ask(search: Any) -> Optional[float]:
    """Mean number of trials asked from the Optuna study but not yet told when each trial was
    asked (0 when the sampler always saw every earlier result), from the study's timestamps."""
    study = getattr(search, "study", None)
    if study is None:
        return None
    trials = study.get_trials(deepcopy=False)
    counts = [sum(1 for u in trials if u.number < t.number
                  and (u.datetime_complete is None or u.datetime_complete > t.datetime_start))
              for t in trials if t.datetime_start is not None]
    return _r(_mean(counts), 2) if counts else None


def part_a(report: Report, problems: list[str], samplers: list[str], seeds: list[int], trials: int,
           population: int, sequential_check: bool, max_concurrent: Optional[int], diagnostics: bool) -> None:
    import tune_optuna
    import tunecore

    space = {f"x{i}": tunecore.uniform(0, 1) for i in range(N_VARS)}
    # (sampler, TuneConfig.max_concurrent_trials, diagnostic row)
    variants = [(name, max_concurrent, False) for name in samplers]
    if diagnostics and "nsga2" in samplers and max_concurrent != 2:
        variants.append(("nsga2", 2, True))
    for problem in problems:
        fn = PROBLEMS[problem]

        def objective(trial: Any, fn: Callable = fn) -> tuple[float, float]:
            return fn([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(N_VARS)])

        random_hv = [_hv_both(study_points(optuna_study(make_sampler("random", s, population), objective, trials)),
                              ZDT_REFERENCE)[0] for s in seeds]
        studies: dict[tuple[str, int], tuple[Any, float]] = {}
        for sampler, concurrency, diagnostic in variants:
            started = time.perf_counter()
            rows = []
            for seed in seeds:
                t0 = time.perf_counter()
                search = tune_optuna.OptunaSearch(sampler=make_sampler(sampler, seed, population))
                grid = run_tuner(_zdt_trainable(problem), space, ["f1", "f2"], trials, search_alg=search,
                                 max_concurrent_trials=concurrency)
                t_tc = time.perf_counter() - t0
                if (sampler, seed) not in studies:
                    t0 = time.perf_counter()
                    studies[(sampler, seed)] = (optuna_study(make_sampler(sampler, seed, population), objective,
                                                             trials), time.perf_counter() - t0)
                study, t_op = studies[(sampler, seed)]
                ours = grid.get_hypervolume(ZDT_REFERENCE)
                tc_points = grid_points(grid, ["f1", "f2"])
                anchor, anchor_check = _hv_both(study_points(study), ZDT_REFERENCE)
                front = [list(t.values) for t in study.best_trials]
                rows.append({
                    "seed": seed, "tunecore_hv": _r(ours, 6), "anchor_hv": _r(anchor, 6),
                    "ratio": _r(ours / anchor if anchor else math.nan),
                    "tunecore_trials": len(grid), "tunecore_errors": grid.num_errors,
                    "anchor_trials": len(study.trials), "anchor_front": len(front),
                    "tunecore_front": len(grid.get_pareto_front()),
                    "in_flight_at_ask": in_flight_at_ask(search),
                    "hv_check": bool(math.isclose(ours, hv2d(tc_points, ZDT_REFERENCE), rel_tol=1e-9)
                                     and math.isclose(anchor, anchor_check, rel_tol=1e-9)
                                     and math.isclose(anchor, _hv_both(front, ZDT_REFERENCE)[0], rel_tol=1e-9)),
                    "tunecore_s": _r(t_tc, 2), "anchor_s": _r(t_op, 2),
                })
                if sequential_check and not diagnostic and seed == seeds[0]:
                    # one trial at a time: the sampler sees what Optuna's own loop shows it, so the
                    # trials must be Optuna's exactly
                    t0 = time.perf_counter()
                    seq = run_tuner(_zdt_trainable(problem), space, ["f1", "f2"], trials, max_concurrent_trials=1,
                                    search_alg=tune_optuna.OptunaSearch(
                                        sampler=make_sampler(sampler, seed, population)))
                    seq_hv = seq.get_hypervolume(ZDT_REFERENCE)
                    rows[-1]["sequential_hv"] = _r(seq_hv, 6)
                    rows[-1]["sequential_identical"] = bool(
                        math.isclose(seq_hv, anchor, rel_tol=1e-12)
                        and sorted(map(tuple, grid_points(seq, ["f1", "f2"])))
                        == sorted(map(tuple, study_points(study))))
                    rows[-1]["sequential_s"] = _r(time.perf_counter() - t0, 2)
            ratio = _mean([r["ratio"] for r in rows])
            method = SAMPLER_NAMES[sampler] + (f" (max_concurrent_trials={concurrency})" if diagnostic else "")
            line = {
                "part": "A", "problem": problem, "method": method, "anchor": "optuna study.optimize",
                "diagnostic": diagnostic,
                "trials": trials, "seeds": len(seeds), "population_size": population if sampler == "nsga2" else None,
                "max_concurrent_trials": concurrency, "reference_point": list(ZDT_REFERENCE),
                "tunecore_hv": _r(_mean([r["tunecore_hv"] for r in rows])),
                "anchor_hv": _r(_mean([r["anchor_hv"] for r in rows])),
                "random_hv": _r(_mean(random_hv)),
                "ratio": _r(ratio), "min_ratio": _r(min(r["ratio"] for r in rows)),
                "in_flight_at_ask": _r(_mean([r["in_flight_at_ask"] for r in rows
                                              if r["in_flight_at_ask"] is not None]), 2),
                "iterations_fraction": None,
                "target": f"ratio >= {HV_TARGET}", "pass": bool(ratio >= HV_TARGET),
                "hv_check": all(r["hv_check"] for r in rows),
                "per_seed": rows, "seconds": _r(time.perf_counter() - started, 2),
            }
            if not diagnostic and sequential_check:
                line["sequential_identical"] = rows[0].get("sequential_identical")
            report.emit(line)


# -- Part B --------------------------------------------------------------------------------
def mo_asha_class() -> tuple[Optional[type], str]:
    """``tune_hyperband.MultiObjectiveAsyncHyperBandScheduler``, else the scheduler registered as
    ``mo_asha``; (None, why) when neither is there yet."""
    try:
        import tune_hyperband
    except ImportError as exc:
        return None, f"tune_hyperband not importable: {exc}"
    cls = getattr(tune_hyperband, "MultiObjectiveAsyncHyperBandScheduler", None)
    if cls is not None:
        return cls, "tune_hyperband.MultiObjectiveAsyncHyperBandScheduler"
    try:
        from tunecore.plugins import get_plugin_manager

        cls = get_plugin_manager().schedulers.get("mo_asha")
    except Exception as exc:  # the registry is a fallback only
        return None, f"no MultiObjectiveAsyncHyperBandScheduler in tune_hyperband, registry failed: {exc}"
    if cls is None:
        return None, "no MultiObjectiveAsyncHyperBandScheduler in tune_hyperband and no 'mo_asha' registered"
    return cls, "registered scheduler 'mo_asha'"


def _front_of_last(grid: Any) -> tuple[list[list[float]], int, list[tuple[int, float]]]:
    """The (error, latency) last reported by every trial, iterations run, and each trial's
    (width, lr) with its last iteration."""
    points, iterations, runs = [], 0, []
    for r in grid:
        if not r.metrics:
            continue
        points.append([float(r.metrics["error"]), float(r.metrics["latency"])])
        iterations += int(r.metrics["training_iteration"])
        point = r.config.get("point", r.config)
        runs.append(((int(point["width"]), float(point["lr"])), int(r.metrics["training_iteration"])))
    return points, iterations, runs


def _expected_points(runs: list, seed: int) -> list[list[float]]:
    """What each trial's last result must be, computed here from the curves."""
    return [[float(error_curve(w, lr, seed)[t - 1]), latency(w)] for (w, lr), t in runs]


def _subset_ratio(points: list[dict], seed: int, iterations: int, fifo_hv: float) -> float:
    """HV of the first ``iterations / max_t`` configurations trained to the end (FIFO on a random
    subset with MO-ASHA's budget: the configurations are in random order), over FIFO's HV;
    computed from the curves."""
    k = max(1, round(iterations / MAX_T))
    last = [[float(error_curve(p["width"], p["lr"], seed)[-1]), latency(p["width"])] for p in points[:k]]
    return hv2d(last, CURVE_REFERENCE) / fifo_hv if fifo_hv else math.nan


def _curve_run(seed: int, points: list[dict], scheduler: Any) -> dict:
    """One grid run of ``points``; the figures of its last results."""
    import tunecore

    t0 = time.perf_counter()
    grid = run_tuner(_curve_trainable(seed, MAX_T), {"point": tunecore.grid_search(points)}, ["error", "latency"], 1,
                     scheduler=scheduler)
    elapsed = time.perf_counter() - t0
    last, iterations, runs = _front_of_last(grid)
    front = _front(last)
    hv = grid.get_hypervolume(CURVE_REFERENCE)
    return {
        "hv": _r(hv, 6), "hv_tight": _r(grid.get_hypervolume(CURVE_REFERENCE_TIGHT), 6),
        "iterations": iterations, "trials": len(grid), "errors": grid.num_errors,
        "full_runs": sum(1 for _, t in runs if t >= MAX_T),
        # the front's configurations: [width, lr, last epoch, error, latency]
        "front": sorted([[*runs[i][0], runs[i][1], *(_r(v, 6) for v in last[i])] for i in front]),
        # tunecore's last results are the curves' values at the epochs the trials stopped, and
        # ResultGrid.get_hypervolume agrees with an independent sweep
        "hv_check": bool(np.allclose(last, _expected_points(runs, seed), rtol=0, atol=1e-12)
                         and math.isclose(hv, hv2d(last, CURVE_REFERENCE), rel_tol=1e-9)),
        "trained_to_max_t": sorted({c for c, t in runs if t >= MAX_T}),
        "seconds": _r(elapsed, 2),
    }


def part_b(report: Report, seeds: list[int], configs: int, diagnostic_graces: list[int]) -> None:
    cls, source = mo_asha_class()
    base = {"part": "B", "problem": "learning_curves", "configs": configs, "max_t": MAX_T, "seeds": len(seeds),
            "reference_point": list(CURVE_REFERENCE), "reference_point_tight": list(CURVE_REFERENCE_TIGHT)}
    started = time.perf_counter()
    fifo_rows = []
    points_of = {seed: sample_points(seed, configs) for seed in seeds}
    for seed in seeds:
        fifo_rows.append({"seed": seed, **_curve_run(seed, points_of[seed], None)})
    fifo_front = {r["seed"]: {(c[0], c[1]) for c in r["front"]} for r in fifo_rows}
    for r in fifo_rows:
        r.pop("trained_to_max_t")
    report.emit({**base, "method": "FIFO", "anchor": "FIFO",
                 "tunecore_hv": _r(_mean([f["hv"] for f in fifo_rows])), "anchor_hv": None, "ratio": None,
                 "iterations": _r(_mean([f["iterations"] for f in fifo_rows]), 1), "iterations_fraction": 1.0,
                 "target": None, "pass": None, "hv_check": all(f["hv_check"] for f in fifo_rows),
                 "per_seed": fifo_rows, "seconds": _r(time.perf_counter() - started, 2)})
    if cls is None:
        report.emit({**base, "method": "MultiObjectiveAsyncHyperBandScheduler", "skipped": source,
                     "tunecore_hv": None, "anchor_hv": None, "ratio": None, "iterations_fraction": None,
                     "target": f"ratio >= {HV_TARGET} and iterations <= 1/3", "pass": False})
        return
    fifo_of = {r["seed"]: r for r in fifo_rows}
    for grace in [1, *diagnostic_graces]:
        started = time.perf_counter()
        settings = {"max_t": MAX_T, "grace_period": grace, "reduction_factor": 3}
        rows = []
        for seed in seeds:
            run = _curve_run(seed, points_of[seed], cls(**settings))
            fifo = fifo_of[seed]
            trained = {tuple(c) for c in run.pop("trained_to_max_t")}
            run.update({
                "ratio": _r(run["hv"] / fifo["hv"]), "ratio_tight": _r(run["hv_tight"] / fifo["hv_tight"]),
                "iterations_fraction": _r(run["iterations"] / fifo["iterations"]),
                "fifo_front_size": len(fifo_front[seed]),
                "fifo_front_trained_to_max_t": len(fifo_front[seed] & trained),
                "subset_same_budget_ratio": _r(_subset_ratio(points_of[seed], seed, run["iterations"], fifo["hv"])),
            })
            rows.append({"seed": seed, **run})
        ratio = _mean([a["ratio"] for a in rows])
        fraction = _mean([a["iterations_fraction"] for a in rows])
        method = "MultiObjectiveAsyncHyperBandScheduler" + ("" if grace == 1 else f" (grace_period={grace})")
        report.emit({**base, "method": method, "scheduler_source": source, "settings": settings, "anchor": "FIFO",
                     "diagnostic": grace != 1,
                     "tunecore_hv": _r(_mean([a["hv"] for a in rows])),
                     "anchor_hv": _r(_mean([f["hv"] for f in fifo_rows])),
                     "ratio": _r(ratio), "min_ratio": _r(min(a["ratio"] for a in rows)),
                     "ratio_tight": _r(_mean([a["ratio_tight"] for a in rows])),
                     "subset_same_budget_ratio": _r(_mean([a["subset_same_budget_ratio"] for a in rows])),
                     "fifo_front_trained_to_max_t": sum(a["fifo_front_trained_to_max_t"] for a in rows),
                     "fifo_front_size": sum(a["fifo_front_size"] for a in rows),
                     "iterations": _r(_mean([a["iterations"] for a in rows]), 1),
                     "iterations_fraction": _r(fraction),
                     "max_iterations_fraction": _r(max(a["iterations_fraction"] for a in rows)),
                     "target": f"ratio >= {HV_TARGET} and iterations <= 1/3",
                     "pass_hv": bool(ratio >= HV_TARGET), "pass_iterations": bool(fraction <= ITER_TARGET),
                     "pass": bool(ratio >= HV_TARGET and fraction <= ITER_TARGET),
                     "hv_check": all(a["hv_check"] for a in rows), "per_seed": rows,
                     "seconds": _r(time.perf_counter() - started, 2)})


def _front(points: list[list[float]]) -> list[int]:
    from tunecore.pareto import pareto_mask

    return [int(i) for i in np.flatnonzero(pareto_mask(points))] if points else []


# -- Part B(iii) ---------------------------------------------------------------------------
def part_c(report: Report, samplers: list[str], seeds: list[int], trials: int, population: int,
           max_concurrent: Optional[int]) -> None:
    import tune_optuna
    import tunecore

    space = {"width": tunecore.choice(list(WIDTHS)), "lr": tunecore.loguniform(*LR_RANGE)}
    for sampler in samplers:
        started = time.perf_counter()
        rows = []
        for seed in seeds:
            def objective(trial: Any, seed: int = seed) -> tuple[float, float]:
                width = trial.suggest_categorical("width", list(WIDTHS))
                lr = trial.suggest_float("lr", *LR_RANGE, log=True)
                return float(error_curve(width, lr, seed)[-1]), latency(width)

            t0 = time.perf_counter()
            search = tune_optuna.OptunaSearch(sampler=make_sampler(sampler, seed, population))
            grid = run_tuner(_curve_trainable(seed, MAX_T), space, ["error", "latency"], trials, search_alg=search,
                             max_concurrent_trials=max_concurrent)
            t_tc = time.perf_counter() - t0
            t0 = time.perf_counter()
            study = optuna_study(make_sampler(sampler, seed, population), objective, trials)
            t_op = time.perf_counter() - t0
            ours = grid.get_hypervolume(CURVE_REFERENCE)
            anchor, anchor_check = _hv_both(study_points(study), CURVE_REFERENCE)
            last, iterations, _ = _front_of_last(grid)
            rows.append({"seed": seed, "tunecore_hv": _r(ours, 6), "anchor_hv": _r(anchor, 6),
                         "ratio": _r(ours / anchor if anchor else math.nan),
                         "tunecore_hv_tight": _r(grid.get_hypervolume(CURVE_REFERENCE_TIGHT), 6),
                         "anchor_hv_tight": _r(_hv_both(study_points(study), CURVE_REFERENCE_TIGHT)[0], 6),
                         "tunecore_trials": len(grid), "tunecore_errors": grid.num_errors,
                         "tunecore_iterations": iterations, "anchor_trials": len(study.trials),
                         "in_flight_at_ask": in_flight_at_ask(search),
                         "hv_check": bool(math.isclose(ours, hv2d(last, CURVE_REFERENCE), rel_tol=1e-9)
                                          and math.isclose(anchor, anchor_check, rel_tol=1e-9)),
                         "tunecore_s": _r(t_tc, 2), "anchor_s": _r(t_op, 2)})
        ratio = _mean([r["ratio"] for r in rows])
        report.emit({"part": "B(iii)", "problem": "learning_curves", "method": SAMPLER_NAMES[sampler],
                     "anchor": "optuna study.optimize", "trials": trials, "max_t": MAX_T, "seeds": len(seeds),
                     "population_size": population if sampler == "nsga2" else None,
                     "max_concurrent_trials": max_concurrent, "reference_point": list(CURVE_REFERENCE),
                     "tunecore_hv": _r(_mean([r["tunecore_hv"] for r in rows])),
                     "anchor_hv": _r(_mean([r["anchor_hv"] for r in rows])),
                     "ratio": _r(ratio), "min_ratio": _r(min(r["ratio"] for r in rows)),
                     "ratio_tight": _r(_mean([r["tunecore_hv_tight"] / r["anchor_hv_tight"] for r in rows
                                              if r["anchor_hv_tight"]])),
                     "in_flight_at_ask": _r(_mean([r["in_flight_at_ask"] for r in rows
                                                  if r["in_flight_at_ask"] is not None]), 2),
                     "iterations_fraction": None, "target": f"ratio >= {HV_TARGET}", "pass": bool(ratio >= HV_TARGET),
                     "hv_check": all(r["hv_check"] for r in rows), "per_seed": rows,
                     "seconds": _r(time.perf_counter() - started, 2)})


# -- output --------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


def markdown(lines: list[dict]) -> list[str]:
    out = ["| part | problem | sampler / scheduler | tunecore HV | anchor HV | anchor | ratio | "
           "iterations fraction | result |",
           "|---|---|---|---|---|---|---|---|---|"]
    for line in lines:
        if "part" not in line or line.get("method") == "FIFO":
            continue
        verdict = "" if line.get("pass") is None else ("PASS" if line["pass"] else "**FAIL**")
        if line.get("diagnostic") and verdict:
            verdict = f"({verdict.strip('*')}, diagnostic)"
        if line.get("skipped"):
            verdict = f"**FAIL** (not run: {line['skipped']})"
        out.append(f"| {line['part']} | {line['problem']} | {line['method']} | {_fmt(line.get('tunecore_hv'))} | "
                   f"{_fmt(line.get('anchor_hv'))} | {line.get('anchor', '')} | {_fmt(line.get('ratio'), 3)} | "
                   f"{_fmt(line.get('iterations_fraction'), 3)} | {verdict} |")
    return out


def machine() -> dict:
    def version(module: str) -> str:
        try:
            return str(__import__(module).__version__)
        except Exception:
            return "?"

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except Exception:
        commit, dirty = "?", False
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "tunecore": version("tunecore"),
            "optuna": version("optuna"), "ray": version("ray"), "numpy": version("numpy"),
            "commit": commit + ("+dirty" if dirty else ""), "date": datetime.date.today().isoformat(),
            "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


SIZES = {
    #         problems                  A trials  A seeds  B configs  B seeds  C trials  C seeds
    "full": (["zdt1", "zdt2", "zdt3"], 150, 3, 64, 5, 64, 3),
    "quick": (["zdt1", "zdt2", "zdt3"], 40, 1, 32, 1, 16, 1),
    "tiny": (["zdt1"], 20, 1, 8, 1, 8, 1),
}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and one seed (~1 minute)")
    parser.add_argument("--tiny", action="store_true",
                        help="the smallest sizes, for the smoke test: 1 problem, 20 trials, 8 configurations "
                        "(wins over --quick)")
    parser.add_argument("--json", metavar="PATH", help="also write every JSON line to PATH")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table after the JSON lines")
    parser.add_argument("--parts", default="A,B,C", help="which parts to run: A, B (MO-ASHA vs FIFO), "
                        "C (B(iii): full runs against Optuna); default A,B,C")
    parser.add_argument("--no-diagnostics", action="store_true",
                        help="skip the diagnostic rows (NSGA-II with max_concurrent_trials=2, MO-ASHA with "
                        "grace_period=9); --quick and --tiny skip them anyway")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray (default 2)")
    parser.add_argument("--max-concurrent", type=int, default=None, metavar="N",
                        help="TuneConfig(max_concurrent_trials=N) of the OptunaSearch runs (parts A and "
                        "B(iii)); default: tunecore's (none)")
    args = parser.parse_args(argv)
    problems, a_trials, a_seeds, b_configs, b_seeds, c_trials, c_seeds = SIZES[
        "tiny" if args.tiny else "quick" if args.quick else "full"]
    parts = {p.strip().upper() for p in args.parts.split(",") if p.strip()}
    samplers = ["nsga2", "tpe"]
    diagnostics = not (args.quick or args.tiny or args.no_diagnostics)
    population = 20 if a_trials >= 60 else 10

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    report = Report(args.json)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with quiet():
        init_ray(args.num_cpus)
        try:
            seconds["ray_init"] = _r(time.perf_counter() - started, 2)
            if "A" in parts:
                t0 = time.perf_counter()
                part_a(report, problems, samplers, list(range(a_seeds)), a_trials, population,
                       sequential_check=True, max_concurrent=args.max_concurrent, diagnostics=diagnostics)
                seconds["A"] = _r(time.perf_counter() - t0, 2)
            if "B" in parts:
                t0 = time.perf_counter()
                part_b(report, list(range(b_seeds)), b_configs, diagnostic_graces=[9] if diagnostics else [])
                seconds["B"] = _r(time.perf_counter() - t0, 2)
            if "C" in parts:
                t0 = time.perf_counter()
                part_c(report, samplers, list(range(c_seeds)), c_trials, population=min(16, max(4, c_trials // 4)),
                       max_concurrent=args.max_concurrent)
                seconds["B(iii)"] = _r(time.perf_counter() - t0, 2)
        finally:
            import ray

            ray.shutdown()
    measured = [line for line in report.lines if line.get("pass") is not None and not line.get("diagnostic")]
    failed = [f"{line['part']} {line['problem']} {line['method']}" for line in measured if not line["pass"]]
    seconds["total"] = _r(time.perf_counter() - started, 2)
    report.emit({"summary": True, "size": "tiny" if args.tiny else "quick" if args.quick else "full",
                 "machine": machine(), "seconds": seconds, "measurements": len(measured),
                 "passed": len(measured) - len(failed), "failed": failed,
                 "all_pass": not failed, "hv_checks_ok": all(line.get("hv_check", True) for line in report.lines)})
    report.save()
    if args.markdown:
        _stdout.write("\n" + "\n".join(markdown(report.lines)) + "\n")
    if failed:
        _stdout.write("\nFAIL: " + "; ".join(failed) + "\n")
    _stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
