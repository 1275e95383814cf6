"""Soak: a few hundred short checkpointing trials while worker processes are SIGKILLed at random.

Every trial must still finish with its iterations logged exactly once (restored from its
checkpoints through ``max_failures``). Kills only this run's trial workers: each trainable
writes its pid to a folder on setup, and only those pids (still ``ray::`` processes) are killed.

Prints one JSON line: ``trials``, ``finished``, ``errored``, ``kills``, ``restarts``,
``results_lost`` (must be 0), ``results_duplicated`` (must be 0), ``wall_s``, ``ok``.

usage: python benchmarks/soak.py [--trials 300] [--iters 5] [--kill-every 2.0] [--num-cpus 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time


def _trainable():
    import tunecore as tune

    class Soaked(tune.Trainable):
        def _setup(self, config):
            self.step = 0
            open(os.path.join(config["pid_dir"], str(os.getpid())), "w").close()

        def _train(self):
            self.step += 1
            time.sleep(self.config["sleep"])
            return {"value": self.step, "done": self.step >= self.config["iters"]}

        def _save(self, checkpoint_dir):
            path = os.path.join(checkpoint_dir, "state.json")
            with open(path, "w") as f:
                json.dump({"step": self.step}, f)
            return path

        def _restore(self, path):
            with open(path) as f:
                self.step = json.load(f)["step"]

    return Soaked


def _is_ray_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"ray::" in f.read()
    except OSError:
        return False


def _killer(pid_dir: str, every: float, rng: random.Random, stop: threading.Event, kills: list) -> None:
    while not stop.wait(rng.uniform(0.5, 1.5) * every):
        pids = [int(p) for p in os.listdir(pid_dir) if _is_ray_worker(int(p))]
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        except ProcessLookupError:
            pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=300)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--sleep", type=float, default=0.02, help="seconds per iteration")
    p.add_argument("--kill-every", type=float, default=2.0, help="mean seconds between kills")
    p.add_argument("--num-cpus", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    import tunecore as tune

    local_dir = tempfile.mkdtemp(prefix="tunecore-soak-")
    pid_dir = os.path.join(local_dir, "pids")
    os.makedirs(pid_dir)
    stop, kills = threading.Event(), []
    killer = threading.Thread(target=_killer, args=(pid_dir, args.kill_every, random.Random(args.seed), stop, kills),
                              daemon=True)
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        t0 = time.perf_counter()
        killer.start()
        with contextlib.redirect_stdout(sys.stderr):
            trials = tune.run_experiments({"soak": {
                "run": _trainable(), "local_dir": local_dir, "num_samples": args.trials,
                "checkpoint_freq": 1, "max_failures": 1000,
                "config": {"iters": args.iters, "sleep": args.sleep, "pid_dir": pid_dir}}},
                verbose=0, raise_on_failed_trial=False)
        wall = time.perf_counter() - t0
        stop.set()
        killer.join(5)
        lost = dup = 0
        for t in trials:
            seen: dict = {}
            path = os.path.join(t.logdir, "result.json") if t.logdir else ""
            if os.path.exists(path):
                with open(path) as f:
                    for line in f:
                        row = json.loads(line)
                        if row["value"] != row["training_iteration"]:
                            lost += 1  # a row from a wrongly restored state counts as lost
                        seen[row["training_iteration"]] = seen.get(row["training_iteration"], 0) + 1
            lost += sum(1 for i in range(1, args.iters + 1) if i not in seen)
            dup += sum(n - 1 for n in seen.values())
        finished = sum(t.status.value == "TERMINATED" for t in trials)
        out = {"benchmark": "soak", "trials": len(trials), "finished": finished,
               "errored": sum(t.status.value == "ERROR" for t in trials), "kills": len(kills),
               "restarts": sum(t.num_failures for t in trials), "results_lost": lost, "results_duplicated": dup,
               "wall_s": round(wall, 2)}
        out["ok"] = finished == args.trials and lost == 0 and dup == 0
    finally:
        stop.set()
        ray.shutdown()
        shutil.rmtree(local_dir, ignore_errors=True)
    print(json.dumps(out), file=_REAL_STDOUT, flush=True)


if __name__ == "__main__":
    _REAL_STDOUT = sys.stdout
    sys.stdout = sys.stderr  # Ray and tunecore chatter: stdout holds only the JSON line
    main()
