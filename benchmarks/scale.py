"""Scale workload: many trivial trials — the driver's peak memory and its growth per 1,000 trials.

N trials (default 2,000) of a function that reports one result, 1 CPU each on a
2-CPU Ray. A FIFO scheduler samples the driver's resident memory as trials complete;
growth is measured over the second half of the run (after warm-up), scaled to 1,000
trials. Figures: ``peak_rss_mib`` (the driver process's peak), ``rss_start_mib``,
``rss_half_mib``, ``rss_end_mib``, ``growth_mib_per_1000_trials``, ``wall_s``,
``disk_kib_per_trial`` (files the run left per trial).

    python benchmarks/scale.py [--framework tunecore|raytune] [--trials 2000]
"""

from __future__ import annotations

import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as C  # noqa: E402

MIB = 1024 * 1024


def trivial_tunecore(config: dict, reporter) -> None:
    reporter(mean_accuracy=config["i"] * 1e-4)


def trivial_raytune(config: dict) -> None:
    from ray import tune

    tune.report({"mean_accuracy": config["i"] * 1e-4})


class _MemoryProbe:
    """Mixed into each framework's FIFO scheduler: RSS when half and all trials completed."""

    total = 0
    completed = 0
    samples: dict = {}

    def on_trial_complete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        cls = type(self)
        cls.completed += 1
        if cls.completed in (max(cls.total // 2, 1), cls.total):
            gc.collect()
            cls.samples[cls.completed] = C.rss_bytes()
        return super().on_trial_complete(*args, **kwargs)


def _probe(base: type, total: int) -> type:
    return type("MemoryProbeFIFO", (_MemoryProbe, base), {"total": total, "completed": 0, "samples": {}})


def run_tunecore(trials: int, folder: str) -> tuple[float, dict]:
    import tunecore
    from tunecore.schedulers import FIFOScheduler

    sched_cls = _probe(FIFOScheduler, trials)
    spec = {"run": trivial_tunecore, "config": {"i": tunecore.grid_search(list(range(trials)))},
            "trial_resources": {"cpu": 1}, "local_dir": folder}
    with C.quiet(), C.Timer() as timer:
        tunecore.run_experiments({"scale": spec}, scheduler=sched_cls(), verbose=0)
    return timer.seconds, sched_cls.samples


def run_raytune(trials: int, folder: str) -> tuple[float, dict]:
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler

    sched_cls = _probe(FIFOScheduler, trials)
    tuner = tune.Tuner(
        trivial_raytune,
        param_space={"i": tune.grid_search(list(range(trials)))},
        tune_config=tune.TuneConfig(reuse_actors=True, scheduler=sched_cls()),
        run_config=tune.RunConfig(name="scale", storage_path=folder, verbose=0),
    )
    with C.quiet(), C.Timer() as timer:
        tuner.fit()
    return timer.seconds, sched_cls.samples


def _disk_bytes(folder: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def main(argv: list[str] | None = None) -> dict:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=2000, help="number of trials (default: 2000)")
    args = p.parse_args(argv)
    if args.trials < 2:
        p.error("--trials must be >= 2")
    C.require_framework(args.framework)
    C.init_ray(args.num_cpus)
    if args.framework == "tunecore":
        import tunecore  # noqa: F401  (imports count as start-up, not growth)
    else:
        from ray import tune  # noqa: F401
    gc.collect()
    start = C.rss_bytes()
    with C.workdir(args.keep_dir, "scale") as folder:
        run = run_tunecore if args.framework == "tunecore" else run_raytune
        wall, samples = run(args.trials, folder)
        disk = _disk_bytes(folder)
    half_n = max(args.trials // 2, 1)
    half, end = samples.get(half_n, 0), samples.get(args.trials, 0)
    growth = (end - half) / (args.trials - half_n) * 1000 if half and end else float("nan")
    figures = {
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(C.peak_rss_bytes() / MIB, 2),
        "rss_start_mib": round(start / MIB, 2),
        "rss_half_mib": round(half / MIB, 2),
        "rss_end_mib": round(end / MIB, 2),
        "growth_mib_per_1000_trials": round(growth / MIB, 3),
        "disk_kib_per_trial": round(disk / 1024 / args.trials, 2),
        "completed": len(samples) and max(samples),
    }
    return C.emit("scale", args.framework, figures, {"trials": args.trials, "num_cpus": args.num_cpus,
                                                      "cpu_per_trial": 1})


if __name__ == "__main__":
    main()
