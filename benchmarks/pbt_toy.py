"""Benchmark: the PBT paper's toy problem (Jaderberg et al. 2017, fig. 2); prints one JSON line.

Two workers maximise Q(θ) = 1.2 − (θ0² + θ1²) from θ = (0.9, 0.9) by gradient ascent on
the surrogate 1.2 − (h0·θ0² + h1·θ1²), with h = (1, 0) and (0, 1). Without PBT each
stalls at Q = 0.39. With PBT (h mutated, θ the state copied on exploit, 4 gradient steps
between perturbation points, quantile 0.5) the population reaches Q ≈ 1.2.

Runs on a local Ray: (1) both workers without PBT (tunecore, FIFO), (2) tunecore with
``tune_pbt.PopulationBasedTraining`` for several seeds, (3) the same through Ray Tune's
``ray.tune.schedulers.PopulationBasedTraining`` when ``ray.tune`` can be imported
(``pip install "ray[tune]"``; skipped otherwise).

    python benchmarks/pbt_toy.py [--iterations 100] [--seeds 3] [--ray-tune-seeds 1] [--no-ray-tune]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time

import numpy as np

LR = 0.05
STEPS_PER_ITERATION = 4
THETA0 = (0.9, 0.9)


def ascend(theta: np.ndarray, h0: float, h1: float) -> np.ndarray:
    """``STEPS_PER_ITERATION`` gradient-ascent steps on the surrogate Q̂(θ|h)."""
    h = np.array([h0, h1])
    for _ in range(STEPS_PER_ITERATION):
        theta = theta + LR * (-2.0 * h * theta)
    return theta


def q_of(theta: np.ndarray) -> float:
    return 1.2 - float(np.sum(theta ** 2))


# -- tunecore ------------------------------------------------------------------------------
def toy_function(config: dict) -> None:
    """The worker as a Ray Tune 2.x function: θ lives in the checkpoint it reports every iteration."""
    import tunecore

    theta = np.array(THETA0)
    start = tunecore.get_checkpoint()
    if start is not None:
        with start.as_directory() as folder, open(os.path.join(folder, "theta.json")) as f:
            theta = np.array(json.load(f))
    while True:
        theta = ascend(theta, config["h0"], config["h1"])
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "theta.json"), "w") as f:
                json.dump(theta.tolist(), f)
            tunecore.report({"Q": q_of(theta)}, checkpoint=tunecore.Checkpoint.from_directory(folder))


def tunecore_run(iterations: int, seed: int, pbt: bool, local_dir: str, api: str = "class") -> dict:
    import tunecore
    from tune_pbt import PopulationBasedTraining

    class ToyWorker(tunecore.Trainable):
        def _setup(self, config):
            self.theta = np.array(THETA0)

        def _train(self):
            self.theta = ascend(self.theta, self.config["h0"], self.config["h1"])
            return {"Q": q_of(self.theta)}

        def _save(self, checkpoint_dir):
            return {"theta": self.theta.tolist()}

        def _restore(self, state):
            self.theta = np.array(state["theta"])

        def reset_config(self, new_config):
            self.config = new_config
            return True

    scheduler = None
    if pbt:
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration", metric="Q", mode="max", perturbation_interval=1,
            quantile_fraction=0.5, resample_probability=0.5, seed=seed, verbose=False,
            hyperparam_mutations={"h0": tunecore.uniform(0, 1), "h1": tunecore.uniform(0, 1)})
    start = time.perf_counter()
    trials = tunecore.run_experiments(
        {f"toy_{'pbt' if pbt else 'fifo'}_{api}_{seed}": {
            "run": ToyWorker if api == "class" else toy_function,
            "stop": {"training_iteration": iterations}, "local_dir": local_dir, "seed": seed,
            "config": {"h0": tunecore.grid_search([1.0, 0.0]),
                       "h1": tunecore.sample_from(lambda spec: 1.0 - spec.config.h0)}}},
        scheduler=scheduler, verbose=0)
    wall = time.perf_counter() - start
    first = []
    for trial in trials:
        with open(os.path.join(trial.logdir, "result.json")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        first.extend(r["training_iteration"] for r in rows if r["Q"] >= 1.19)
    return {"best_q": max(t.last_result["Q"] for t in trials), "wall_s": wall,
            "first_iteration_q_1_19": min(first) if first else None,
            "perturbs": scheduler._num_perturbations if scheduler is not None else 0}


# -- Ray Tune -------------------------------------------------------------------------------
def ray_tune_run(iterations: int, seed: int, local_dir: str) -> dict:
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    class RayToyWorker(tune.Trainable):
        def setup(self, config):
            self.theta = np.array(THETA0)

        def step(self):
            self.theta = ascend(self.theta, self.config["h0"], self.config["h1"])
            return {"Q": q_of(self.theta)}

        def save_checkpoint(self, checkpoint_dir):
            with open(os.path.join(checkpoint_dir, "theta.json"), "w") as f:
                json.dump(self.theta.tolist(), f)

        def load_checkpoint(self, checkpoint_dir):
            with open(os.path.join(checkpoint_dir, "theta.json")) as f:
                self.theta = np.array(json.load(f))

        def reset_config(self, new_config):
            self.config = new_config
            return True

    random.seed(seed)
    np.random.seed(seed)
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=1, quantile_fraction=0.5,
        resample_probability=0.5, hyperparam_mutations={"h0": tune.uniform(0, 1), "h1": tune.uniform(0, 1)})
    start = time.perf_counter()
    tuner = tune.Tuner(
        RayToyWorker,
        param_space={"h0": tune.grid_search([1.0, 0.0]), "h1": tune.sample_from(lambda spec: 1.0 - spec.config.h0)},
        tune_config=tune.TuneConfig(scheduler=pbt, metric="Q", mode="max", reuse_actors=True),
        run_config=tune.RunConfig(name=f"ray_toy_{seed}", storage_path=local_dir, verbose=0,
                                  stop={"training_iteration": iterations}),
    )
    grid = tuner.fit()
    wall = time.perf_counter() - start
    best = max(r.metrics["Q"] for r in grid if r.metrics)
    first = []
    for r in grid:
        df = r.metrics_dataframe
        if df is not None and len(df):
            first.extend(int(i) for i in df.loc[df["Q"] >= 1.19, "training_iteration"])
    return {"best_q": best, "wall_s": wall, "first_iteration_q_1_19": min(first) if first else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100, help="iterations of 4 gradient steps each")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ray-tune-seeds", type=int, default=1,
                        help="seeds for Ray Tune (slow: it checkpoints to disk at every perturbation)")
    parser.add_argument("--no-ray-tune", action="store_true", help="skip the Ray Tune comparison")
    args = parser.parse_args()

    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    out: dict = {"benchmark": "pbt_toy", "iterations": args.iterations,
                 "gradient_steps": args.iterations * STEPS_PER_ITERATION,
                 "workers": 2, "runner": "tunecore TrialRunner on a local Ray"}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        if not ray.is_initialized():
            ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False,
                     log_to_driver=False)
        base = tunecore_run(args.iterations, 0, pbt=False, local_dir=tmp)
        out["no_pbt_best_q"] = round(base["best_q"], 4)
        out["no_pbt_wall_s"] = round(base["wall_s"], 2)
        runs = [tunecore_run(args.iterations, seed, pbt=True, local_dir=tmp) for seed in range(args.seeds)]
        qs = [r["best_q"] for r in runs]
        out["tunecore_pbt_best_q"] = [round(q, 4) for q in qs]
        out["tunecore_pbt_min_best_q"] = round(min(qs), 4)
        out["tunecore_pbt_wall_s_mean"] = round(float(np.mean([r["wall_s"] for r in runs])), 2)
        out["tunecore_pbt_perturbs_mean"] = round(float(np.mean([r["perturbs"] for r in runs])), 1)
        out["tunecore_pbt_reaches_1_19"] = all(q >= 1.19 for q in qs)
        out["tunecore_pbt_first_iteration_q_1_19"] = [r["first_iteration_q_1_19"] for r in runs]
        # the same workers written as a function trainable (tunecore.report with a checkpoint)
        fruns = [tunecore_run(args.iterations, seed, pbt=True, local_dir=tmp, api="function")
                 for seed in range(args.seeds)]
        fqs = [r["best_q"] for r in fruns]
        out["tunecore_pbt_function_best_q"] = [round(q, 4) for q in fqs]
        out["tunecore_pbt_function_min_best_q"] = round(min(fqs), 4)
        out["tunecore_pbt_function_first_iteration_q_1_19"] = [r["first_iteration_q_1_19"] for r in fruns]
        out["tunecore_pbt_function_wall_s_mean"] = round(float(np.mean([r["wall_s"] for r in fruns])), 2)
        out["tunecore_pbt_function_perturbs_mean"] = round(float(np.mean([r["perturbs"] for r in fruns])), 1)
        ray_error = None
        if args.no_ray_tune:
            ray_error = "skipped (--no-ray-tune)"
        else:
            try:
                import ray.tune  # noqa: F401
            except Exception as exc:  # ray.tune's optional dependencies are missing
                ray_error = f"ray.tune cannot be imported: {exc}"
        if ray_error is None:
            rruns = [ray_tune_run(args.iterations, seed, tmp) for seed in range(args.ray_tune_seeds)]
            rqs = [r["best_q"] for r in rruns]
            out["ray_tune_pbt_best_q"] = [round(q, 4) for q in rqs]
            out["ray_tune_pbt_min_best_q"] = round(min(rqs), 4)
            out["ray_tune_pbt_first_iteration_q_1_19"] = [r["first_iteration_q_1_19"] for r in rruns]
            out["ray_tune_pbt_wall_s_mean"] = round(float(np.mean([r["wall_s"] for r in rruns])), 2)
            out["ray_tune_version"] = ray.__version__
        else:
            out["ray_tune"] = ray_error
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
