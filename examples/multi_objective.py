"""Two objectives, a constraint, early stopping on both, and which hyperparameters mattered.

Trains scikit-learn's MLPClassifier (one epoch per ``partial_fit``) on the bundled digits data:
the error on held-out data against the network's size (its number of weights), both minimised,
with a constraint that a network stays under 3,000 weights. Optuna's NSGA-II proposes the
configurations (tune-optuna), the multi-objective asynchronous successive halving of tune-hyperband
stops the trials that are behind on both objectives, and the ResultGrid returns the Pareto front,
its hypervolume and the parameter importances.
Run: python examples/multi_objective.py [--samples N]
"""

from __future__ import annotations

import argparse

import optuna

import tunecore as tune
from tune_hyperband import MultiObjectiveAsyncHyperBandScheduler
from tune_optuna import OptunaSearch

MAX_WEIGHTS = 3000


def train_mlp(config):
    import warnings

    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(config["width"],), alpha=config["alpha"],
                          learning_rate_init=config["lr"], random_state=0)
    weights = 64 * config["width"] + config["width"] * 10
    for _ in range(config["epochs"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=np.arange(10))
        tune.report({"error": 1.0 - float(model.score(X_test, y_test)), "weights": weights,
                     "weights_over": weights - MAX_WEIGHTS})


def main(samples: int) -> None:
    tuner = tune.Tuner(
        train_mlp,
        param_space={"width": tune.qrandint(4, 64, 4), "lr": tune.loguniform(1e-4, 1e-1),
                     "alpha": tune.loguniform(1e-6, 1e-2), "epochs": 27},
        tune_config=tune.TuneConfig(
            metric=["error", "weights"], mode=["min", "min"], constraints=["weights_over"], num_samples=samples,
            search_alg=OptunaSearch(sampler=optuna.samplers.NSGAIISampler(seed=7, population_size=8)),
            scheduler=MultiObjectiveAsyncHyperBandScheduler(max_t=27, grace_period=3, reduction_factor=3),
        ),
        run_config=tune.RunConfig(name="multi_objective", verbose=1),
    )
    results = tuner.fit()
    front = sorted(results.get_pareto_front(), key=lambda r: r.metrics["weights"])
    epochs = sum(r.metrics["training_iteration"] for r in results)
    print(f"{len(results)} trials, {epochs} of {len(results) * 27} epochs run; Pareto front of "
          f"{len(front)} feasible trials:")
    for r in front:
        print(f"  error={r.metrics['error']:.4f} weights={r.metrics['weights']} width={r.config['width']} "
              f"lr={r.config['lr']:.3g}")
    print(f"hypervolume={results.get_hypervolume([1.0, MAX_WEIGHTS]):.1f} (reference error 1, {MAX_WEIGHTS} weights)")
    shares = results.get_param_importances("error")
    print("importances for error: " + ", ".join(f"{name}={share:.2f}" for name, share in shares.items()))
    print(f"results in {results.experiment_path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24)
    main(parser.parse_args().samples)
