"""Throughput workload: 4 concurrent trials (0.5 CPU each) reporting R results in a tight loop.

Measures the results per second the driver takes in — every result goes through the
stopping check, the scheduler, the search algorithm and (when on) the loggers — once
with the default loggers on and once with them off, in the same Ray.
Figures: ``results_per_s_loggers_on``/``_off``, ``wall_s_loggers_on``/``_off``,
``results_on``/``results_off`` (results the driver's scheduler saw; 4 * R when every
result reaches it — the rate counts only those).

    python benchmarks/throughput.py [--framework tunecore|raytune] [--results 2000]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as C  # noqa: E402

TRIALS = 4
CPU_PER_TRIAL = 0.5


def tight_loop_tunecore(config: dict, reporter) -> None:
    for i in range(config["results"]):
        reporter(mean_accuracy=i * 1e-4, timesteps_total=i + 1)


def tight_loop_raytune(config: dict) -> None:
    from ray import tune

    for i in range(config["results"]):
        tune.report({"mean_accuracy": i * 1e-4, "timesteps_total": i + 1})


class _CountingFIFO:
    """Mixed into each framework's FIFO scheduler: counts the results it is shown."""

    seen = 0

    def on_trial_result(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).seen += 1
        return super().on_trial_result(*args, **kwargs)


def run_tunecore(results: int, folder: str, loggers_on: bool) -> tuple[float, int]:
    import tunecore
    from tunecore.schedulers import FIFOScheduler

    sched_cls = type("CountingFIFO", (_CountingFIFO, FIFOScheduler), {"seen": 0})
    spec = {"run": tight_loop_tunecore, "config": {"results": results}, "num_samples": TRIALS,
            "trial_resources": {"cpu": CPU_PER_TRIAL}, "local_dir": folder}
    if not loggers_on:
        spec["loggers"] = []
    with C.quiet(), C.Timer() as timer:
        tunecore.run_experiments({f"throughput_{loggers_on}": spec}, scheduler=sched_cls(), verbose=0)
    return timer.seconds, sched_cls.seen


def run_raytune(results: int, folder: str, loggers_on: bool) -> tuple[float, int]:
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler

    sched_cls = type("CountingFIFO", (_CountingFIFO, FIFOScheduler), {"seen": 0})
    old = os.environ.get("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS")
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "0" if loggers_on else "1"
    try:
        tuner = tune.Tuner(
            tune.with_resources(tight_loop_raytune, {"cpu": CPU_PER_TRIAL}),
            param_space={"results": results},
            tune_config=tune.TuneConfig(num_samples=TRIALS, reuse_actors=True, scheduler=sched_cls()),
            run_config=tune.RunConfig(name=f"throughput_{loggers_on}", storage_path=folder, verbose=0),
        )
        with C.quiet(), C.Timer() as timer:
            tuner.fit()
    finally:
        if old is None:
            os.environ.pop("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", None)
        else:
            os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = old
    return timer.seconds, sched_cls.seen


def main(argv: list[str] | None = None) -> dict:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--results", type=int, default=2000, help="results per trial (default: 2000)")
    args = p.parse_args(argv)
    C.require_framework(args.framework)
    C.init_ray(args.num_cpus)
    run = run_tunecore if args.framework == "tunecore" else run_raytune
    figures: dict = {}
    with C.workdir(args.keep_dir, "throughput") as folder:
        for on in (True, False):
            wall, seen = run(args.results, folder, on)
            suffix = "on" if on else "off"
            figures[f"wall_s_loggers_{suffix}"] = round(wall, 4)
            # results the driver handled (the scheduler saw each), per second of the run
            figures[f"results_per_s_loggers_{suffix}"] = round(seen / wall, 1)
            figures[f"results_{suffix}"] = seen
    ours = args.framework == "tunecore"
    figures["loggers"] = C.tunecore_default_loggers() if ours else ["json", "csv", "tensorboard"]
    return C.emit("throughput", args.framework, figures,
                  {"trials": TRIALS, "results": args.results, "cpu_per_trial": CPU_PER_TRIAL,
                   "num_cpus": args.num_cpus})


if __name__ == "__main__":
    main()
