"""LightGBM and XGBoost callbacks in real trials: what they report, checkpoint, and resume from.

Every trial trains a real booster on scikit-learn's breast_cancer (seeded split, one thread,
deterministic) on the session's Ray; what the tests check is read back from the trial folders
(``result.json``, the ``checkpoint_N`` folders, the files the trainables wrote).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tunecore as tune
from tune_hyperband import ASHAScheduler
from tune_pbt import PopulationBasedTraining, load_schedule
from tunecore.errors import TuneError
from tunecore.util import read_json_lines

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

from tune_integrations import lightgbm as tlgb  # noqa: E402 - after the skips
from tune_integrations import xgboost as txgb  # noqa: E402

ROUNDS = 10
LGB_PARAMS = {"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1, "num_threads": 1,
              "deterministic": True, "seed": 0, "learning_rate": 0.1}
XGB_PARAMS = {"objective": "binary:logistic", "eval_metric": ["logloss", "error"], "nthread": 1, "seed": 0,
              "eta": 0.3}


def split():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def rows(result) -> list[dict]:
    return read_json_lines(os.path.join(result.path, "result.json"))


def checkpoint_iterations(result) -> list[int]:
    return sorted(int(d.split("_")[1]) for d in os.listdir(result.path) if re.fullmatch(r"checkpoint_\d+", d))


def by_case(grid) -> dict:
    return {r.config["case"]: r for r in grid}


# -- LightGBM ---------------------------------------------------------------------------------

def train_lightgbm(config):
    """One trial per case: the callback the case names, on the same booster."""
    x_train, x_valid, y_train, y_valid = split()
    dtrain = lgb.Dataset(x_train, y_train)
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
    case, folder = config["case"], tune.get_context().get_trial_dir()
    if case == "cv":
        lgb.cv(LGB_PARAMS, dtrain, num_boost_round=ROUNDS, nfold=3, stratified=True, seed=0,
               callbacks=[tlgb.TuneReportCallback()])
        return
    sets, names = [dtrain, dvalid], None  # LightGBM's own names: "training" and "valid_1"
    if case == "default":
        callback = tlgb.TuneReportCheckpointCallback()
    elif case == "renamed":  # unicode names, a dict of metrics, checkpoints every 4 rounds and at the end
        sets, names = [dvalid], ["válido"]
        callback = tlgb.TuneReportCheckpointCallback({"pérdida": "válido-binary_logloss", "auc": "válido-auc"},
                                                     frequency=4)
    elif case == "aligned":  # a str metric; the frequency falls on the last round: one checkpoint there
        sets = [dvalid]
        callback = tlgb.TuneReportCheckpointCallback("valid_0-binary_logloss", frequency=5)
    elif case == "report_only":  # the deprecated class; the post-processing sees numpy-free floats
        sets = [dvalid]
        callback = tlgb.TuneReportCallback(
            ["valid_0-auc"],
            results_postprocessing_fn=lambda d: {**d, "gap": {"auc": np.float32(1) - d["valid_0-auc"]}})
    else:  # "missing": a metric LightGBM does not evaluate
        sets = [dvalid]
        callback = tlgb.TuneReportCheckpointCallback({"loss": "eval-auc"})
    evals: dict = {}
    booster = lgb.train(LGB_PARAMS, dtrain, num_boost_round=ROUNDS, valid_sets=sets, valid_names=names,
                        callbacks=[lgb.record_evaluation(evals), callback])
    np.save(os.path.join(folder, "predictions.npy"), booster.predict(x_valid))
    with open(os.path.join(folder, "evals.json"), "w", encoding="utf-8") as f:
        json.dump(evals, f)


@pytest.fixture(scope="module")
def lightgbm_runs(ray_session, tmp_path_factory):
    cases = ["default", "renamed", "aligned", "report_only", "cv", "missing"]
    grid = tune.Tuner(train_lightgbm, param_space={"case": tune.grid_search(cases)},
                      tune_config=tune.TuneConfig(max_concurrent_trials=2),  # two workers: enough for 2 cores
                      run_config=tune.RunConfig(name="lgb", storage_path=str(tmp_path_factory.mktemp("lgb")),
                                                verbose=0)).fit()
    return by_case(grid)


def test_lightgbm_reports_every_round_under_rays_names(lightgbm_runs):
    run = lightgbm_runs["default"]
    assert run.error is None
    got = rows(run)
    assert [r["training_iteration"] for r in got] == list(range(1, ROUNDS + 1))
    with open(os.path.join(run.path, "evals.json"), encoding="utf-8") as f:
        evals = json.load(f)  # LightGBM's own record of the same rounds
    for data_name, metrics in evals.items():
        for metric, values in metrics.items():
            assert [r[f"{data_name}-{metric}"] for r in got] == values
    assert {k for k in got[0] if "-" in k} == {"training-binary_logloss", "training-auc", "valid_1-binary_logloss",
                                               "valid_1-auc"}
    assert set(evals) == {"training", "valid_1"}


def test_lightgbm_checkpoints_at_the_end_and_get_model_loads_the_trials_booster(lightgbm_runs):
    run = lightgbm_runs["default"]
    assert checkpoint_iterations(run) == [ROUNDS]  # frequency=0: only the end
    booster = tlgb.TuneReportCheckpointCallback.get_model(run.checkpoint)
    assert isinstance(booster, lgb.Booster) and booster.current_iteration() == ROUNDS
    _, x_valid, _, _ = split()
    in_trial = np.load(os.path.join(run.path, "predictions.npy"))
    np.testing.assert_allclose(booster.predict(x_valid), in_trial, rtol=1e-12, atol=0)


def test_lightgbm_dict_metrics_rename_and_frequency_checkpoints(lightgbm_runs):
    run = lightgbm_runs["renamed"]
    got = rows(run)
    assert len(got) == ROUNDS
    assert {k for k in got[0] if "-" in k or k in ("pérdida", "auc")} == {"pérdida", "auc"}
    with open(os.path.join(run.path, "evals.json"), encoding="utf-8") as f:
        evals = json.load(f)
    assert [r["pérdida"] for r in got] == evals["válido"]["binary_logloss"]
    assert checkpoint_iterations(run) == [4, 8, 10]
    kept = [(c, m["training_iteration"]) for c, m in run.best_checkpoints]
    assert sorted(it for _, it in kept) == [4, 8, 10]
    for checkpoint, iteration in kept:  # each checkpoint holds the booster of its round
        assert tlgb.TuneReportCheckpointCallback.get_model(checkpoint).current_iteration() == iteration


def test_lightgbm_frequency_on_the_last_round_checkpoints_once(lightgbm_runs):
    run = lightgbm_runs["aligned"]
    assert len(rows(run)) == ROUNDS
    assert checkpoint_iterations(run) == [5, 10]
    assert set(rows(run)[-1]) >= {"valid_0-binary_logloss"} and "valid_0-auc" not in rows(run)[-1]


def test_lightgbm_report_callback_never_checkpoints(lightgbm_runs):
    run = lightgbm_runs["report_only"]
    got = rows(run)
    assert len(got) == ROUNDS and checkpoint_iterations(run) == [] and run.checkpoint is None
    assert all(r["gap"]["auc"] == pytest.approx(1 - r["valid_0-auc"]) for r in got)


def test_lightgbm_cv_reports_mean_and_stdv(lightgbm_runs):
    run = lightgbm_runs["cv"]
    got = rows(run)
    assert len(got) == ROUNDS
    assert {k for k in got[0] if "-" in k} == {"valid-binary_logloss-mean", "valid-binary_logloss-stdv",
                                               "valid-auc-mean", "valid-auc-stdv"}
    assert got[-1]["valid-binary_logloss-mean"] < got[0]["valid-binary_logloss-mean"]


def test_lightgbm_a_metric_not_evaluated_fails_the_trial_naming_the_ones_that_were(lightgbm_runs):
    run = lightgbm_runs["missing"]
    assert run.error is not None
    text = str(run.error)
    assert "asks for 'eval-auc'" in text and "'valid_0-binary_logloss', 'valid_0-auc'" in text
    assert "Did you mean 'valid_0-auc'?" in text


def test_lightgbm_values_are_python_floats():
    """The dict handed to tunecore.report, from a real booster's evaluation output."""
    x_train, x_valid, y_train, y_valid = split()
    dtrain = lgb.Dataset(x_train, y_train)
    booster = lgb.Booster(LGB_PARAMS, dtrain)
    booster.add_valid(lgb.Dataset(x_valid, y_valid, reference=dtrain), "eval")
    booster.update()
    entries = booster.eval_valid()
    assert all(type(e[2]) is not float for e in entries)  # LightGBM hands numpy floats
    callback = tlgb.TuneReportCheckpointCallback({"loss": "eval-binary_logloss", "auc": "eval-auc"},
                                                 results_postprocessing_fn=lambda d: {**d, "np": np.float64(0.5),
                                                                                     "arr": np.array([1, 2])})
    metrics = callback._metrics_of(tlgb._eval_result(entries))
    assert metrics == {"loss": entries[0][2], "auc": entries[1][2], "np": 0.5, "arr": [1, 2]}
    assert all(type(v) is float for k, v in metrics.items() if k != "arr")
    assert all(type(v) is int for v in metrics["arr"])  # integers stay integers


def test_lightgbm_cv_booster_checkpoint_loads_back_as_a_cv_booster(tmp_path):
    x_train, _, y_train, _ = split()
    cv = lgb.cv(LGB_PARAMS, lgb.Dataset(x_train, y_train), num_boost_round=3, nfold=3, seed=0,
                return_cvbooster=True)["cvbooster"]
    callback = tlgb.TuneReportCheckpointCallback(filename="cv.json")
    callback._save(cv, str(tmp_path / "cv.json"))
    loaded = tlgb.TuneReportCheckpointCallback.get_model(tune.Checkpoint.from_directory(tmp_path), filename="cv.json")
    assert isinstance(loaded, lgb.CVBooster) and len(loaded.boosters) == 3
    np.testing.assert_allclose(np.array(loaded.predict(x_train)), np.array(cv.predict(x_train)), rtol=1e-12)


def test_lightgbm_bad_arguments_are_refused_when_made():
    with pytest.raises(TuneError, match="frequency"):
        tlgb.TuneReportCheckpointCallback(frequency=-1)
    with pytest.raises(TuneError, match="filename"):
        tlgb.TuneReportCheckpointCallback(filename="sub/model.txt")
    with pytest.raises(TuneError, match="metrics"):
        tlgb.TuneReportCheckpointCallback(metrics={"loss": 3})
    with pytest.raises(TuneError, match="outside a trial"):  # a real lightgbm.train, outside a trial
        x_train, x_valid, y_train, y_valid = split()
        dtrain = lgb.Dataset(x_train, y_train)
        lgb.train(LGB_PARAMS, dtrain, num_boost_round=1, valid_sets=[dtrain],
                  callbacks=[tlgb.TuneReportCheckpointCallback()])
    assert tlgb.TuneReportCheckpointCallback().order == 25  # after log/record_evaluation, before early_stopping
    for module in (tlgb, txgb):
        with pytest.warns(DeprecationWarning, match="TuneReportCheckpointCallback"):
            deprecated = module.TuneReportCallback("eval-logloss")
        assert isinstance(deprecated, module.TuneReportCheckpointCallback)
        assert (deprecated._frequency, deprecated._checkpoint_at_end) == (0, False)
    assert isinstance(txgb.TuneReportCheckpointCallback(), xgb.callback.TrainingCallback)


PBT_ROUNDS, PBT_INTERVAL = 16, 4


def train_lightgbm_pbt(config):
    """Continue the checkpoint PBT hands over: the booster's rounds go on, they do not start over."""
    x_train, x_valid, y_train, y_valid = split()
    dtrain = lgb.Dataset(x_train, y_train)
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain)
    start = tune.get_checkpoint()
    booster = tlgb.TuneReportCheckpointCallback.get_model(start) if start else None
    done = booster.current_iteration() if booster is not None else 0
    if done >= PBT_ROUNDS:
        return
    params = {**LGB_PARAMS, "metric": "binary_logloss", "learning_rate": config["learning_rate"]}
    lgb.train(params, dtrain, num_boost_round=PBT_ROUNDS - done, init_model=booster, valid_sets=[dvalid],
              valid_names=["eval"],
              callbacks=[tlgb.TuneReportCheckpointCallback({"logloss": "eval-binary_logloss"},
                                                           frequency=PBT_INTERVAL)])


def test_lightgbm_pbt_exploit_continues_the_donors_booster(ray_session, tmp_path):
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=PBT_INTERVAL,
                                  hyperparam_mutations={"learning_rate": [0.001, 0.01, 0.1, 0.3]},
                                  resample_probability=0.0, seed=0, verbose=False)
    # two trials at a time: PBT pauses a trial at each perturbation point while others wait, so the
    # population advances together (and each paused trial resumes from its checkpoint)
    grid = tune.Tuner(tune.with_resources(train_lightgbm_pbt, {"cpu": 2}),
                      param_space={"learning_rate": tune.grid_search([0.001, 0.002, 0.1, 0.3])},
                      tune_config=tune.TuneConfig(metric="logloss", mode="min", scheduler=pbt),
                      run_config=tune.RunConfig(name="pbt", storage_path=str(tmp_path), verbose=0)).fit()
    assert grid.num_errors == 0
    results = {r.trial_id: r for r in grid}
    records = load_schedule(grid.experiment_path)
    assert records, "the boosters with a tiny learning rate must have exploited the others"
    _, x_valid, _, _ = split()
    for result in results.values():  # every trial ends with a booster of all the rounds, never more
        assert result.metrics["training_iteration"] == PBT_ROUNDS
        assert tlgb.TuneReportCheckpointCallback.get_model(result.checkpoint).current_iteration() == PBT_ROUNDS
        for checkpoint, metrics in result.best_checkpoints:
            booster = tlgb.TuneReportCheckpointCallback.get_model(checkpoint)
            assert booster.current_iteration() == metrics["training_iteration"]
    for rec in records:
        trial, donor = results[rec["trial_id"]], results[rec["source_trial"]]
        own = rows(trial)
        at = next(i for i, r in enumerate(own)
                  if r["training_iteration"] == rec["iteration"] and r["config"] == rec["old_config"])
        if rec["source_iteration"] < PBT_ROUNDS:
            assert own[at + 1]["training_iteration"] == rec["source_iteration"] + 1  # not 1: it continued
        # its first k trees are the donor's booster at round k (the donor may have been at round k
        # more than once, if it exploited another trial itself: one of those)
        k = rec["source_iteration"]
        first_k = tlgb.TuneReportCheckpointCallback.get_model(trial.checkpoint).predict(
            x_valid, num_iteration=k, raw_score=True)
        donors_at_k = [tlgb.TuneReportCheckpointCallback.get_model(c).predict(x_valid, raw_score=True)
                       for c, m in donor.best_checkpoints if m["training_iteration"] == k]
        assert any(np.allclose(first_k, d, rtol=1e-12, atol=0) for d in donors_at_k)


# -- XGBoost ----------------------------------------------------------------------------------

def train_xgboost(config):
    x_train, x_valid, y_train, y_valid = split()
    dtrain, dvalid = xgb.DMatrix(x_train, y_train), xgb.DMatrix(x_valid, y_valid)
    case, folder = config["case"], tune.get_context().get_trial_dir()
    if case in ("cv", "cv_checkpoint"):
        callback = txgb.TuneReportCallback() if case == "cv" else txgb.TuneReportCheckpointCallback()
        xgb.cv(XGB_PARAMS, dtrain, num_boost_round=ROUNDS, nfold=3, seed=0, callbacks=[callback])
        return
    evals = [(dtrain, "train"), (dvalid, "eval")]
    filename = None
    if case == "default":
        callback = txgb.TuneReportCheckpointCallback()
    elif case == "renamed":
        filename = "modèle.json"
        callback = txgb.TuneReportCheckpointCallback({"pérdida": "eval-logloss"}, filename=filename, frequency=4)
    elif case == "aligned":
        callback = txgb.TuneReportCheckpointCallback(["eval-error"], frequency=5)
    elif case == "no_end":
        callback = txgb.TuneReportCheckpointCallback("eval-logloss", frequency=3, checkpoint_at_end=False)
    elif case == "report_only":
        callback = txgb.TuneReportCallback({"error": "eval-error"})
    elif case == "early_stop":  # XGBoost's early stopping ends training before num_boost_round
        booster = xgb.train({**XGB_PARAMS, "eta": 1.0}, dtrain, num_boost_round=200, evals=evals,
                            early_stopping_rounds=3, verbose_eval=False,
                            callbacks=[txgb.TuneReportCheckpointCallback("eval-logloss")])
        with open(os.path.join(folder, "rounds.txt"), "w") as f:
            f.write(str(booster.num_boosted_rounds()))
        return
    else:  # "missing"
        callback = txgb.TuneReportCheckpointCallback("eval-auc")
    history: dict = {}
    booster = xgb.train(XGB_PARAMS, dtrain, num_boost_round=ROUNDS, evals=evals, evals_result=history,
                        verbose_eval=False, callbacks=[callback])
    np.save(os.path.join(folder, "predictions.npy"), booster.predict(dvalid))
    with open(os.path.join(folder, "evals.json"), "w", encoding="utf-8") as f:
        json.dump(history, f)


@pytest.fixture(scope="module")
def xgboost_runs(ray_session, tmp_path_factory):
    cases = ["default", "renamed", "aligned", "no_end", "report_only", "early_stop", "cv", "cv_checkpoint",
             "missing"]
    grid = tune.Tuner(train_xgboost, param_space={"case": tune.grid_search(cases)},
                      tune_config=tune.TuneConfig(max_concurrent_trials=2),  # two workers: enough for 2 cores
                      run_config=tune.RunConfig(name="xgb", storage_path=str(tmp_path_factory.mktemp("xgb")),
                                                verbose=0)).fit()
    return by_case(grid)


def test_xgboost_reports_every_round_under_rays_names(xgboost_runs):
    run = xgboost_runs["default"]
    assert run.error is None
    got = rows(run)
    assert [r["training_iteration"] for r in got] == list(range(1, ROUNDS + 1))  # N rounds, N results
    with open(os.path.join(run.path, "evals.json"), encoding="utf-8") as f:
        history = json.load(f)  # XGBoost's own evals_result
    assert {k for k in got[0] if "-" in k} == {"train-logloss", "train-error", "eval-logloss", "eval-error"}
    for data_name, metrics in history.items():
        for metric, values in metrics.items():
            assert [r[f"{data_name}-{metric}"] for r in got] == values


def test_xgboost_checkpoint_at_end_rides_on_the_last_result_and_get_model_loads_it(xgboost_runs):
    run = xgboost_runs["default"]
    assert checkpoint_iterations(run) == [ROUNDS]
    assert [m["training_iteration"] for _, m in run.best_checkpoints] == [ROUNDS]
    booster = txgb.TuneReportCheckpointCallback.get_model(run.checkpoint)
    assert isinstance(booster, xgb.Booster) and booster.num_boosted_rounds() == ROUNDS
    _, x_valid, _, _ = split()
    in_trial = np.load(os.path.join(run.path, "predictions.npy"))
    np.testing.assert_array_equal(booster.predict(xgb.DMatrix(x_valid)), in_trial)


def test_xgboost_dict_metrics_filename_and_frequency(xgboost_runs):
    run = xgboost_runs["renamed"]
    got = rows(run)
    assert len(got) == ROUNDS and {k for k in got[0] if "-" in k} == set() and "pérdida" in got[0]
    with open(os.path.join(run.path, "evals.json"), encoding="utf-8") as f:
        assert [r["pérdida"] for r in got] == json.load(f)["eval"]["logloss"]
    assert checkpoint_iterations(run) == [4, 8, 10]
    for checkpoint, metrics in run.best_checkpoints:
        assert [f for f in os.listdir(checkpoint.path) if not f.startswith(".")] == ["modèle.json"]
        booster = txgb.TuneReportCheckpointCallback.get_model(checkpoint, filename="modèle.json")
        assert booster.num_boosted_rounds() == metrics["training_iteration"]
    with pytest.raises(TuneError, match="has no file 'model.ubj'.*'modèle.json'"):
        txgb.TuneReportCheckpointCallback.get_model(run.checkpoint)


def test_xgboost_frequency_and_checkpoint_at_end(xgboost_runs):
    assert checkpoint_iterations(xgboost_runs["aligned"]) == [5, 10]
    assert checkpoint_iterations(xgboost_runs["no_end"]) == [3, 6, 9]
    assert checkpoint_iterations(xgboost_runs["report_only"]) == []
    for case in ("aligned", "no_end", "report_only"):
        assert len(rows(xgboost_runs[case])) == ROUNDS
    assert {k for k in rows(xgboost_runs["report_only"])[0] if "error" in k} == {"error"}


def test_xgboost_early_stopping_still_checkpoints_the_last_round(xgboost_runs):
    run = xgboost_runs["early_stop"]
    with open(os.path.join(run.path, "rounds.txt")) as f:
        trained = int(f.read())
    assert 3 < trained < 200
    assert len(rows(run)) == trained and checkpoint_iterations(run) == [trained]
    assert txgb.TuneReportCheckpointCallback.get_model(run.checkpoint).num_boosted_rounds() == trained


def test_xgboost_cv_reports_mean_and_std_and_refuses_to_checkpoint(xgboost_runs):
    got = rows(xgboost_runs["cv"])
    assert len(got) == ROUNDS
    assert {k for k in got[0] if "-" in k} == {f"{d}-{m}-{s}" for d in ("train", "test")
                                               for m in ("logloss", "error") for s in ("mean", "std")}
    failed = xgboost_runs["cv_checkpoint"]
    assert failed.error is not None and "xgboost.cv trains one booster per fold" in str(failed.error)
    assert "checkpoint_at_end=False" in str(failed.error)


def test_xgboost_a_metric_not_evaluated_fails_the_trial(xgboost_runs):
    text = str(xgboost_runs["missing"].error)
    assert "asks for 'eval-auc'" in text and "'eval-logloss', 'eval-error'" in text


class CrashOnce(xgb.callback.TrainingCallback):
    """Fails the trial once, when the booster reaches ``at`` rounds (a machine that went away)."""

    def __init__(self, marker: str, at: int) -> None:
        super().__init__()
        self.marker, self.at = marker, at

    def after_iteration(self, model, epoch, evals_log):
        if model.num_boosted_rounds() == self.at and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("the machine went away")
        return False


def train_xgboost_resumable(config):
    x_train, x_valid, y_train, y_valid = split()
    dtrain, dvalid = xgb.DMatrix(x_train, y_train), xgb.DMatrix(x_valid, y_valid)
    start = tune.get_checkpoint()
    booster = txgb.TuneReportCheckpointCallback.get_model(start) if start else None
    done = booster.num_boosted_rounds() if booster is not None else 0
    with open(os.path.join(config["dir"], "starts.txt"), "a") as f:
        f.write(f"{done}\n")
    xgb.train(XGB_PARAMS, dtrain, num_boost_round=ROUNDS - done, xgb_model=booster, evals=[(dvalid, "eval")],
              verbose_eval=False,
              callbacks=[txgb.TuneReportCheckpointCallback(frequency=3),
                         CrashOnce(os.path.join(config["dir"], "crashed"), at=8)])


def test_xgboost_trial_recovers_from_its_checkpoint_and_ends_as_if_never_interrupted(ray_session, tmp_path):
    grid = tune.Tuner(train_xgboost_resumable, param_space={"dir": str(tmp_path)},
                      run_config=tune.RunConfig(name="resume", storage_path=str(tmp_path), verbose=0,
                                                failure_config=tune.FailureConfig(max_failures=1))).fit()
    run = grid[0]
    assert run.error is None and os.path.exists(tmp_path / "crashed")
    with open(tmp_path / "starts.txt") as f:
        assert f.read().split() == ["0", "6"]  # the second start continued the booster of round 6
    got = rows(run)
    assert [r["training_iteration"] for r in got] == list(range(1, ROUNDS + 1))
    x_train, x_valid, y_train, y_valid = split()
    history: dict = {}
    straight = xgb.train(XGB_PARAMS, xgb.DMatrix(x_train, y_train), num_boost_round=ROUNDS,
                         evals=[(xgb.DMatrix(x_valid, y_valid), "eval")], evals_result=history, verbose_eval=False)
    np.testing.assert_allclose([r["eval-logloss"] for r in got], history["eval"]["logloss"], rtol=1e-9)
    resumed = txgb.TuneReportCheckpointCallback.get_model(run.checkpoint)
    assert resumed.num_boosted_rounds() == ROUNDS
    np.testing.assert_allclose(resumed.predict(xgb.DMatrix(x_valid)), straight.predict(xgb.DMatrix(x_valid)),
                               rtol=1e-6)


ASHA_ROUNDS = 27


def train_xgboost_asha(config):
    x_train, x_valid, y_train, y_valid = split()
    dtrain, dvalid = xgb.DMatrix(x_train, y_train), xgb.DMatrix(x_valid, y_valid)
    xgb.train({**XGB_PARAMS, "eta": config["eta"]}, dtrain, num_boost_round=ASHA_ROUNDS, evals=[(dvalid, "eval")],
              verbose_eval=False, callbacks=[txgb.TuneReportCheckpointCallback()])


def test_asha_stops_weak_xgboost_boosters_early(ray_session, tmp_path):
    etas = [0.3, 0.1, 0.05, 0.002, 0.001, 0.0005]
    asha = ASHAScheduler(max_t=ASHA_ROUNDS, grace_period=3, reduction_factor=3)
    grid = tune.Tuner(train_xgboost_asha, param_space={"eta": tune.grid_search(etas)},
                      # one trial at a time: ASHA sees the trials in grid order, so its decisions are fixed
                      tune_config=tune.TuneConfig(metric="eval-logloss", mode="min", scheduler=asha,
                                                  max_concurrent_trials=1),
                      run_config=tune.RunConfig(name="asha", storage_path=str(tmp_path), verbose=0)).fit()
    assert grid.num_errors == 0
    ran = {r.config["eta"]: len(rows(r)) for r in grid}
    assert ran[0.3] == ASHA_ROUNDS
    assert all(ran[eta] < ASHA_ROUNDS for eta in (0.002, 0.001, 0.0005)), ran
    assert sum(ran.values()) < len(etas) * ASHA_ROUNDS
    for r in grid:
        assert r.metrics["training_iteration"] == ran[r.config["eta"]]
        # checkpoint_at_end: a booster that ran every round is checkpointed with its last result,
        # though ASHA stopped it there (max_t); one stopped at a rung has none
        assert checkpoint_iterations(r) == ([ASHA_ROUNDS] if ran[r.config["eta"]] == ASHA_ROUNDS else [])
    best = grid.get_best_result()
    assert best.config["eta"] in (0.3, 0.1, 0.05)
    assert txgb.TuneReportCheckpointCallback.get_model(best.checkpoint).num_boosted_rounds() == ASHA_ROUNDS


# -- without the frameworks -------------------------------------------------------------------

def test_importing_without_the_framework_names_the_extra():
    script = textwrap.dedent("""
        import sys
        import tune_integrations, tune_integrations.plugin, tune_integrations._report
        assert "lightgbm" not in sys.modules and "xgboost" not in sys.modules, "imported a framework"
        sys.modules["lightgbm"] = None
        sys.modules["xgboost"] = None
        from tunecore.errors import TuneError
        for name in ("lightgbm", "xgboost"):
            try:
                __import__("tune_integrations." + name)
            except ImportError as e:
                assert isinstance(e, TuneError), type(e)
                print(name, "->", e)
            else:
                raise SystemExit(name + " imported")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'lightgbm -> tune_integrations.lightgbm needs lightgbm' in out.stdout
    assert 'pip install "tune-integrations[lightgbm]"' in out.stdout
    assert 'pip install "tune-integrations[xgboost]"' in out.stdout
