"""OptunaSearch (TPE) against random search at equal trial counts, on Hartmann-6 and Rosenbrock-4.

A pure search-algorithm loop, no Ray: each searcher gets the same experiment (tunecore
sample domains in the config), produces trials through ``next_trials``, and is told each
trial's value through ``on_trial_complete`` -- exactly the calls the TrialRunner makes.
Random search is the core's ``BasicVariantGenerator`` over the same space.

    python benchmarks/optuna_vs_random.py [--trials 100] [--seeds 10] [--batch 1]

Prints one JSON line: per function, the best value found after ``--trials`` trials
(mean/median over seeds, lower is better) for both searchers, and how many seeds
Optuna won.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings

import numpy as np

import tunecore as tune
from tunecore.searchers import BasicVariantGenerator

# Hartmann-6 on [0, 1]^6; global minimum -3.32237.
_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
               [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(config: dict) -> float:
    x = np.array([config[f"x{i}"] for i in range(6)])
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


def rosenbrock4(config: dict) -> float:
    x = [config[f"x{i}"] for i in range(4)]
    return float(sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3)))


FUNCTIONS = {
    "hartmann6": (hartmann6, {f"x{i}": tune.uniform(0, 1) for i in range(6)}, -3.32237),
    "rosenbrock4": (rosenbrock4, {f"x{i}": tune.uniform(-2, 2) for i in range(4)}, 0.0),
}


def _noop(config, reporter):  # the trainable the experiment names; never run here
    reporter(loss=0)


def best_after(searcher, objective, name: str, space: dict, trials: int) -> float:
    """Drive ``searcher`` like the runner would; the best value after ``trials`` trials."""
    searcher.add_configurations({f"bench_{name}": {"run": "bench_noop", "num_samples": trials,
                                                   "config": dict(space)}})
    best = math.inf
    done = 0
    while not searcher.is_finished():
        batch = searcher.next_trials()
        for trial in batch:
            value = objective(trial.config)
            best = min(best, value)
            result = {"loss": value, "training_iteration": 1, "done": True}
            searcher.on_trial_result(trial.trial_id, result)
            searcher.on_trial_complete(trial.trial_id, result=result)
            done += 1
    assert done == trials, (done, trials)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1, help="OptunaSearch max_concurrent")
    args = parser.parse_args()

    from tune_optuna import OptunaSearch

    tune.register_trainable("bench_noop", _noop)
    warnings.simplefilter("ignore")
    out: dict = {"benchmark": "optuna_vs_random", "trials": args.trials, "seeds": args.seeds,
                 "optuna_max_concurrent": args.batch, "functions": {}}
    for name, (objective, space, optimum) in FUNCTIONS.items():
        tpe, rnd = [], []
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            tpe.append(best_after(OptunaSearch(metric="loss", mode="min", seed=seed, max_concurrent=args.batch),
                                  objective, name, space, args.trials))
        t_tpe = time.perf_counter() - t0
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            rnd.append(best_after(BasicVariantGenerator(seed=seed), objective, name, space, args.trials))
        t_rnd = time.perf_counter() - t0
        out["functions"][name] = {
            "optimum": optimum,
            "optuna_best_mean": round(statistics.mean(tpe), 4),
            "optuna_best_median": round(statistics.median(tpe), 4),
            "random_best_mean": round(statistics.mean(rnd), 4),
            "random_best_median": round(statistics.median(rnd), 4),
            "optuna_wins": sum(a < b for a, b in zip(tpe, rnd)),
            "optuna_seconds": round(t_tpe, 2),
            "random_seconds": round(t_rnd, 2),
        }
    out["optuna_beats_random"] = all(
        f["optuna_best_mean"] < f["random_best_mean"] and f["optuna_wins"] > args.seeds // 2
        for f in out["functions"].values())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
