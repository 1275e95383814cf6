"""A Ray Tune 2.x style script: Tuner, TuneConfig, RunConfig, a callback, stoppers.

Tunes scikit-learn's SGDClassifier (one epoch per ``partial_fit``) on the bundled digits data,
searched by Optuna's TPE (tune-optuna) and cut short by ASHA (tune-hyperband); a plateau stopper
ends trials whose accuracy no longer moves, and a callback counts what happened. A Ray Tune 2.x
script differs from this only in its imports.
Run: python examples/tuner_quickstart.py [--samples N]
"""

from __future__ import annotations

import argparse

import tunecore as tune
from tune_hyperband import ASHAScheduler
from tune_optuna import OptunaSearch
from tunecore.stopper import CombinedStopper, MaximumIterationStopper, TrialPlateauStopper


def train_digits(config):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    model = SGDClassifier(loss="log_loss", alpha=config["alpha"], learning_rate="constant", eta0=config["eta0"],
                          random_state=0)
    for _ in range(config["epochs"]):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
        tune.report({"mean_accuracy": float(model.score(X_test, y_test))})


class Counts(tune.Callback):
    """Counts trial starts, results and ends, as seen by the driver."""

    def __init__(self) -> None:
        self.started = self.results = self.completed = 0

    def on_trial_start(self, iteration, trials, trial, **info):
        self.started += 1

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.results += 1

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.completed += 1


def main(samples: int) -> None:
    counts = Counts()
    tuner = tune.Tuner(
        train_digits,
        param_space={"eta0": tune.loguniform(1e-3, 1.0), "alpha": tune.loguniform(1e-6, 1e-1), "epochs": 15},
        tune_config=tune.TuneConfig(
            metric="mean_accuracy", mode="max", num_samples=samples,
            search_alg=OptunaSearch(seed=7), scheduler=ASHAScheduler(grace_period=3, max_t=15),
        ),
        run_config=tune.RunConfig(
            name="tuner_quickstart", verbose=1, callbacks=[counts],
            stop=CombinedStopper(MaximumIterationStopper(15),
                                 TrialPlateauStopper("mean_accuracy", std=0.002, num_results=4, grace_period=5)),
        ),
    )
    results = tuner.fit()
    best = results.get_best_result()
    print(f"{len(results)} trials, {results.num_errors} errors; callback saw {counts.started} starts, "
          f"{counts.results} results, {counts.completed} ends")
    print(f"best mean_accuracy={best.metrics['mean_accuracy']:.4f} with eta0={best.config['eta0']:.3g}, "
          f"alpha={best.config['alpha']:.2e} -> {best.path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    main(parser.parse_args().samples)
