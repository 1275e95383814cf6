"""Checkpoint workload: trials saving and restoring a 10 MB state every iteration.

T trials (1 CPU each on a 2-CPU Ray) hold an incompressible state of ``--mb`` MB. A
FIFO scheduler answers PAUSE to every result, so after each iteration the framework
saves the trial, stops it, later restarts it and restores the state: one save and one
restore per iteration, with other trials taking the free CPUs meanwhile.
Figures: ``saves`` (pauses), ``restores`` (seen by the trainables), ``wall_s`` and
``seconds_per_save`` (wall time per save+restore cycle, the run's throughput of them).

    python benchmarks/checkpoints.py [--framework tunecore|raytune] [--trials 4] [--iters 10] [--mb 10]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as C  # noqa: E402

_BLOCK: dict = {}


def make_state(mb: float) -> bytearray:
    """An incompressible state of ``mb`` MB (random bytes made once per worker process)."""
    size = int(mb * 1024 * 1024)
    if size not in _BLOCK:
        _BLOCK[size] = os.urandom(size)
    return bytearray(_BLOCK[size])


def _write(folder: str, state: bytearray, restores: int) -> str:
    """Save the state and the count of restores so far (it travels with the state)."""
    with open(os.path.join(folder, "restores.txt"), "w", encoding="ascii") as f:
        f.write(str(restores))
    path = os.path.join(folder, "state.bin")
    with open(path, "wb") as f:
        f.write(state)
    return path


def _read(path: str) -> tuple[bytearray, int]:
    """The state and the number of restores it has been through, this one included."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    with open(os.path.join(folder, "state.bin"), "rb") as f:
        state = bytearray(f.read())
    with open(os.path.join(folder, "restores.txt"), encoding="ascii") as f:
        return state, int(f.read()) + 1


def _result(state: bytearray, restores: int) -> dict:
    return {"mean_accuracy": state[0] / 255.0, "restores": restores, "state_bytes": len(state)}


def tunecore_trainable() -> type:
    import tunecore

    class StateTrainable(tunecore.Trainable):
        def _setup(self, config: dict) -> None:
            self.state = make_state(config["mb"])
            self.restores = 0

        def _train(self) -> dict:
            self.state[self.iteration % len(self.state)] ^= 0xFF
            return _result(self.state, self.restores)

        def _save(self, checkpoint_dir: str) -> str:
            return _write(checkpoint_dir, self.state, self.restores)

        def _restore(self, path: str) -> None:
            self.state, self.restores = _read(path)

        def reset_config(self, new_config: dict) -> bool:
            self.restores = 0
            return True

    return StateTrainable


def raytune_trainable() -> type:
    from ray import tune

    class StateTrainable(tune.Trainable):
        def setup(self, config: dict) -> None:
            self.state = make_state(config["mb"])
            self.restores = 0

        def step(self) -> dict:
            self.state[self.iteration % len(self.state)] ^= 0xFF
            return _result(self.state, self.restores)

        def save_checkpoint(self, checkpoint_dir: str) -> None:
            _write(checkpoint_dir, self.state, self.restores)

        def load_checkpoint(self, checkpoint: str) -> None:
            self.state, self.restores = _read(checkpoint)

        def reset_config(self, new_config: dict) -> bool:
            self.restores = 0
            return True

    return StateTrainable


class _PauseEveryResult:
    """Mixed into each framework's FIFO scheduler: PAUSE after every result, count them."""

    pauses = 0
    pause_decision: object = None

    def on_trial_result(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        type(self).pauses += 1
        return self.pause_decision


def run_tunecore(trials: int, iters: int, mb: float, folder: str) -> tuple[float, int, int]:
    import tunecore
    from tunecore.schedulers import FIFOScheduler, TrialScheduler

    sched_cls = type("PauseFIFO", (_PauseEveryResult, FIFOScheduler),
                     {"pauses": 0, "pause_decision": TrialScheduler.PAUSE})
    spec = {"run": tunecore_trainable(), "config": {"mb": mb}, "num_samples": trials,
            "stop": {"training_iteration": iters}, "trial_resources": {"cpu": 1}, "local_dir": folder}
    with C.quiet(), C.Timer() as timer:
        done = tunecore.run_experiments({"checkpoints": spec}, scheduler=sched_cls(), verbose=0)
    restores = sum((t.last_result or {}).get("restores", 0) for t in done)
    return timer.seconds, sched_cls.pauses, restores


def run_raytune(trials: int, iters: int, mb: float, folder: str) -> tuple[float, int, int]:
    from ray import tune
    from ray.tune.schedulers import FIFOScheduler, TrialScheduler

    sched_cls = type("PauseFIFO", (_PauseEveryResult, FIFOScheduler),
                     {"pauses": 0, "pause_decision": TrialScheduler.PAUSE})
    tuner = tune.Tuner(
        tune.with_resources(raytune_trainable(), {"cpu": 1}),
        param_space={"mb": mb},
        tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=True, scheduler=sched_cls()),
        run_config=tune.RunConfig(name="checkpoints", storage_path=folder, verbose=0,
                                  stop={"training_iteration": iters}),
    )
    with C.quiet(), C.Timer() as timer:
        grid = tuner.fit()
    restores = sum((r.metrics or {}).get("restores", 0) for r in grid)
    return timer.seconds, sched_cls.pauses, restores


def main(argv: list[str] | None = None) -> dict:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=4, help="number of trials (default: 4)")
    p.add_argument("--iters", type=int, default=10, help="iterations per trial (default: 10)")
    p.add_argument("--mb", type=float, default=10.0, help="state size in MB (default: 10)")
    args = p.parse_args(argv)
    C.require_framework(args.framework)
    C.init_ray(args.num_cpus)
    with C.workdir(args.keep_dir, "checkpoints") as folder:
        run = run_tunecore if args.framework == "tunecore" else run_raytune
        wall, saves, restores = run(args.trials, args.iters, args.mb, folder)
    figures = {
        "wall_s": round(wall, 4),
        "saves": saves,
        "restores": restores,
        "seconds_per_save": round(wall / max(saves, 1), 4),
    }
    return C.emit("checkpoints", args.framework, figures,
                  {"trials": args.trials, "iters": args.iters, "mb": args.mb, "num_cpus": args.num_cpus,
                   "cpu_per_trial": 1})


if __name__ == "__main__":
    main()
