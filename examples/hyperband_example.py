"""HyperBand on a real model: SGD classifiers on scikit-learn's bundled digits (no download).

Each trial trains a linear classifier (``SGDClassifier``, one pass over the training set
per iteration with ``partial_fit``) with its own learning rate and regularisation, and
reports the held-out accuracy. HyperBand runs brackets of trials to a milestone, pauses
the ones that get there first, keeps the best third of each bracket and resumes them
from their checkpoints: the trainable is a class with ``_save``/``_restore``.

    pip install tune-hyperband[examples]      # scikit-learn
    python examples/hyperband_example.py [--samples 20] [--max-t 27]

Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse

import numpy as np

import tunecore as tune
from tune_hyperband import HyperBandScheduler


def load_data(seed: int = 0):
    """Digits (1797 8x8 images, bundled with scikit-learn), scaled, split 70/30."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test), y_train, y_test


class DigitsSGD(tune.Trainable):
    """One iteration = one epoch of mini-batch SGD; the model is the checkpoint."""

    def _setup(self, config):
        from sklearn.linear_model import SGDClassifier

        self.x_train, self.x_test, self.y_train, self.y_test = load_data()
        self.classes = np.unique(self.y_train)
        self.model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=config["eta0"],
                                   alpha=config["alpha"], random_state=0)
        self.epoch = 0

    def _train(self):
        order = np.random.default_rng(self.epoch).permutation(len(self.x_train))
        for batch in np.array_split(order, 10):
            self.model.partial_fit(self.x_train[batch], self.y_train[batch], classes=self.classes)
        self.epoch += 1
        return {"mean_accuracy": float(self.model.score(self.x_test, self.y_test)), "epoch": self.epoch}

    def _save(self, checkpoint_dir):
        import os
        import pickle

        path = os.path.join(checkpoint_dir, "model.pkl")
        with open(path, "wb") as f:
            pickle.dump({"model": self.model, "epoch": self.epoch}, f)
        return path

    def _restore(self, path):
        import pickle

        with open(path, "rb") as f:
            state = pickle.load(f)
        self.model, self.epoch = state["model"], state["epoch"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="configurations to try")
    parser.add_argument("--max-t", type=int, default=27, help="epochs of the longest trial")
    args = parser.parse_args(argv)

    tune.register_trainable("digits_sgd", DigitsSGD)
    hyperband = HyperBandScheduler(time_attr="training_iteration", metric="mean_accuracy", mode="max",
                                   max_t=args.max_t)
    trials = tune.run_experiments({
        "hyperband_digits": {
            "run": "digits_sgd",
            "stop": {"training_iteration": args.max_t},
            "config": {"eta0": tune.loguniform(1e-5, 1.0), "alpha": tune.loguniform(1e-6, 1e-1)},
            "num_samples": args.samples,
            "trial_resources": {"cpu": 1, "gpu": 0},
        }
    }, scheduler=hyperband, verbose=1)
    best = max(trials, key=lambda t: (t.last_result or {}).get("mean_accuracy", 0))
    print(f"Best: {best} accuracy={best.last_result['mean_accuracy']:.4f} after "
          f"{best.last_result['training_iteration']} epochs; "
          f"{sum((t.last_result or {}).get('training_iteration', 0) for t in trials)} epochs in all "
          f"(running every trial to the end: {args.samples * args.max_t}).")


if __name__ == "__main__":
    main()
