"""scikit-learn's RandomizedSearchCV on Ray, with ASHA stopping weak configurations early.

``TuneSearchCV`` takes what ``RandomizedSearchCV`` takes (an estimator, scipy.stats
distributions or lists, ``n_trials`` for ``n_iter``, ``cv``, ``scoring``, ``random_state``) and
gives what it gives (``cv_results_``, ``best_params_``, ``best_estimator_``, ``predict``). Each
configuration is a tunecore trial; with ``early_stopping=True`` every trial trains its 5 folds
one epoch at a time (``partial_fit`` of the pipeline's last step), reports the mean validation
accuracy after each epoch, and ASHA stops the trials below the cut-off at its rungs.

The data is scikit-learn's bundled digits (no download); the model a StandardScaler and an
SGDClassifier.

    pip install "tune-integrations[sklearn]" tune-hyperband pandas
    python examples/sklearn_search_cv.py [--samples 24] [--max-iters 30] [--small]

Takes about a minute on two cores (``--small``: a few seconds of training).
"""

from __future__ import annotations

import argparse

from scipy import stats
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tune_integrations.sklearn import TuneSearchCV


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24, help="configurations to try (n_trials)")
    parser.add_argument("--max-iters", type=int, default=30, help="epochs of a trial that is never stopped")
    parser.add_argument("--small", action="store_true", help="8 configurations, 9 epochs, 3 folds")
    args = parser.parse_args(argv)
    samples, max_iters, folds = (8, 9, 3) if args.small else (args.samples, args.max_iters, 5)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    search = TuneSearchCV(
        model,
        {
            "sgdclassifier__alpha": stats.loguniform(1e-6, 1e-1),
            "sgdclassifier__loss": ["hinge", "log_loss", "modified_huber"],
            "sgdclassifier__learning_rate": ["optimal", "invscaling", "constant"],
            "sgdclassifier__eta0": stats.loguniform(1e-4, 1e-1),
        },
        n_trials=samples,
        early_stopping=True,  # ASHA over the epochs
        max_iters=max_iters,
        cv=folds,
        random_state=0,
        name="sklearn_search_cv",
    )
    search.fit(X_train, y_train)

    import pandas as pd

    table = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
    columns = ["rank_test_score", "mean_test_score", "std_test_score", "training_iteration",
               "param_sgdclassifier__loss", "param_sgdclassifier__learning_rate", "param_sgdclassifier__alpha"]
    print(table[columns].head(5).to_string(index=False))
    epochs = int(table["training_iteration"].sum())
    print(f"{len(table)} configurations; {epochs} epochs per fold trained of {samples * max_iters} "
          f"(every configuration to the end); "
          f"{int((table['training_iteration'] < max_iters).sum())} stopped early by ASHA")
    print(f"best CV accuracy={search.best_score_:.4f} with {search.best_params_}")
    print(f"refit on the training set in {search.refit_time_:.2f}s; test accuracy={search.score(X_test, y_test):.4f}")
    print(f"trials in {search.experiment_path_}")


if __name__ == "__main__":
    main()
