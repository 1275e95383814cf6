"""TuneSearchCV and TuneGridSearchCV: scikit-learn's searches, each configuration a trial on the session's Ray.

The strongest checks compare with scikit-learn itself: the same estimator, distributions,
``random_state`` and cv splitter give RandomizedSearchCV's / GridSearchCV's candidates and
scores, key for key. The early-stopping tests recompute a trial's scores by hand (the same
folds, ``partial_fit`` epochs) and read the trials' ``result.json`` back from the experiment
folder. Every estimator is deterministic (fixed ``random_state``).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import runpy
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats  # noqa: E402 - after the skip
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    GroupKFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import tunecore as tune  # noqa: E402
from tune_integrations.sklearn import TuneGridSearchCV, TuneSearchCV, _Incremental  # noqa: E402
from tunecore import result as R  # noqa: E402
from tunecore.util import read_json_lines  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CV3 = StratifiedKFold(3, shuffle=True, random_state=0)
#: two trials at once on the session's 4 CPUs: each new worker imports scikit-learn, and the machines have 2 cores
TWO_CPUS = {"cpu": 2}
DISTS = {"C": stats.loguniform(1e-2, 1e2), "fit_intercept": [True, False], "tol": stats.uniform(1e-5, 1e-3)}


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def searches(ray_session, iris, tmp_path_factory):
    """The same random search by scikit-learn and on tunecore (6 candidates, 3 folds, train scores)."""
    X, y = iris
    groups = np.arange(len(y)) % 7  # GroupKFold: the folds follow the groups fit() is given
    sk = RandomizedSearchCV(LogisticRegression(max_iter=1000), DISTS, n_iter=6, cv=GroupKFold(3), random_state=0,
                            return_train_score=True).fit(X, y, groups=groups)
    ours = TuneSearchCV(LogisticRegression(max_iter=1000), DISTS, 6, cv=GroupKFold(3), random_state=0,
                        return_train_score=True, storage_path=str(tmp_path_factory.mktemp("random")),
                        resources_per_trial=TWO_CPUS).fit(X, y, groups=groups)
    return sk, ours


# -- what scikit-learn gives, exactly -----------------------------------------------------------

def test_cv_results_are_randomized_search_cvs(searches):
    sk, ours = searches
    assert set(ours.cv_results_) == set(sk.cv_results_) | {"training_iteration"}
    assert ours.cv_results_["params"] == sk.cv_results_["params"]  # ParameterSampler, the same random_state
    for key in sk.cv_results_:
        if key.endswith("_time") or key == "params":
            continue
        ref, got = sk.cv_results_[key], ours.cv_results_[key]
        if isinstance(ref, np.ma.MaskedArray):
            assert isinstance(got, np.ma.MaskedArray) and got.dtype == ref.dtype, key
            assert list(got.mask) == list(ref.mask) and list(got.data) == list(ref.data), key
        else:
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12, err_msg=key)
    assert ours.cv_results_["rank_test_score"].dtype == sk.cv_results_["rank_test_score"].dtype
    assert list(ours.cv_results_["training_iteration"]) == [1] * 6  # one fit per fold, no early stopping
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"):
        assert ours.cv_results_[key].shape == (6,) and np.all(ours.cv_results_[key] >= 0), key

    import pandas as pd

    frame = pd.DataFrame(ours.cv_results_)
    assert frame.shape == (6, len(ours.cv_results_)) and frame["rank_test_score"].min() == 1


def test_best_estimator_predicts_as_scikit_learns(searches, iris):
    sk, ours = searches
    X, y = iris
    assert ours.best_index_ == sk.best_index_ and ours.best_params_ == sk.best_params_
    assert ours.best_score_ == pytest.approx(sk.best_score_, abs=1e-12)
    assert ours.n_splits_ == 3 and ours.multimetric_ is False and ours.refit_time_ > 0
    assert ours.scorer_ is not None and ours.score(X, y) == pytest.approx(sk.score(X, y))
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X))
    np.testing.assert_allclose(ours.decision_function(X), sk.decision_function(X))
    np.testing.assert_array_equal(ours.classes_, [0, 1, 2])
    assert ours.n_features_in_ == 4
    assert ours.best_estimator_.get_params() == sk.best_estimator_.get_params()
    assert not hasattr(ours, "transform")  # LogisticRegression has none: delegated only when there


def test_a_fitted_search_pickles_and_clones(searches, iris):
    _, ours = searches
    X, _ = iris
    again = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(again.predict(X), ours.predict(X))
    assert again.cv_results_["params"] == ours.cv_results_["params"] and again.best_params_ == ours.best_params_
    fresh = clone(ours)
    assert fresh.get_params()["n_trials"] == 6 and not hasattr(fresh, "cv_results_")
    assert os.path.isdir(ours.experiment_path_)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")  # both say it of C=-1
def test_grid_search_with_two_metrics_and_a_failing_candidate_is_grid_search_cvs(ray_session, iris, tmp_path):
    """Multi-metric scoring (one name unicode), refit by name, sample weights split with the folds (to the fit
    and the scorers), and error_score=nan on a fit that raises."""
    X, y = iris
    grid = [{"C": [0.1, 1.0, 10.0]}, {"C": [-1.0], "fit_intercept": [False]}]  # C=-1 raises in fit
    scoring = {"accuracy": "accuracy", "f1 macro é": "f1_macro"}
    weights = np.linspace(0.2, 2.0, len(y))
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 12"):
        sk = GridSearchCV(LogisticRegression(max_iter=1000), grid, scoring=scoring, refit="accuracy",
                          cv=CV3).fit(X, y, sample_weight=weights)
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 12") as caught:
        ours = TuneGridSearchCV(LogisticRegression(max_iter=1000), grid, scoring=scoring, refit="accuracy", cv=CV3,
                                storage_path=str(tmp_path), resources_per_trial=TWO_CPUS).fit(X, y,
                                                                                              sample_weight=weights)
    assert "InvalidParameterError" in str(caught[0].message)  # the estimator's own error, from the trial
    assert set(ours.cv_results_) == set(sk.cv_results_) | {"training_iteration"}
    assert ours.cv_results_["params"] == sk.cv_results_["params"]
    for key in sk.cv_results_:
        if key.startswith(("mean_test", "std_test", "rank_test", "split")):
            np.testing.assert_allclose(ours.cv_results_[key], sk.cv_results_[key], atol=1e-12, err_msg=key)
    assert np.isnan(ours.cv_results_["mean_test_f1 macro é"][3])
    unweighted = GridSearchCV(LogisticRegression(max_iter=1000), grid[:1], scoring=scoring, refit="accuracy",
                              cv=CV3).fit(X, y)
    assert not np.allclose(unweighted.cv_results_["mean_test_accuracy"], ours.cv_results_["mean_test_accuracy"][:3])
    assert list(ours.cv_results_["param_fit_intercept"].mask) == [True, True, True, False]
    assert ours.multimetric_ and ours.best_index_ == sk.best_index_ and ours.best_params_ == sk.best_params_
    assert set(ours.scorer_) == set(scoring)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))


def test_error_score_raise_raises_the_estimators_error(ray_session, iris, tmp_path):
    X, y = iris
    search = TuneGridSearchCV(LogisticRegression(), {"C": [1.0, -1.0]}, error_score="raise", cv=3,
                              storage_path=str(tmp_path), resources_per_trial=TWO_CPUS)
    with pytest.raises(ValueError, match="'C' parameter of LogisticRegression must be a float in the range"):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")


def test_random_candidates_follow_random_state():
    dists = {"a": stats.uniform(0, 1), "b": tune.randint(0, 1000), "c": ["x", "y"]}
    one = TuneSearchCV(LogisticRegression(), dists, 5, random_state=7)._candidates()
    assert one == TuneSearchCV(LogisticRegression(), dists, 5, random_state=7)._candidates()
    assert one != TuneSearchCV(LogisticRegression(), dists, 5, random_state=8)._candidates()
    assert all(isinstance(c["b"], int) and 0 <= c["b"] < 1000 for c in one)
    # lists only: each combination at most once, as scikit-learn's ParameterSampler
    with pytest.warns(UserWarning, match="total space of parameters 2 is smaller than n_iter=5"):
        assert len(TuneSearchCV(LogisticRegression(), {"c": ["x", "y"]}, 5, random_state=0)._candidates()) == 2


# -- early stopping -----------------------------------------------------------------------------

def _manual_cv(estimator, X, y, epochs, cv):
    scores = []
    for train, test in cv.split(X, y):
        est = clone(estimator)
        for _ in range(epochs):
            est.partial_fit(X[train], y[train], classes=np.unique(y))
        scores.append(est.score(X[test], y[test]))
    return float(np.mean(scores))


def test_asha_with_partial_fit_trains_fewer_epochs_and_scores_as_by_hand(ray_session, digits, tmp_path):
    X, y = digits
    dists = {"alpha": stats.loguniform(1e-6, 1e-1), "loss": ["hinge", "log_loss", "modified_huber"],
             "learning_rate": ["optimal", "constant"], "eta0": stats.loguniform(1e-4, 1e-1)}
    search = TuneSearchCV(SGDClassifier(random_state=0), dists, 8, early_stopping=True, max_iters=9, cv=CV3,
                          random_state=0, storage_path=str(tmp_path)).fit(X, y)
    iters = search.cv_results_["training_iteration"]
    assert iters.sum() < 8 * 9 and iters.max() == 9 and (iters < 9).any(), iters
    assert search.best_score_ > 0.9
    # the score of a candidate is its mean over the folds after its epochs, as trained by hand
    for i in (int(search.best_index_), int(np.argmin(iters))):
        est = SGDClassifier(random_state=0).set_params(**search.cv_results_["params"][i])
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(_manual_cv(est, X, y, int(iters[i]), CV3),
                                                                         abs=1e-12)
    # the refit trains the best configuration as its trial did, on all the data
    best = SGDClassifier(random_state=0).set_params(**search.best_params_)
    for _ in range(int(iters[search.best_index_])):
        best.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(search.best_estimator_.coef_, best.coef_)
    # one result per epoch in each trial's result.json
    epochs = sorted(len(read_json_lines(os.path.join(d, "result.json")))
                    for d in os.scandir(search.experiment_path_) if d.is_dir())
    assert epochs == sorted(iters.tolist())


def test_warm_start_grows_the_forest_and_scores_as_a_full_fit(ray_session, iris, tmp_path):
    X, y = iris
    dists = {"max_depth": [1, 3, None], "max_features": ["sqrt", None]}
    search = TuneSearchCV(RandomForestClassifier(n_estimators=12, random_state=0), dists, 3,
                          early_stopping="MedianStoppingRule", max_iters=3, cv=CV3, random_state=0,
                          storage_path=str(tmp_path), resources_per_trial=TWO_CPUS).fit(X, y)
    iters = search.cv_results_["training_iteration"]
    for i, params in enumerate(search.cv_results_["params"]):
        if iters[i] == 3:  # grown 4, 8, 12 trees with warm_start: the same forest as 12 trees at once
            full = cross_val_score(RandomForestClassifier(n_estimators=12, random_state=0, **params), X, y, cv=CV3)
            assert search.cv_results_["mean_test_score"][i] == pytest.approx(full.mean(), abs=1e-12)
    assert (iters == 3).any()
    best = search.best_estimator_
    assert len(best.estimators_) == best.n_estimators == 4 * int(iters[search.best_index_])
    assert best.warm_start is False  # the configured value is back once the forest is grown


def test_incremental_amounts():
    per_call = _Incremental("warm_start", "", "max_iter", False, False, None, 4)
    assert [per_call.amount({"budget": 10}, e) for e in range(1, 5)] == [2, 3, 2, 3]  # 10 iterations in all
    cumulative = _Incremental("warm_start", "", "n_estimators", True, False, None, 4)
    assert [cumulative.amount({"budget": 10}, e) for e in range(1, 5)] == [2, 5, 7, 10]
    assert [cumulative.amount({"budget": 2}, e) for e in range(1, 5)] == [1, 1, 1, 2]


def test_pipeline_last_step_trains_in_epochs_optuna_suggests_and_refit_false(ray_session, digits, tmp_path):
    """Optuna over a pipeline with ASHA, refit=False, cv=None (5 folds), a unicode name; files read back."""
    X, y = digits
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    space = {"sgdclassifier__alpha": (1e-6, 1e-1, "log-uniform"), "sgdclassifier__loss": ["hinge", "log_loss"],
             "sgdclassifier__eta0": tune.loguniform(1e-4, 1e-1), "sgdclassifier__n_iter_no_change": (3, 6)}
    search = TuneSearchCV(pipe, space, 6, search_optimization="optuna", early_stopping="asha", max_iters=4,
                          random_state=0, refit=False, name="recherche_ü", storage_path=str(tmp_path),
                          loggers=["json"]).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 6 and all(set(p) == set(space) for p in params)
    for p in params:
        assert 1e-6 <= p["sgdclassifier__alpha"] <= 1e-1 and p["sgdclassifier__loss"] in ("hinge", "log_loss")
        assert p["sgdclassifier__n_iter_no_change"] in (3, 4, 5, 6)
    assert search.n_splits_ == 5 and search.best_score_ > 0.85  # cv=None: 5 stratified folds, as scikit-learn
    assert search.best_params_ == params[search.best_index_] and not hasattr(search, "best_estimator_")
    with pytest.raises(AttributeError, match="has no attribute 'predict'") as info:  # as scikit-learn's
        search.predict(X)
    assert "refit=False" in str(info.value.__cause__)
    i = int(search.best_index_)
    epochs = int(search.cv_results_["training_iteration"][i])
    manual = []
    for train, test in StratifiedKFold(5).split(X, y):  # the scaler fitted once per fold, then epochs of SGD
        scaler = StandardScaler().fit(X[train])
        clf = SGDClassifier(random_state=0).set_params(**{k.split("__")[1]: v for k, v in params[i].items()})
        for _ in range(epochs):
            clf.partial_fit(scaler.transform(X[train]), y[train], classes=np.unique(y))
        manual.append(clf.score(scaler.transform(X[test]), y[test]))
    assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(manual), abs=1e-12)
    # each trial's result.json (the json logger only): one row per epoch, its folds' scores
    assert search.experiment_path_ == str(tmp_path / "recherche_ü")
    folders = [d.path for d in os.scandir(search.experiment_path_) if d.is_dir()]
    assert len(folders) == 6 and all("progress.csv" not in os.listdir(d) for d in folders)  # no csv logger
    rows = {}
    for folder in folders:
        lines = read_json_lines(os.path.join(folder, "result.json"))
        assert [r["training_iteration"] for r in lines] == list(range(1, len(lines) + 1))
        key = tuple(sorted(lines[-1]["config"].items()))
        rows[key] = lines[-1]
    for j, p in enumerate(params):
        last = rows[tuple(sorted(p.items()))]
        assert last["training_iteration"] == search.cv_results_["training_iteration"][j]
        assert [last[f"split{k}_test_score"] for k in range(5)] == pytest.approx(
            [search.cv_results_[f"split{k}_test_score"][j] for k in range(5)])


# -- bad input: refused before any trial --------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda res: TuneSearchCV(KNeighborsClassifier(), {"n_neighbors": [1, 3]}, 2, early_stopping=True, max_iters=5,
                              storage_path=res), "KNeighborsClassifier has neither partial_fit nor warm_start"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, early_stopping=True, storage_path=res),
     "early_stopping needs max_iters > 1"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, search_optimization="bayesian",
                              storage_path=res),
     "search_optimization must be one of 'random', 'optuna'.*'bayesian'.*not implemented"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, early_stopping="HyperBand", max_iters=3,
                              storage_path=res), "early_stopping='HyperBand' is not a scheduler"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": stats.uniform(0, 1)}, 2, search_optimization="optuna",
                              storage_path=res), "scipy distributions are for search_optimization='random'"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, mode="maximize", storage_path=res),
     "mode must be 'max'"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, max_iters=0, storage_path=res),
     "max_iters must be an int >= 1"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 0, storage_path=res),
     "n_trials must be an int >= 1"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, scoring=["accuracy", "f1_macro"], refit=False,
                              early_stopping=True, max_iters=3, storage_path=res), "set refit to its name"),
    (lambda res: TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, local_dir=res + "_too", storage_path=res),
     "give one"),
    (lambda res: TuneGridSearchCV(SGDClassifier(), {"alpha": [1e-4]}, early_stopping=object(), max_iters=2,
                                  storage_path=res), "early_stopping must be None, a bool, a scheduler name"),
    (lambda res: TuneGridSearchCV(SGDClassifier(), {"alpha": [1e-4]}, scoring="no such scorer", storage_path=res),
     "scoring"),
])
def test_bad_arguments_are_refused_before_any_trial(make, match, iris, tmp_path):
    search = make(str(tmp_path / "res"))
    with pytest.raises((ValueError, TypeError), match=match):
        search.fit(*iris)
    assert not os.path.exists(tmp_path / "res") and not os.path.exists(tmp_path / "res_too")


def test_a_scheduler_that_pauses_is_refused(iris, tmp_path):
    from tune_hyperband import HyperBandScheduler

    search = TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, early_stopping=HyperBandScheduler(max_t=3),
                          max_iters=3, storage_path=str(tmp_path / "res"))
    with pytest.raises(ValueError, match="pauses and resumes trials"):
        search.fit(*iris)
    assert not os.path.exists(tmp_path / "res")


def test_max_iters_without_early_stopping_warns(iris):
    search = TuneSearchCV(SGDClassifier(), {"alpha": [1e-4]}, 1, max_iters=5)
    with pytest.warns(UserWarning, match="max_iters=5 is only used with early stopping"):
        assert search._incremental(iris[1]) is None


def test_importing_without_scikit_learn_names_the_extra():
    script = textwrap.dedent("""
        import sys
        import tune_integrations, tune_integrations.plugin
        assert "sklearn" not in sys.modules, "imported scikit-learn"
        sys.modules["sklearn"] = None
        from tunecore.errors import TuneError
        try:
            import tune_integrations.sklearn
        except ImportError as e:
            assert isinstance(e, TuneError), type(e)
            print(e)
        else:
            raise SystemExit("imported")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'tune_integrations.sklearn needs scikit-learn' in out.stdout
    assert 'pip install "tune-integrations[sklearn]"' in out.stdout


# -- the example and the benchmark --------------------------------------------------------------

def test_example_runs_small(ray_session, tmp_path, monkeypatch, capsys):
    """examples/sklearn_search_cv.py --small as __main__ on the session's Ray (as tests/test_examples.py)."""
    monkeypatch.setattr(R, "DEFAULT_RESULTS_DIR", str(tmp_path / "ray_results"))
    monkeypatch.setattr(sys, "argv", ["sklearn_search_cv.py", "--small"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runpy.run_path(os.path.join(ROOT, "examples", "sklearn_search_cv.py"), run_name="__main__")
    out = capsys.readouterr().out
    match = re.search(r"8 configurations; (\d+) epochs per fold trained of 72 .*; (\d+) stopped early by ASHA", out)
    assert match, out[-2000:]
    assert int(match.group(1)) < 72 and int(match.group(2)) >= 1
    assert float(re.search(r"best CV accuracy=([0-9.]+)", out).group(1)) > 0.9
    assert float(re.search(r"test accuracy=([0-9.]+)", out).group(1)) > 0.9
    assert str(tmp_path / "ray_results" / "sklearn_search_cv") in out


def test_benchmark_tiny_prints_its_figures():
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "sklearn_search_cv.py"), "--tiny",
                           "--num-cpus", "2", "--markdown"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    methods = [line["method"] for line in lines if not line.get("summary")]
    assert methods == ["RandomizedSearchCV", "RandomizedSearchCV, partial_fit epochs", "TuneSearchCV + ASHA"]
    tune_line = lines[2]
    assert tune_line["epochs"] <= 4 * 2 * 4 and 0 < tune_line["best_cv_score"] <= 1
    assert tune_line["exact_scores_ok"] is True  # trials run to the end score as the partial_fit epochs search
    assert lines[-1]["summary"] and "| TuneSearchCV + ASHA |" in proc.stdout
