"""PBT finds a learning-rate schedule for a small neural network on scikit-learn's digits.

A population of 4 one-hidden-layer networks (numpy, minibatch SGD with momentum) trains
on the 8x8 digits that ship with scikit-learn (no download). Every 2 epochs PBT ranks
them by validation accuracy; the bottom one copies the weights of a top one and
perturbs its learning rate (x0.8 / x1.2, or a fresh log-uniform sample) and momentum (a
neighbouring value). The result is a *schedule*: the winning network's learning rate
over time, read back from the events PBT records on disk and printed at the end.

    pip install scikit-learn          # the tune-pbt[examples] extra
    python examples/pbt_example.py    # about a minute on 2 cores
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import tunecore
from tune_pbt import PopulationBasedTraining, replay_schedule


def load_data(seed: int = 0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


class DigitsMLP(tunecore.Trainable):
    """64 -> 64 (tanh) -> 10 softmax; one epoch of SGD per iteration. Weights are the state."""

    def _setup(self, config):
        self.x_train, self.x_val, self.y_train, self.y_val = load_data()
        rng = np.random.default_rng(config.get("init_seed", 0))
        self.params = {"w1": rng.normal(0, 0.1, (64, 64)), "b1": np.zeros(64),
                       "w2": rng.normal(0, 0.1, (64, 10)), "b2": np.zeros(10)}
        self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.rng = rng

    def _forward(self, x):
        h = np.tanh(x @ self.params["w1"] + self.params["b1"])
        logits = h @ self.params["w2"] + self.params["b2"]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return h, p / p.sum(axis=1, keepdims=True)

    def _train(self):
        lr, mom, batch = self.config["lr"], self.config["momentum"], 32
        order = self.rng.permutation(len(self.x_train))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            x, y = self.x_train[idx], self.y_train[idx]
            h, p = self._forward(x)
            d2 = p.copy()
            d2[np.arange(len(y)), y] -= 1.0
            d2 /= len(y)
            d1 = (d2 @ self.params["w2"].T) * (1 - h ** 2)
            grads = {"w2": h.T @ d2, "b2": d2.sum(0), "w1": x.T @ d1, "b1": d1.sum(0)}
            for k, g in grads.items():
                self.velocity[k] = mom * self.velocity[k] - lr * g
                self.params[k] += self.velocity[k]
        _, p = self._forward(self.x_val)
        accuracy = float((p.argmax(1) == self.y_val).mean())
        loss = float(-np.log(p[np.arange(len(self.y_val)), self.y_val] + 1e-12).mean())
        return {"mean_accuracy": accuracy, "mean_loss": loss, "lr": lr}

    def _save(self, checkpoint_dir):
        return {"params": {k: v.tolist() for k, v in self.params.items()},
                "velocity": {k: v.tolist() for k, v in self.velocity.items()}}

    def _restore(self, state):
        self.params = {k: np.array(v) for k, v in state["params"].items()}
        self.velocity = {k: np.array(v) for k, v in state["velocity"].items()}

    def reset_config(self, new_config):
        self.config = new_config
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--local-dir", default=None, help="where results go (default: a temporary folder)")
    args = parser.parse_args()
    local_dir = args.local_dir or tempfile.mkdtemp(prefix="pbt_digits_")

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", metric="mean_accuracy", mode="max", perturbation_interval=2,
        hyperparam_mutations={"lr": tunecore.loguniform(1e-3, 1.0), "momentum": [0.0, 0.5, 0.9, 0.95]},
        resample_probability=0.25, seed=args.seed)
    trials = tunecore.run_experiments(
        {"pbt_digits": {
            "run": DigitsMLP, "stop": {"training_iteration": args.epochs}, "local_dir": local_dir,
            "num_samples": args.population, "seed": args.seed,
            # Half a CPU each, so the whole population runs at once on a 2-core machine.
            "trial_resources": {"cpu": 0.5},
            "config": {"lr": tunecore.loguniform(1e-3, 1e-1), "momentum": tunecore.choice([0.0, 0.5, 0.9]),
                       "init_seed": tunecore.randint(0, 1000)}}},
        scheduler=pbt, verbose=1)

    best = max(trials, key=lambda t: t.last_result["mean_accuracy"])
    print(f"\nbest trial {best}: validation accuracy {best.last_result['mean_accuracy']:.4f}")
    print("its learning-rate schedule (the lineage PBT found, from events.jsonl):")
    for step in replay_schedule(os.path.join(local_dir, "pbt_digits"), best.trial_id):
        print(f"  from epoch {step['iteration']:>3}: lr={step['config']['lr']:.4g} "
              f"momentum={step['config']['momentum']}")
    print(f"results in {os.path.join(local_dir, 'pbt_digits')}")


if __name__ == "__main__":
    main()
