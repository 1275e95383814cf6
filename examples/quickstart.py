"""The main job: a small real experiment on an embedded local Ray.

Tunes the learning rate and L2 penalty of a logistic-regression model trained by
mini-batch gradient descent on scikit-learn's bundled digits data (no download),
with the median stopping rule cutting off weak trials.
Run: python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np

import tunecore as tune


def train_digits(config, reporter):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    rng = np.random.default_rng(0)
    W = np.zeros((X.shape[1], 10))
    onehot = np.eye(10)[y_train]
    for epoch in range(config["epochs"]):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            logits = X_train[idx] @ W
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            grad = X_train[idx].T @ (p - onehot[idx]) / len(idx) + config["l2"] * W
            W -= config["lr"] * grad
        accuracy = float(((X_test @ W).argmax(axis=1) == y_test).mean())
        reporter(mean_accuracy=accuracy, timesteps_total=(epoch + 1) * len(X_train))


if __name__ == "__main__":
    trials = tune.run_experiments(
        {
            "quickstart": {
                "run": train_digits,
                "stop": {"mean_accuracy": 0.99},
                "config": {
                    "lr": tune.grid_search([0.01, 0.1, 1.0]),
                    "l2": tune.loguniform(1e-5, 1e-2),
                    "epochs": 15,
                },
                "num_samples": 2,
                "seed": 7,
            }
        },
        scheduler={"name": "median_stopping", "time_attr": "training_iteration", "metric": "mean_accuracy",
                   "mode": "max", "grace_period": 3, "min_samples_required": 2, "verbose": False},
        metric="mean_accuracy",
        mode="max",
        verbose=1,
    )
    best = max(trials, key=lambda t: t.last_result["mean_accuracy"])
    print(f"best mean_accuracy={best.last_result['mean_accuracy']:.4f} with lr={best.config['lr']}, "
          f"l2={best.config['l2']:.2e} -> {best.logdir}")
