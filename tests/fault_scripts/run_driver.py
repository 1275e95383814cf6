"""A driver the fault tests run (and kill) as a subprocess.

usage: run_driver.py LOCAL_DIR ADDRESS [--resume] [--trials N] [--iters N] [--short N]
       [--sleep S] [--spec-variant X] [--api run_experiments|tuner]

``--api tuner`` runs the same experiment as a Ray Tune 2.x script (``Tuner`` with the function
``steps_function``; ``--resume`` is ``Tuner.restore``).

Trials ``i < --short`` stop after 3 iterations, the others after ``--iters``.
Prints one JSON line ``{"statuses": {...}}`` when the run ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fault_trainables import Steps, steps_function  # noqa: E402

import tunecore as tune  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("local_dir")
    p.add_argument("address")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--short", type=int, default=2)
    p.add_argument("--iters", type=int, default=14)
    p.add_argument("--sleep", type=float, default=0.08)
    p.add_argument("--spec-variant", default="a")
    p.add_argument("--api", default="run_experiments", choices=["run_experiments", "tuner"])
    args = p.parse_args()
    if args.api == "tuner":
        return tuner_main(args)
    tune.register_trainable("Steps", Steps)
    iters = [3 if i < args.short else args.iters for i in range(args.trials)]
    trials = tune.run_experiments(
        {"fault": {"run": "Steps", "local_dir": args.local_dir, "checkpoint_freq": 2, "max_failures": 2,
                   "config": {"iters": tune.grid_search(iters), "sleep": args.sleep,
                              "variant": args.spec_variant}}},
        address=None if args.address == "local" else args.address, resume=args.resume, verbose=1,
        num_cpus=4 if args.address == "local" else None)
    print(json.dumps({"statuses": {t.trial_id: t.status.value for t in trials}}), flush=True)


def tuner_main(args: argparse.Namespace) -> None:
    if args.address != "local":
        import ray

        ray.init(address=args.address)
    iters = [3 if i < args.short else args.iters for i in range(args.trials)]
    path = os.path.join(args.local_dir, "fault")
    if args.resume:
        tuner = tune.Tuner.restore(path, steps_function)
    else:
        tuner = tune.Tuner(steps_function,
                           param_space={"iters": tune.grid_search(iters), "sleep": args.sleep,
                                        "variant": args.spec_variant},
                           run_config=tune.RunConfig(name="fault", storage_path=args.local_dir, verbose=1,
                                                     failure_config=tune.FailureConfig(max_failures=2)))
    grid = tuner.fit()
    print(json.dumps({"statuses": {os.path.basename(r.path): ("ERROR" if r.error else "TERMINATED")
                                   for r in grid}}), flush=True)


if __name__ == "__main__":
    main()
