"""The toy problem of the PBT paper (Jaderberg et al. 2017, fig. 2), tuned with tunecore's PBT.

Maximise Q(θ) = 1.2 − (θ0² + θ1²) from θ = (0.9, 0.9). A worker cannot see Q: it does
gradient ascent on a surrogate Q̂(θ|h) = 1.2 − (h0·θ0² + h1·θ1²), and its hyperparameters
h decide which coordinates it shrinks. With h = (1, 0) or (0, 1) alone a worker stalls at
Q = 1.2 − 0.81 = 0.39. PBT ranks the workers by the true Q every 4 steps, copies θ (the
state) from the better worker into the worse one and perturbs h, so the population
reaches Q ≈ 1.2.

    python examples/pbt_toy.py [--no-pbt] [--iterations 100]
"""

from __future__ import annotations

import argparse

import numpy as np

import tunecore
from tune_pbt import PopulationBasedTraining


class ToyWorker(tunecore.Trainable):
    """θ is the state (saved, restored, copied on exploit); h0, h1 and lr are the config."""

    STEPS_PER_ITERATION = 4  # the paper's "ready" interval: PBT may act every 4 steps

    def _setup(self, config):
        self.theta = np.array([0.9, 0.9])

    def _train(self):
        h = np.array([self.config["h0"], self.config["h1"]])
        for _ in range(self.STEPS_PER_ITERATION):
            self.theta = self.theta + self.config["lr"] * (-2.0 * h * self.theta)  # ∇Q̂ ascent
        q = 1.2 - float(np.sum(self.theta ** 2))
        return {"Q": q, "theta0": float(self.theta[0]), "theta1": float(self.theta[1]),
                "episode_reward_mean": q}

    def _save(self, checkpoint_dir):
        return {"theta": self.theta.tolist()}

    def _restore(self, state):
        self.theta = np.array(state["theta"])

    def reset_config(self, new_config):
        self.config = new_config
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pbt", action="store_true", help="run the two workers without PBT")
    parser.add_argument("--iterations", type=int, default=100, help="iterations of 4 gradient steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    scheduler = None
    if not args.no_pbt:
        scheduler = PopulationBasedTraining(
            time_attr="training_iteration", metric="Q", mode="max", perturbation_interval=1,
            quantile_fraction=0.5, resample_probability=0.5, seed=args.seed, verbose=False,
            hyperparam_mutations={"h0": tunecore.uniform(0, 1), "h1": tunecore.uniform(0, 1)})
    trials = tunecore.run_experiments(
        {"pbt_toy": {"run": ToyWorker, "stop": {"training_iteration": args.iterations},
                     "config": {"lr": 0.05, "h0": tunecore.grid_search([1.0, 0.0]),
                                "h1": tunecore.sample_from(lambda spec: 1.0 - spec.config.h0)}}},
        scheduler=scheduler, verbose=1)
    for trial in trials:
        r = trial.last_result
        print(f"{trial}: Q={r['Q']:.4f} θ=({r['theta0']:.3f}, {r['theta1']:.3f})")
    print(f"best Q = {max(t.last_result['Q'] for t in trials):.4f}")


if __name__ == "__main__":
    main()
