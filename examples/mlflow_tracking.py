"""Track a tunecore search in MLflow: one MLflow run per trial, then read the runs back.

Tunes scikit-learn's SGDClassifier (one epoch per ``partial_fit``) on the bundled digits data
over a grid of learning rates and L2 penalties. ``MLflowLoggerCallback`` (tune-integrations)
logs each trial as an MLflow run: the config as params, every result as metrics at its
training iteration, the trial's folder (its checkpoints) as artifacts, FINISHED at the end.
The script then reads the runs back with ``MlflowClient`` and prints them. (The artifacts go
where the MLflow experiment keeps them: for an experiment MLflow creates in a SQLite store,
``./mlruns`` in the current folder.)

Needs ``pip install "tune-integrations[mlflow]" scikit-learn``. Look at the runs afterwards with
``mlflow ui --backend-store-uri <tracking uri>`` (the full ``mlflow`` package has the UI).
Run: python examples/mlflow_tracking.py [--small] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import tunecore as tune


def train_digits(config):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    model = SGDClassifier(loss="log_loss", alpha=config["alpha"], learning_rate="constant", eta0=config["eta0"],
                          random_state=0)
    for epoch in range(config["epochs"]):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
        with tempfile.TemporaryDirectory() as folder:  # a small checkpoint: the weights as JSON
            with open(os.path.join(folder, "weights.json"), "w") as f:
                json.dump({"epoch": epoch, "coef": model.coef_.round(4).tolist()}, f)
            tune.report({"mean_accuracy": model.score(X_test, y_test),  # a numpy float
                         "log_loss": {"train": float(-np.mean(np.log(model.predict_proba(X_train)[
                             np.arange(len(y_train)), y_train] + 1e-12)))}},
                        checkpoint=tune.Checkpoint.from_directory(folder))


def main(small: bool, tracking_uri: str) -> None:
    from mlflow import MlflowClient

    from tune_integrations.mlflow import MLflowLoggerCallback

    space = {"eta0": tune.grid_search([0.01, 0.1] if small else [0.001, 0.01, 0.1, 1.0]),
             "alpha": 1e-4 if small else tune.grid_search([1e-5, 1e-3]),
             "epochs": 4 if small else 15,
             "data": {"name": "digits", "test_size": 0.3}}
    callback = MLflowLoggerCallback(tracking_uri, experiment_name="mlflow_digits",
                                    tags={"example": "mlflow_tracking"}, save_artifact=True)
    results = tune.Tuner(
        train_digits, param_space=space,
        tune_config=tune.TuneConfig(metric="mean_accuracy", mode="max"),
        run_config=tune.RunConfig(name="mlflow_digits", verbose=1, callbacks=[callback]),
    ).fit()
    best = results.get_best_result()
    print(f"best mean_accuracy={best.metrics['mean_accuracy']:.4f} with eta0={best.config['eta0']}")

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("mlflow_digits")
    ids = {r.metrics["trial_id"] for r in results}
    runs = [r for r in client.search_runs([experiment.experiment_id], order_by=["attributes.run_name"])
            if r.data.tags.get("trial_id") in ids]  # this run's trials (the experiment may hold older ones)
    print(f"{len(runs)} MLflow runs in experiment 'mlflow_digits' at {tracking_uri}:")
    for run in runs:
        params = ", ".join(f"{k}={v}" for k, v in sorted(run.data.params.items()))
        curve = [round(m.value, 3) for m in sorted(client.get_metric_history(run.info.run_id, "mean_accuracy"),
                                                   key=lambda m: m.step)]
        artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id) if a.is_dir)
        print(f"  {run.info.run_name}  {run.info.status}\n    params: {params}\n"
              f"    mean_accuracy by step: {curve}  log_loss/train: {run.data.metrics['log_loss/train']:.3f}\n"
              f"    artifacts: {', '.join(artifacts)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2 trials of 4 epochs")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI")
                        or f"sqlite:///{os.path.abspath('mlflow.db')}",
                        help="the MLflow tracking store (default: MLFLOW_TRACKING_URI, else ./mlflow.db)")
    args = parser.parse_args()
    main(args.small, args.tracking_uri)
