"""LightGBM tuned by Optuna's TPE, weak boosters cut short by ASHA (tune-integrations).

Each trial trains a LightGBM classifier on scikit-learn's bundled breast-cancer data (no
download). ``TuneReportCheckpointCallback`` reports every boosting round to tunecore, named as
Ray Tune names them (``eval-binary_logloss``), so ASHA compares the trials round by round and
stops the weak ones at its rungs; the round a trial ends at is checkpointed. The best trial's
booster is loaded back from its checkpoint and scored on data no trial saw.

    pip install "tune-integrations[lightgbm]" tune-hyperband tune-optuna scikit-learn
    python examples/lightgbm_asha.py [--samples 24] [--rounds 90]
    python examples/lightgbm_asha.py --small     # 8 trials of up to 27 rounds, a few seconds

A Ray Tune 2.x script differs from this only in its imports.
"""

from __future__ import annotations

import argparse

import tunecore as tune
from tune_hyperband import ASHAScheduler
from tune_integrations.lightgbm import TuneReportCheckpointCallback
from tune_optuna import OptunaSearch


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
    """One trial: boost up to ``config["rounds"]`` rounds; every round is a result ASHA can act on."""
    import lightgbm as lgb

    x_train, x_valid, _, y_train, y_valid, _ = load_data()
    dtrain = lgb.Dataset(x_train, y_train)
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
    params = {"objective": "binary", "metric": ["binary_logloss", "binary_error"], "verbose": -1,
              "num_threads": 1, "deterministic": True, "seed": 0,
              **{k: v for k, v in config.items() if k != "rounds"}}
    lgb.train(params, dtrain, num_boost_round=config["rounds"], valid_sets=[dvalid], valid_names=["eval"],
              callbacks=[TuneReportCheckpointCallback()])  # every metric, "eval-binary_logloss" and so on


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=24, help="configurations to try")
    parser.add_argument("--rounds", type=int, default=90, help="boosting rounds of the longest trial")
    parser.add_argument("--small", action="store_true", help="8 trials of up to 27 rounds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.small:
        args.samples, args.rounds = 8, 27

    search = OptunaSearch(seed=args.seed)
    asha = ASHAScheduler(max_t=args.rounds, grace_period=max(1, args.rounds // 9), reduction_factor=3)
    tuner = tune.Tuner(
        train_breast_cancer,
        param_space={
            "rounds": args.rounds,
            "learning_rate": tune.loguniform(1e-3, 0.3),
            "num_leaves": tune.randint(2, 64),
            "min_child_samples": tune.randint(5, 40),
            "feature_fraction": tune.uniform(0.5, 1.0),
            "lambda_l2": tune.loguniform(1e-8, 10.0),
        },
        tune_config=tune.TuneConfig(metric="eval-binary_logloss", mode="min", num_samples=args.samples,
                                    search_alg=search, scheduler=asha),
        run_config=tune.RunConfig(name="lightgbm_asha", verbose=1),
    )
    results = tuner.fit()

    rounds = [r.metrics.get("training_iteration", 0) for r in results]
    print(f"{len(results)} trials, {results.num_errors} errors; {sum(rounds)} of {args.samples * args.rounds} "
          f"boosting rounds run; {sum(n < args.rounds for n in rounds)} trials stopped early by ASHA")
    best = results.get_best_result()
    print(f"best eval-binary_logloss={best.metrics['eval-binary_logloss']:.4f} after "
          f"{best.metrics['training_iteration']} rounds: learning_rate={best.config['learning_rate']:.3g}, "
          f"num_leaves={best.config['num_leaves']}")
    if best.checkpoint is None:  # only a trial that ran all its rounds is checkpointed (checkpoint_at_end)
        print("the best trial was stopped early, so it has no checkpoint")
        return
    booster = TuneReportCheckpointCallback.get_model(best.checkpoint)
    _, _, x_test, _, _, y_test = load_data()
    accuracy = float(((booster.predict(x_test) > 0.5) == y_test).mean())
    print(f"its booster ({booster.current_iteration()} trees, from {best.checkpoint.path}): "
          f"test accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
