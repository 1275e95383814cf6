"""Overhead workload: N trials of a function that reports one result and returns.

Each trial asks for 1 CPU on a 2-CPU Ray, so at most two run at once and the run's
wall time is almost all framework overhead (starting a trial, one result, ending it).
Figures: ``wall_s`` (the whole ``run_experiments``/``Tuner.fit`` call),
``overhead_per_trial_ms``, ``trials_per_s``, ``results`` (results the driver saw).

    python benchmarks/overhead.py [--framework tunecore|raytune] [--trials 200]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as C  # noqa: E402


def one_result_tunecore(config: dict, reporter) -> None:
    reporter(mean_accuracy=config["i"] * 0.001, timesteps_total=1)


def one_result_raytune(config: dict) -> None:
    from ray import tune

    tune.report({"mean_accuracy": config["i"] * 0.001, "timesteps_total": 1})


def run_tunecore(trials: int, folder: str) -> tuple[float, int, list[str]]:
    import tunecore

    spec = {"run": one_result_tunecore, "config": {"i": tunecore.grid_search(list(range(trials)))},
            "trial_resources": {"cpu": 1}, "local_dir": folder}
    with C.quiet(), C.Timer() as timer:
        done = tunecore.run_experiments({"overhead": spec}, verbose=0)
    return timer.seconds, sum(t.results_seen for t in done), C.tunecore_default_loggers()


def run_raytune(trials: int, folder: str) -> tuple[float, int, list[str]]:
    from ray import tune

    tuner = tune.Tuner(
        one_result_raytune,
        param_space={"i": tune.grid_search(list(range(trials)))},
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(name="overhead", storage_path=folder, verbose=0),
    )
    with C.quiet(), C.Timer() as timer:
        grid = tuner.fit()
    results = sum(1 for r in grid if r.metrics)
    return timer.seconds, results, ["json", "csv", "tensorboard"]


def main(argv: list[str] | None = None) -> dict:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200, help="number of trials (default: 200)")
    args = p.parse_args(argv)
    C.require_framework(args.framework)
    C.init_ray(args.num_cpus)
    with C.workdir(args.keep_dir, "overhead") as folder:
        run = run_tunecore if args.framework == "tunecore" else run_raytune
        wall, results, loggers = run(args.trials, folder)
    figures = {
        "wall_s": round(wall, 4),
        "overhead_per_trial_ms": round(1000 * wall / args.trials, 3),
        "trials_per_s": round(args.trials / wall, 2),
        "results": results,
        "loggers": loggers,
    }
    return C.emit("overhead", args.framework, figures,
                  {"trials": args.trials, "num_cpus": args.num_cpus, "cpu_per_trial": 1})


if __name__ == "__main__":
    main()
