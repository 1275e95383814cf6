"""Asynchronous HyperBand (ASHA) on a real model, with a function trainable.

Each trial trains a small neural network (scikit-learn's ``MLPClassifier``, one epoch per
iteration with ``partial_fit``) on scikit-learn's bundled digits (no download) and reports
the held-out accuracy. ASHA compares each trial with the others at its rungs (a tenth
of ``max_t``, then every ``reduction_factor`` times further) and stops the ones below
the cut-off; it never pauses, so a plain function works.

    pip install tune-hyperband[examples]      # scikit-learn
    python examples/async_hyperband_example.py [--samples 20] [--max-t 30]

Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import tunecore as tune
from tune_hyperband import AsyncHyperBandScheduler


def train_digits_mlp(config, reporter):
    """One epoch of mini-batch training per report; runs until the scheduler stops it."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    model = MLPClassifier(hidden_layer_sizes=(int(config["hidden"]),), solver="sgd", momentum=0.9,
                          learning_rate_init=config["lr"], alpha=config["alpha"], random_state=0)
    classes = np.unique(y_train)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(1, config["max_epochs"] + 1):
            order = rng.permutation(len(x_train))
            for batch in np.array_split(order, 5):
                model.partial_fit(x_train[batch], y_train[batch], classes=classes)
            reporter(mean_accuracy=float(model.score(x_test, y_test)), epoch=epoch)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="configurations to try")
    parser.add_argument("--max-t", type=int, default=30, help="epochs of the longest trial")
    args = parser.parse_args(argv)

    asha = AsyncHyperBandScheduler(time_attr="training_iteration", metric="mean_accuracy", mode="max",
                                   max_t=args.max_t, grace_period=3)
    trials = tune.run_experiments({
        "asha_digits": {
            "run": train_digits_mlp,
            "config": {
                "lr": tune.loguniform(1e-4, 0.5),
                "alpha": tune.loguniform(1e-6, 1e-1),
                "hidden": tune.choice([16, 32, 64]),
                "max_epochs": args.max_t,
            },
            "num_samples": args.samples,
            "trial_resources": {"cpu": 1, "gpu": 0},
        }
    }, scheduler=asha, verbose=1)
    best = max(trials, key=lambda t: (t.last_result or {}).get("mean_accuracy", 0))
    print(f"Best: {best} accuracy={best.last_result['mean_accuracy']:.4f} after "
          f"{best.last_result['training_iteration']} epochs; "
          f"{sum((t.last_result or {}).get('training_iteration', 0) for t in trials)} epochs in all "
          f"(running every trial to the end: {args.samples * args.max_t}).")


if __name__ == "__main__":
    main()
