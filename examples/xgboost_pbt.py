"""XGBoost with Population Based Training: boosters swap state mid-training (tune-integrations).

A population of XGBoost classifiers trains on scikit-learn's bundled breast-cancer data (no
download). ``TuneReportCheckpointCallback`` reports every boosting round (``eval-logloss``, as
Ray Tune names it) and checkpoints the booster every ``--interval`` rounds. At those rounds PBT
ranks the population: the worst trial continues from a better one's checkpoint (its booster,
loaded with ``get_model`` and boosted further with ``xgb_model=``) with a perturbed learning
rate. The winner's learning-rate schedule is read back from PBT's records and printed.

    pip install "tune-integrations[xgboost]" tune-pbt scikit-learn
    python examples/xgboost_pbt.py [--population 6] [--rounds 60] [--interval 10]
    python examples/xgboost_pbt.py --small     # 4 boosters of 24 rounds, a few seconds

A Ray Tune 2.x script differs from this only in its imports.
"""

from __future__ import annotations

import argparse
import os

import tunecore as tune
from tune_integrations.xgboost import TuneReportCheckpointCallback
from tune_pbt import PopulationBasedTraining, load_schedule, replay_schedule
from tunecore.search import BasicVariantGenerator


def load_data():
    """Train / validation / test splits of breast_cancer (569 rows, 30 features)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    x_train, x_valid, y_train, y_valid = train_test_split(x_rest, y_rest, test_size=0.25, random_state=0,
                                                          stratify=y_rest)
    return x_train, x_valid, x_test, y_train, y_valid, y_test


def train_breast_cancer(config):
    """Boost to ``config["rounds"]`` rounds in all, continuing the checkpoint PBT (or a restore) gives."""
    import xgboost as xgb

    x_train, x_valid, _, y_train, y_valid, _ = load_data()
    dtrain, dvalid = xgb.DMatrix(x_train, y_train), xgb.DMatrix(x_valid, y_valid)
    start = tune.get_checkpoint()
    booster = TuneReportCheckpointCallback.get_model(start) if start else None
    done = booster.num_boosted_rounds() if booster is not None else 0
    if done >= config["rounds"]:  # continued from a booster that is already complete
        return
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "error"], "nthread": 1, "seed": 0,
              "eta": config["eta"], "max_depth": config["max_depth"], "subsample": config["subsample"]}
    xgb.train(params, dtrain, num_boost_round=config["rounds"] - done, xgb_model=booster,
              evals=[(dvalid, "eval")], verbose_eval=False,
              callbacks=[TuneReportCheckpointCallback(frequency=config["interval"])])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=60, help="boosting rounds of each booster")
    parser.add_argument("--interval", type=int, default=10, help="rounds between two PBT decisions")
    parser.add_argument("--small", action="store_true", help="4 boosters of 24 rounds, PBT every 6")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.small:
        args.population, args.rounds, args.interval = 4, 24, 6

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=args.interval,
        hyperparam_mutations={"eta": tune.loguniform(1e-3, 0.5), "subsample": [0.6, 0.8, 1.0]},
        resample_probability=0.25, seed=args.seed, verbose=False)
    tuner = tune.Tuner(
        train_breast_cancer,
        param_space={"rounds": args.rounds, "interval": args.interval,
                     "eta": tune.loguniform(1e-3, 0.5), "max_depth": tune.randint(2, 7),
                     "subsample": tune.choice([0.6, 0.8, 1.0])},
        # Two boosters at a time: at each perturbation point PBT pauses the reporting booster while
        # others wait, so the population advances together and every round of decisions ranks all of
        # it (a paused booster resumes from its checkpoint). Sampling is seeded, so runs repeat.
        tune_config=tune.TuneConfig(metric="eval-logloss", mode="min", num_samples=args.population,
                                    scheduler=pbt, max_concurrent_trials=2,
                                    search_alg=BasicVariantGenerator(random_state=args.seed)),
        run_config=tune.RunConfig(name="xgboost_pbt", verbose=1),
    )
    results = tuner.fit()

    best = results.get_best_result()
    print(f"{len(results)} trials, {results.num_errors} errors; best eval-logloss={best.metrics['eval-logloss']:.4f} "
          f"after {best.metrics['training_iteration']} rounds")
    print(f"PBT exploits: {len(load_schedule(results.experiment_path))}; the best booster's learning-rate "
          "schedule (the lineage PBT found):")
    for step in replay_schedule(results.experiment_path, best.trial_id):
        print(f"  from round {step['iteration']:>3}: eta={step['config']['eta']:.4g} "
              f"subsample={step['config']['subsample']}")
    booster = TuneReportCheckpointCallback.get_model(best.checkpoint)
    import xgboost as xgb

    _, _, x_test, _, _, y_test = load_data()
    accuracy = float(((booster.predict(xgb.DMatrix(x_test)) > 0.5) == y_test).mean())
    print(f"its booster ({booster.num_boosted_rounds()} rounds, from {os.path.basename(best.checkpoint.path)}): "
          f"test accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
