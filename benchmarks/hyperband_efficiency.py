"""How much of a full search HyperBand and ASHA save, on learning curves that cross.

A deterministic discrete-event simulation: 64 configurations of an SGD-like learner
whose learning curves are generated from their hyperparameters (fast starters that
plateau low, slow ones that win late, some that diverge), ``max_t`` 100 iterations,
4 workers. The schedulers are driven through the same callbacks the TrialRunner
calls (``on_trial_add``, ``on_trial_result``, ``on_trial_complete``,
``choose_trial_to_run``, ``stop_trial``/``unpause_trial`` requests carried out after
each callback), so the decisions are the ones a real run would act on. The same
benchmark, with the same configurations and seeds, drives Ray Tune's own
``ASHAScheduler`` and ``HyperBandScheduler`` when ``ray.tune`` is importable.

Run: ``python benchmarks/hyperband_efficiency.py [--seeds 10] [--per-seed] [--sensitivity]``. Prints one JSON line;
the verdict also counts per-seed wins, ties and losses against each Ray Tune comparator.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

MAX_T = 100
NUM_CONFIGS = 64
WORKERS = 4
METRIC = "mean_accuracy"


# -- the learning-curve benchmark ---------------------------------------------------
@dataclass
class Config:
    """One hyperparameter setting and the learning curve it produces."""

    lr: float
    width: float
    curve: np.ndarray  # observed accuracy after iteration 1..max_t
    cost: float  # simulated seconds per iteration


def make_configs(seed: int, n: int = NUM_CONFIGS, max_t: int = MAX_T) -> list[Config]:
    """``n`` random configs of a learner whose speed and ceiling trade off through ``lr``.

    * ``lr`` (log-uniform 1e-4..1) sets the speed: high rates converge in a few
      iterations but plateau low (noisy SGD); low rates climb slowly and end higher,
      so curves cross between iterations ~5 and ~60.
    * ``width`` (0..1, model size) raises the ceiling, and slows each iteration.
    * Large ``lr`` with a wide model diverges after an early peak.
    * Evaluation noise: sd 0.004 on every reported accuracy.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, max_t + 1, dtype=float)
    configs = []
    for _ in range(n):
        lr = 10 ** rng.uniform(-4, 0)
        width = rng.uniform(0, 1)
        speed = 40 * lr  # progress per iteration
        ceiling = 0.86 + 0.10 * width - 0.10 * max(0.0, math.log10(lr) + 2.3) \
            - 0.05 * max(0.0, -2.9 - math.log10(lr))
        progress = 1 - np.exp(-((speed * t) ** 0.7))
        acc = 0.10 + (ceiling - 0.10) * progress
        if lr * (1 + 2 * width) > 0.6:  # diverges after an early peak
            t_div = rng.uniform(3, 30)
            acc = np.where(t > t_div, 0.10 + (acc - 0.10) * np.exp(-(t - t_div) / 15), acc)
        acc = np.clip(acc + rng.normal(0, 0.004, size=max_t), 0.0, 1.0)
        configs.append(Config(lr, width, acc, 0.8 + 0.4 * width))
    return configs


# -- the simulated runner -------------------------------------------------------------
class SimTrial:
    """A trial as Ray Tune's schedulers see it (status strings, hashable, ``is_saving``)."""

    def __init__(self, index: int) -> None:
        self.trial_id = f"{index:05d}"
        self.status = "PENDING"
        self.is_saving = False
        self.last_result: Optional[dict] = None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"SimTrial({self.trial_id}, {self.status})"


class Simulation:
    """Run one scheduler over one set of configs; a discrete-event loop like the TrialRunner's.

    Args:
        scheduler: the scheduler under test.
        configs: the benchmark configurations.
        make_trial: builds the trial object the scheduler expects, from an index.
        status: maps a state name to the value the trial objects use.
        unpause: what ``unpause_trial`` does (tunecore: PAUSED -> PENDING; Ray Tune
            schedules unpaused trials itself, so nothing).
    """

    def __init__(self, scheduler: Any, configs: list[Config], make_trial: Callable[[int], Any],
                 status: Callable[[str], Any], unpause: bool) -> None:
        self.scheduler = scheduler
        self.configs = configs
        self.max_t = len(configs[0].curve)
        self.status = status
        self.unpause_enabled = unpause
        self.trials = [make_trial(i) for i in range(len(configs))]
        self.index = {t.trial_id: i for i, t in enumerate(self.trials)}
        self.done = [0] * len(configs)
        self.iterations = 0
        self.now = 0.0
        self.events: list = []
        self.queue: list = []
        self.free = WORKERS

    # SchedulerContext (tunecore) / TuneController (Ray Tune) surface
    def get_trials(self) -> list:
        return self.trials

    def has_resources(self, resources: Any) -> bool:
        return self.free > 0

    def stop_trial(self, trial: Any) -> None:
        self.queue.append(("stop", trial))

    def unpause_trial(self, trial: Any) -> None:
        self.queue.append(("unpause", trial))

    def _carry_out(self) -> None:
        while self.queue:
            op, trial = self.queue.pop(0)
            if op == "unpause" and self.unpause_enabled and trial.status == self.status("PAUSED"):
                trial.status = self.status("PENDING")
            elif op == "stop" and trial.status in (self.status("PENDING"), self.status("PAUSED")):
                self.scheduler.on_trial_remove(self, trial)
                trial.status = self.status("TERMINATED")
            elif op == "stop" and trial.status == self.status("RUNNING"):
                self.events = [e for e in self.events if e[2] is not trial]
                heapq.heapify(self.events)
                self.free += 1
                self.scheduler.on_trial_complete(self, trial, trial.last_result)
                trial.status = self.status("TERMINATED")

    def _launch(self, trial: Any) -> None:
        i = self.index[trial.trial_id]
        trial.status = self.status("RUNNING")
        heapq.heappush(self.events, (self.now + self.configs[i].cost, i, trial))

    def run(self) -> Simulation:
        for trial in self.trials:
            self.scheduler.on_trial_add(self, trial)
        while True:
            while self.free > 0:
                trial = self.scheduler.choose_trial_to_run(self)
                if trial is None:
                    break
                self.free -= 1
                self._launch(trial)
            if not self.events:
                break
            self.now, i, trial = heapq.heappop(self.events)
            self.done[i] += 1
            self.iterations += 1
            it = self.done[i]
            result = {"training_iteration": it, METRIC: float(self.configs[i].curve[it - 1]),
                      "time_total_s": it * self.configs[i].cost}
            if it >= self.max_t:  # the experiment's stop criterion
                self.scheduler.on_trial_complete(self, trial, result)
                decision = "STOP"
            else:
                decision = str(self.scheduler.on_trial_result(self, trial, result))
            trial.last_result = result
            self._carry_out()
            if decision == "CONTINUE":
                heapq.heappush(self.events, (self.now + self.configs[i].cost, i, trial))
            else:
                trial.status = self.status("PAUSED" if decision == "PAUSE" else "TERMINATED")
                self.free += 1
            self._carry_out()
        return self

    def summary(self) -> dict:
        """What the search found: the trial with the best last reported accuracy (the one a
        user would pick, as ``get_best_trial(scope="last")``), scored by its accuracy after
        ``max_t`` iterations, against the best of all configs run to the end."""
        finals = [float(c.curve[-1]) for c in self.configs]
        best = max(finals)
        seen = [i for i, t in enumerate(self.trials) if t.last_result is not None]
        pick = max(seen, key=lambda i: self.trials[i].last_result[METRIC])
        found = finals[pick]
        # What the run itself delivers: the picked trial's accuracy at the last iteration
        # it actually trained (Ray Tune's HyperBand stops its finalists before max_t).
        trained = float(self.configs[pick].curve[self.done[pick] - 1])
        full = sum(1 for d in self.done if d >= self.max_t)
        unfinished = sum(1 for t in self.trials if t.status != self.status("TERMINATED"))
        return {"found": round(found, 4), "best": round(best, 4), "ratio": round(found / best, 4),
                "trained_ratio": round(trained / best, 4),
                "picked_iterations": self.done[pick], "iterations": self.iterations,
                "fraction": round(self.iterations / (self.max_t * len(self.configs)), 4),
                "full_runs": full, "unfinished": unfinished, "sim_time": round(self.now, 1)}


# -- the schedulers under comparison ------------------------------------------------------
# (build a scheduler, make a trial, a status by name, whether statuses are tunecore's)
_Parts = tuple[Callable[[], Any], Callable[[int], Any], Callable[[str], Any], bool]


def _ours(kind: str, max_t: int = MAX_T, **settings: Any) -> _Parts:
    from tune_hyperband import AsyncHyperBandScheduler, HyperBandScheduler
    from tunecore.execution.trial import Trial, TrialStatus

    def build() -> Any:
        cls = AsyncHyperBandScheduler if kind == "asha" else HyperBandScheduler
        return cls(metric=METRIC, mode="max", max_t=max_t, **settings)

    def make_trial(i: int) -> Trial:
        return Trial("sim", config={}, trial_id=f"{i:05d}")

    return build, make_trial, lambda name: TrialStatus(name), True


def _ray(kind: str, settings: str = "defaults", max_t: int = MAX_T, reduction_factor: int = 3) -> _Parts:
    from ray.tune.schedulers import ASHAScheduler, HyperBandScheduler

    def build() -> Any:
        if kind == "asha":
            if settings == "same":  # our defaults for max_t=100: grace 10, rf 4, 1 bracket
                from tune_hyperband import AsyncHyperBandScheduler as Ours

                o = Ours(max_t=max_t)
                return ASHAScheduler(metric=METRIC, mode="max", max_t=max_t, grace_period=o._grace_period,
                                     reduction_factor=o._reduction_factor, brackets=o.num_brackets)
            return ASHAScheduler(metric=METRIC, mode="max", max_t=max_t)
        # "to_max_t": finalists train to max_t (the experiment's stop) as tunecore's do;
        # Ray's default stops them at their last milestone r0 * eta**k (81 or 99 here).
        return HyperBandScheduler(metric=METRIC, mode="max", max_t=max_t, reduction_factor=reduction_factor,
                                  stop_last_trials=settings != "to_max_t")

    return build, SimTrial, lambda name: name, False


def run_all(seeds: list[int], variants: dict[str, Callable], max_t: int = MAX_T) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {name: [] for name in variants}
    for seed in seeds:
        configs = make_configs(seed, max_t=max_t)
        for name, factory in variants.items():
            build, make_trial, status, unpause = factory()
            np.random.seed(seed)  # Ray Tune's ASHA draws brackets from numpy's global RNG
            sim = Simulation(build(), configs, make_trial, status, unpause).run()
            out[name].append(sim.summary())
    return out


def aggregate(rows: list[dict]) -> dict:
    ratios = [r["ratio"] for r in rows]
    fracs = [r["fraction"] for r in rows]
    return {
        "mean_ratio": round(float(np.mean(ratios)), 4),
        "mean_trained_ratio": round(float(np.mean([r["trained_ratio"] for r in rows])), 4),
        "min_ratio": round(float(np.min(ratios)), 4),
        "mean_fraction": round(float(np.mean(fracs)), 4),
        "max_fraction": round(float(np.max(fracs)), 4),
        "within_2pct": sum(r >= 0.98 for r in ratios),
        "under_third": sum(f <= 1 / 3 for f in fracs),
        "unfinished": sum(r["unfinished"] for r in rows),
        "runs": len(rows),
    }


def head_to_head(ours: list[dict], theirs: list[dict]) -> dict:
    """Per-seed wins/ties/losses of ``ours`` against ``theirs`` (same configs, same seed)."""
    def tally(key: str, better: Callable[[float, float], bool]) -> dict:
        pairs = [(a[key], b[key]) for a, b in zip(ours, theirs)]
        wins = sum(better(a, b) for a, b in pairs)
        ties = sum(a == b for a, b in pairs)
        return {"wins": wins, "ties": ties, "losses": len(pairs) - wins - ties}

    return {"accuracy": tally("ratio", lambda a, b: a > b),
            "iterations": tally("iterations", lambda a, b: a < b),
            "both_ok": sum(a["ratio"] >= b["ratio"] and a["iterations"] <= b["iterations"]
                           for a, b in zip(ours, theirs))}


def sensitivity(seeds: list[int], max_ts: tuple[int, ...] = (27, 81, 100, 200),
                etas: tuple[int, ...] = (2, 3, 4)) -> list[dict]:
    """HyperBand, tunecore against Ray Tune, away from the issue's setting: every
    (max_t, eta) pair, the same configs and seeds on both sides, brackets as each derives
    them from max_t and eta."""
    import logging

    logging.getLogger("ray.tune.schedulers.hyperband").setLevel(logging.WARNING)  # "Bracket too small"
    rows = []
    for max_t in max_ts:
        for eta in etas:
            runs = run_all(seeds, {
                "tunecore": lambda m=max_t, e=eta: _ours("hyperband", max_t=m, reduction_factor=e),
                "ray": lambda m=max_t, e=eta: _ray("hyperband", "defaults", max_t=m, reduction_factor=e),
            }, max_t=max_t)
            ours, theirs = aggregate(runs["tunecore"]), aggregate(runs["ray"])
            rows.append({"max_t": max_t, "eta": eta,
                         "tunecore": {"ratio": ours["mean_ratio"], "fraction": ours["mean_fraction"]},
                         "ray": {"ratio": theirs["mean_ratio"], "fraction": theirs["mean_fraction"]}})
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="benchmark instances (default 20)")
    parser.add_argument("--per-seed", action="store_true", help="also print every run's figures")
    parser.add_argument("--sensitivity", action="store_true",
                        help="instead: HyperBand vs Ray Tune's for max_t 27/81/100/200 and eta 2/3/4")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    if args.sensitivity:
        start = time.perf_counter()
        rows = sensitivity(seeds)
        print(json.dumps({"benchmark": "hyperband_sensitivity", "seeds": len(seeds), "rows": rows,
                          "seconds": round(time.perf_counter() - start, 2)}))
        return 0
    variants: dict[str, Callable] = {
        "tunecore_asha": lambda: _ours("asha"),
        "tunecore_hyperband": lambda: _ours("hyperband"),
        # the 2018 Tune's ASHA defaults, for reference: first rung at 10, rf 3, three brackets
        "tunecore_asha_seed_settings": lambda: _ours("asha", grace_period=10, reduction_factor=3, brackets=3),
    }
    try:
        import ray.tune.schedulers  # noqa: F401

        variants["ray_asha_same_settings"] = lambda: _ray("asha", "same")
        variants["ray_asha_defaults"] = lambda: _ray("asha", "defaults")
        variants["ray_hyperband"] = lambda: _ray("hyperband", "defaults")
        variants["ray_hyperband_to_max_t"] = lambda: _ray("hyperband", "to_max_t")
        ray_error = None
    except ImportError as exc:  # pragma: no cover - depends on the environment
        ray_error = str(exc)
    start = time.perf_counter()
    results = run_all(seeds, variants)
    figures: dict[str, Any] = {"benchmark": "hyperband_efficiency", "configs": NUM_CONFIGS, "max_t": MAX_T,
                               "workers": WORKERS, "seeds": len(seeds),
                               "budget_full": NUM_CONFIGS * MAX_T}
    for name, rows in results.items():
        figures[name] = aggregate(rows)
        if args.per_seed:
            figures[name]["per_seed"] = rows
    if ray_error:
        figures["ray_tune"] = f"not importable: {ray_error}"
    # The targets, on the mean over seeds: within 2% of the best full run, with at most
    # a third of the full search's iterations; and against Ray Tune with the same
    # settings: at least as accurate with no more iterations.
    verdict = {}
    for ours in ("tunecore_asha", "tunecore_hyperband"):
        agg = figures[ours]
        verdict[ours] = {"within_2pct": agg["mean_ratio"] >= 0.98, "under_third": agg["mean_fraction"] <= 1 / 3,
                         "no_unfinished_trials": agg["unfinished"] == 0}
    for ours, theirs in (("tunecore_asha", "ray_asha_same_settings"), ("tunecore_hyperband", "ray_hyperband"),
                         ("tunecore_hyperband", "ray_hyperband_to_max_t"), ("tunecore_asha", "ray_asha_defaults")):
        if theirs in figures:
            verdict[f"{ours}_vs_{theirs}"] = {
                "at_least_as_accurate": figures[ours]["mean_ratio"] >= figures[theirs]["mean_ratio"],
                "no_more_iterations": figures[ours]["mean_fraction"] <= figures[theirs]["mean_fraction"],
                "per_seed": head_to_head(results[ours], results[theirs]),
            }
    figures["verdict"] = verdict
    figures["seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
