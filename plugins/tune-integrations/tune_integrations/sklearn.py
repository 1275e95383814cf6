"""scikit-learn's hyperparameter searches, each configuration a tunecore trial on Ray.

:class:`TuneSearchCV` and :class:`TuneGridSearchCV` are drop-ins for scikit-learn's
``RandomizedSearchCV`` and ``GridSearchCV`` in the spirit of the tune-sklearn package
(``tune_sklearn.TuneSearchCV`` / ``TuneGridSearchCV``, unmaintained since 2023)::

    # from sklearn.model_selection import RandomizedSearchCV
    from tune_integrations.sklearn import TuneSearchCV

    search = TuneSearchCV(SGDClassifier(), {"alpha": scipy.stats.loguniform(1e-5, 1e-1)}, n_trials=20,
                          early_stopping=True, max_iters=20, random_state=0)
    search.fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_new)

What is scikit-learn's, exactly: the candidates (``ParameterSampler`` / ``ParameterGrid`` with the
same ``random_state`` give the same configurations), the folds (``check_cv``: 5-fold, stratified
for classifiers), the scoring (``scoring=`` as in scikit-learn, one or several metrics), the fit
of each fold (``_fit_and_score``, with its ``error_score`` handling and ``FitFailedWarning``),
``cv_results_`` (built by ``BaseSearchCV._format_results``, so ``pandas.DataFrame(cv_results_)``
works), ``best_*``, ``refit`` and the methods delegated to ``best_estimator_`` (both classes
subclass ``sklearn.model_selection._search.BaseSearchCV``).

What is tunecore's: each configuration is one trial on Ray (one CPU by default,
``resources_per_trial``); its folds run one after the other inside the trial. With
``early_stopping`` and ``max_iters > 1`` each trial trains its folds one epoch at a time
(``partial_fit``, or ``warm_start`` with a growing ``n_estimators`` / ``max_iter``), reports the
mean validation score after every epoch, and the scheduler (ASHA by default) stops the weak ones.

scikit-learn is imported by this module only (``pip install "tune-integrations[sklearn]"``).
"""

from __future__ import annotations

import base64
import copy
import datetime
import numbers
import time
import uuid
import warnings
from collections.abc import Mapping
from traceback import format_exc
from typing import Any, Optional

import numpy as np

from tune_integrations._report import MissingFrameworkError

try:
    from sklearn.base import clone, is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.model_selection._validation import (
        _fit_and_score,
        _insert_error_scores,
        _score,
        _warn_or_raise_about_fit_failures,
    )
    from sklearn.pipeline import Pipeline
    from sklearn.utils import check_random_state
    from sklearn.utils.metaestimators import _safe_split
    from sklearn.utils.validation import _check_method_params, indexable
except ImportError as _exc:
    raise MissingFrameworkError(
        f"tune_integrations.sklearn needs scikit-learn >= 1.4, which is not installed ({_exc}). Install it with "
        'pip install "tune-integrations[sklearn]"') from None

import tunecore as tune
from tunecore.execution.trial import TrialStatus
from tunecore.search.sample import Domain
from tunecore.stopper import Stopper

__all__ = ["TuneGridSearchCV", "TuneSearchCV"]

#: the ``search_optimization`` values tunecore implements (tune-sklearn also had bayesian, bohb, hyperopt)
SEARCH_OPTIMIZATIONS = ("random", "optuna")
#: the ``early_stopping`` names, lower-cased without ``_``: tune-sklearn's class names and tunecore's plugin names
_ASHA_NAMES = ("asha", "ashascheduler", "asynchyperband", "asynchyperbandscheduler")
_MEDIAN_NAMES = ("medianstopping", "medianstoppingrule")
#: a result key of a trial whose estimator raised with ``error_score="raise"``
_RAISED = "estimator_error"


# -- what runs in a trial -------------------------------------------------------------------------
class _Incremental:
    """How a trial trains one epoch of an estimator: ``partial_fit``, or ``fit`` with ``warm_start``.

    ``kind`` is ``"partial_fit"`` or ``"warm_start"``; ``prefix`` addresses the final step of a
    pipeline (``"clf__"``, with ``pipeline_auto_early_stop``). For ``warm_start``, ``param`` is the
    resource (``n_estimators`` or ``max_iter``) and the configured value R its budget: epoch ``e``
    of ``max_iters`` trains up to ``R * e // max_iters`` of it in all (``cumulative``: ensembles'
    ``n_estimators``, HistGradientBoosting's ``max_iter``) or that much more (an iterative solver's
    ``max_iter``, which counts per call to ``fit``).
    """

    def __init__(self, kind: str, prefix: str, param: Optional[str], cumulative: bool, on_pipeline: bool,
                 classes: Any, max_iters: int) -> None:
        self.kind, self.prefix, self.param, self.cumulative = kind, prefix, param or "", cumulative
        self.on_pipeline, self.classes, self.max_iters = on_pipeline, classes, max_iters

    def describe(self) -> str:
        if self.kind == "partial_fit":
            return "partial_fit, one call per epoch"
        how = "in all" if self.cumulative else "more per call"
        return f"warm_start, {self.prefix}{self.param} * epoch / max_iters {how}"

    def prepare(self, est: Any) -> dict:
        """Set the estimator up to train incrementally; the state the epochs share."""
        state: dict[str, Any] = {}
        if self.kind == "warm_start":
            params = est.get_params()
            budget = params[self.prefix + self.param]
            if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
                raise ValueError(f"early stopping with warm_start trains {self.prefix}{self.param} in steps, so it "
                                 f"must be an int >= 1, but got {self.prefix}{self.param}={budget!r}")
            state["budget"] = int(budget)
            state["warm_start"] = params[self.prefix + "warm_start"]
            est.set_params(**{self.prefix + "warm_start": True})
        return state

    def amount(self, state: dict, epoch: int) -> int:
        """How much of the resource epoch ``epoch`` trains: in all (cumulative) or in this call."""
        budget = state["budget"]
        total = max(1, budget * epoch // self.max_iters)
        if self.cumulative:
            return total
        before = max(1, budget * (epoch - 1) // self.max_iters) if epoch > 1 else 0
        return max(1, total - before)

    def epoch(self, est: Any, X: Any, y: Any, fit_params: dict, epoch: int, state: dict) -> None:
        """Train one epoch (the ``epoch``-th, from 1)."""
        with warnings.catch_warnings():
            # each step is a short fit on purpose: the solver's "did not converge" says nothing here
            warnings.simplefilter("ignore", ConvergenceWarning)
            if self.kind == "warm_start":
                est.set_params(**{self.prefix + self.param: self.amount(state, epoch)})
                est.fit(X, **fit_params) if y is None else est.fit(X, y, **fit_params)
                return
            target = est
            if self.on_pipeline:
                name = est.steps[-1][0]
                own = {k[len(name) + 2:]: v for k, v in fit_params.items() if k.startswith(name + "__")}
                head_params = {k: v for k, v in fit_params.items() if not k.startswith(name + "__")}
                if "Xt" not in state:  # the steps before the last are fitted once, on the first epoch
                    head = est[:-1]
                    state["Xt"] = head.fit_transform(X, y, **head_params)
                X, fit_params, target = state["Xt"], own, est.steps[-1][1]
            kwargs = dict(fit_params)
            if self.classes is not None:
                kwargs["classes"] = self.classes
            target.partial_fit(X, **kwargs) if y is None else target.partial_fit(X, y, **kwargs)

    def finish(self, est: Any, state: dict) -> None:
        """After the last epoch: the parameters back to what was configured (the model stays)."""
        if self.kind == "warm_start":
            back = {self.prefix + "warm_start": state["warm_start"]}
            if not self.cumulative:
                back[self.prefix + self.param] = state["budget"]
            est.set_params(**back)


class _CVJob:
    """Everything a trial needs, put in Ray's object store once (``tunecore.with_parameters``)."""

    def __init__(self, **fields: Any) -> None:
        self.estimator: Any = None
        self.X: Any = None
        self.y: Any = None
        self.fit_params: dict = {}
        self.score_params: dict = {}
        self.splits: list = []
        self.scorer: Any = None
        self.multimetric: bool = False
        self.return_train_score: bool = False
        self.error_score: Any = np.nan
        self.candidates: Optional[list] = None
        self.incremental: Optional[_Incremental] = None
        self.metric: str = "mean_test_score"
        self.__dict__.update(fields)

    def params_of(self, config: dict) -> dict:
        if self.candidates is not None:
            return self.candidates[config["candidate"]]
        return dict(config)


class _Fold:
    """One fold of an incremental trial: its estimator, data and what it measured so far."""

    def __init__(self, job: _CVJob, params: dict, train: Any, test: Any) -> None:
        self.job = job
        self.est = clone(job.estimator).set_params(**clone(params, safe=False))
        self.fit_params = _check_method_params(job.X, params=job.fit_params, indices=train)
        self.score_train = _check_method_params(job.X, params=job.score_params, indices=train)
        self.score_test = _check_method_params(job.X, params=job.score_params, indices=test)
        self.X_train, self.y_train = _safe_split(self.est, job.X, job.y, train)
        self.X_test, self.y_test = _safe_split(self.est, job.X, job.y, test, train)
        self.fit_time = 0.0
        self.out: dict[str, Any] = {"fit_error": None, "n_test_samples": len(test)}
        self.state: Optional[dict] = None

    def _failed(self) -> None:
        """The fold's fit raised (``error_score`` is a number): it scores ``error_score`` from now on."""
        job = self.job
        error = job.error_score
        scores: Any = {name: error for name in job.scorer._scorers} if job.multimetric else error
        self.out.update(fit_error=format_exc(), test_scores=scores, score_time=0.0)
        if job.return_train_score:
            self.out["train_scores"] = copy.copy(scores)

    def step(self, epoch: int) -> dict:
        job, inc = self.job, self.job.incremental
        assert inc is not None
        if self.out["fit_error"] is not None:
            return self.out  # a failed fold stays failed, with its error score
        start = time.time()
        try:
            if self.state is None:
                self.state = inc.prepare(self.est)
            inc.epoch(self.est, self.X_train, self.y_train, self.fit_params, epoch, self.state)
        except Exception:
            if job.error_score == "raise":
                raise
            self.fit_time += time.time() - start
            self.out["fit_time"] = self.fit_time
            self._failed()
            return self.out
        self.fit_time += time.time() - start
        start = time.time()
        self.out["test_scores"] = _score(self.est, self.X_test, self.y_test, job.scorer, self.score_test,
                                         job.error_score)
        self.out["score_time"] = time.time() - start
        if job.return_train_score:
            self.out["train_scores"] = _score(self.est, self.X_train, self.y_train, job.scorer, self.score_train,
                                              job.error_score)
        self.out["fit_time"] = self.fit_time
        return self.out


def _metrics(job: _CVJob, outs: list[dict]) -> dict:
    """A trial's result: sklearn's names (``mean_test_score``, ``split0_test_score``, ...) per fold."""
    metrics: dict[str, Any] = {}
    for kind in ("test", "train") if job.return_train_score else ("test",):
        per_name: dict[str, list] = {}
        for k, out in enumerate(outs):
            scores = out[f"{kind}_scores"]
            for name, value in (scores.items() if isinstance(scores, dict) else [("score", scores)]):
                metrics[f"split{k}_{kind}_{name}"] = float(value)
                per_name.setdefault(name, []).append(float(value))
        for name, values in per_name.items():
            metrics[f"mean_{kind}_{name}"] = float(np.mean(values))
    metrics["multimetric"] = isinstance(outs[0]["test_scores"], dict)
    for k, out in enumerate(outs):
        metrics[f"split{k}_fit_time"] = float(out["fit_time"])
        metrics[f"split{k}_score_time"] = float(out["score_time"])
        metrics[f"split{k}_n_test_samples"] = int(out["n_test_samples"])
        if out["fit_error"] is not None:
            metrics[f"split{k}_fit_error"] = out["fit_error"]
    metrics["mean_fit_time"] = float(np.mean([out["fit_time"] for out in outs]))
    return metrics


def _report_raised(job: _CVJob, exc: BaseException) -> None:
    """``error_score="raise"``: hand the estimator's exception to the driver, which raises it."""
    import cloudpickle

    try:
        blob: Optional[str] = base64.b64encode(cloudpickle.dumps(exc)).decode("ascii")
    except Exception:  # an exception that cannot be pickled: the driver raises its text
        blob = None
    tune.report({job.metric: float("nan"), _RAISED: blob, "estimator_traceback": format_exc(),
                 "estimator_error_type": type(exc).__name__})


def _cv_trial(config: dict, job: Any = None) -> None:
    """The trainable of every trial: cross-validate one configuration, report the scores."""
    assert isinstance(job, _CVJob)
    params = job.params_of(config)
    try:
        if job.incremental is None:
            outs = [_fit_and_score(clone(job.estimator), job.X, job.y, scorer=job.scorer, train=train, test=test,
                                   verbose=0, parameters=params, fit_params=job.fit_params,
                                   score_params=job.score_params, return_train_score=job.return_train_score,
                                   return_n_test_samples=True, return_times=True, error_score=job.error_score)
                    for train, test in job.splits]
            tune.report(_metrics(job, outs))
            return
        folds = [_Fold(job, params, train, test) for train, test in job.splits]
        for epoch in range(1, job.incremental.max_iters + 1):
            outs = [dict(fold.step(epoch)) for fold in folds]
            tune.report(_metrics(job, outs))  # the scheduler may end the trial here
    except Exception as exc:
        if job.error_score != "raise":
            raise
        _report_raised(job, exc)


class _StopOnRaise(Stopper):
    """Ends the run once a trial's estimator raised with ``error_score="raise"``."""

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, trial_id: str, result: dict) -> bool:
        if _RAISED in result:
            self.raised = True
            return True
        return False

    def stop_all(self) -> bool:
        return self.raised


def _quiet_printer() -> Any:
    """A printer that prints nothing (``verbose=0`` is silent, as in scikit-learn)."""
    from tunecore.execution.status import ProgressPrinter

    class _Quiet(ProgressPrinter):
        def summary(self, text: str) -> None:
            pass

    return _Quiet(verbose=0)


# -- the searches ---------------------------------------------------------------------------------
class _TuneBaseSearchCV(BaseSearchCV):
    """What :class:`TuneSearchCV` and :class:`TuneGridSearchCV` share: ``fit`` on tunecore."""

    _parameter_constraints: dict = {k: v for k, v in BaseSearchCV._parameter_constraints.items()
                                    if k != "pre_dispatch"}

    # set by the subclasses' __init__
    early_stopping: Any
    max_iters: int
    mode: Optional[str]
    resources_per_trial: Optional[dict]
    name: Optional[str]
    local_dir: Optional[str]
    storage_path: Optional[str]
    loggers: Optional[list]
    pipeline_auto_early_stop: bool
    time_budget_s: Any

    # -- what the subclasses define ------------------------------------------------------------
    def _candidates(self) -> Optional[list]:
        """The configurations to try, or None when a search algorithm suggests them."""
        raise NotImplementedError

    def _search(self, metric: str, mode: str) -> tuple[dict, int, Any]:
        """``(param_space, num_samples, search_alg)`` of the experiment, without candidates."""
        raise NotImplementedError

    def _check_search(self) -> None:
        """Refuse a bad search space or optimizer (before any trial)."""

    # -- checks, before anything runs ----------------------------------------------------------
    def _check_mode(self) -> str:
        if self.mode not in (None, "max", "min"):
            raise ValueError(f"mode must be 'max' (default: the scorer's greater is better) or 'min', but got "
                             f"mode={self.mode!r}")
        return self.mode or "max"

    def _incremental(self, y: Any) -> Optional[_Incremental]:
        """How trials train in epochs, or None (one ``fit`` per fold): checks early_stopping/max_iters."""
        max_iters = self.max_iters
        if isinstance(max_iters, bool) or not isinstance(max_iters, numbers.Integral) or max_iters < 1:
            raise ValueError(f"max_iters must be an int >= 1 (the epochs of a trial), but got max_iters={max_iters!r}")
        if not self.early_stopping:
            if max_iters > 1:
                warnings.warn(f"max_iters={max_iters} is only used with early stopping: each trial fits its folds "
                              "once. Set early_stopping=True (ASHA) to train in epochs and stop weak trials.",
                              UserWarning, stacklevel=3)
            return None
        if max_iters == 1:
            raise ValueError("early_stopping needs max_iters > 1: a trial trains max_iters epochs and the scheduler "
                             "stops weak trials between them (max_iters=1 leaves nothing to stop). Set e.g. "
                             "max_iters=10, or early_stopping=None.")
        est, prefix, on_pipeline = self.estimator, "", False
        if self.pipeline_auto_early_stop and isinstance(est, Pipeline):
            name, est = est.steps[-1]
            prefix, on_pipeline = name + "__", True
        what = f"{type(est).__name__}" + (" (the last step of the pipeline)" if on_pipeline else "")
        kind = param = None
        cumulative = False
        if hasattr(est, "partial_fit"):
            kind = "partial_fit"
        else:
            params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
            if "warm_start" in params and "n_estimators" in params:
                kind, param, cumulative = "warm_start", "n_estimators", True
            elif "warm_start" in params and "max_iter" in params:
                kind, param = "warm_start", "max_iter"
                cumulative = type(est).__name__.startswith("HistGradientBoosting")  # max_iter counts trees
        if kind is None:
            hint = (" Or set pipeline_auto_early_stop=True to train the pipeline's last step in epochs."
                    if isinstance(est, Pipeline) else "")
            raise ValueError(f"early_stopping={self.early_stopping!r} needs an estimator that trains in epochs: "
                             f"{what} has neither partial_fit nor warm_start with n_estimators or max_iter. "
                             f"Use one that does (e.g. SGDClassifier, MLPClassifier, RandomForestClassifier), "
                             f"or set early_stopping=None.{hint}")
        classes = None
        if kind == "partial_fit" and is_classifier(est) and y is not None and np.ndim(y) == 1:
            classes = np.unique(y)
        return _Incremental(kind, prefix if kind == "warm_start" or not on_pipeline else "", param, cumulative,
                            on_pipeline and kind == "partial_fit", classes, int(max_iters))

    def _scheduler(self, metric: str, mode: str) -> Any:
        """The trial scheduler ``early_stopping`` names (None: FIFO)."""
        es = self.early_stopping
        if not es:
            return None
        if es is True or isinstance(es, str):
            key = "asha" if es is True else es.lower().replace("_", "")
            if key in _ASHA_NAMES:
                try:
                    from tune_hyperband import ASHAScheduler
                except ImportError as exc:
                    raise MissingFrameworkError(f"early_stopping={es!r} uses ASHA, from tune-hyperband, which is not "
                                                f"installed ({exc}). Install it with pip install tune-hyperband") \
                        from None
                return ASHAScheduler(time_attr="training_iteration", max_t=self.max_iters)
            if key in _MEDIAN_NAMES:
                from tunecore.schedulers import MedianStoppingRule

                return MedianStoppingRule(time_attr="training_iteration", grace_period=1, verbose=False)
            raise ValueError(f"early_stopping={es!r} is not a scheduler tunecore knows here: give True (ASHA), "
                             "'ASHAScheduler' ('asha'), 'MedianStoppingRule' ('median_stopping') or a scheduler "
                             "instance (e.g. tune_hyperband.ASHAScheduler(max_t=..., grace_period=...)).")
        from tunecore.schedulers import TrialScheduler

        if not isinstance(es, TrialScheduler):
            raise TypeError(f"early_stopping must be None, a bool, a scheduler name or a tunecore trial scheduler, "
                            f"but got {type(es).__name__}: {es!r}")
        if getattr(es, "requires_checkpointing", False):
            raise ValueError(f"early_stopping={type(es).__name__}(...) pauses and resumes trials, which the "
                             "search's trials cannot (they keep no checkpoints). Use a scheduler that only stops "
                             "trials: ASHAScheduler or MedianStoppingRule(hard_stop=True).")
        return copy.deepcopy(es)  # its state is this fit's: the estimator's parameter stays as given

    def _objective(self, scorers: Any) -> str:
        """The result key the scheduler and the searcher follow."""
        if isinstance(self.scoring, (list, tuple, set, dict)):
            if isinstance(self.refit, str):
                return f"mean_test_{self.refit}"
            if self.early_stopping or getattr(self, "search_optimization", "random") != "random":
                raise ValueError("With several scoring metrics, early stopping and search_optimization='optuna' "
                                 "follow one of them: set refit to its name (e.g. refit='accuracy').")
            return f"mean_test_{next(iter(scorers._scorers))}"
        return "mean_test_score"

    def _experiment_name(self) -> str:
        if self.name is not None:
            if not isinstance(self.name, str) or not self.name or "/" in self.name:
                raise ValueError(f"name must be a folder name (no '/'), but got name={self.name!r}")
            return self.name
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        return f"{type(self).__name__}_{stamp}_{uuid.uuid4().hex[:6]}"

    def _storage(self) -> Optional[str]:
        if self.local_dir and self.storage_path and str(self.local_dir) != str(self.storage_path):
            raise ValueError(f"local_dir={self.local_dir!r} and storage_path={self.storage_path!r} are two names of "
                             "one setting (tune-sklearn's and Ray Tune 2.x's): give one.")
        where = self.storage_path or self.local_dir
        return None if where is None else str(where)

    def _routed(self, X: Any, params: dict) -> tuple[dict, dict, dict]:
        """(fit params of the estimator, split params of the cv, score params of the scorer)."""
        if hasattr(self, "_get_routed_params_for_fit"):
            routed = self._get_routed_params_for_fit(params)
            return dict(routed.estimator.fit), dict(routed.splitter.split), dict(routed.scorer.score)
        params = dict(params)  # pragma: no cover - scikit-learn < 1.5
        groups = params.pop("groups", None)
        return params, {"groups": groups}, {}

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> _TuneBaseSearchCV:
        """Run a trial per configuration on Ray; refit the best one on all of ``X`` (``refit=True``).

        Args:
            X: the training data (array-like, sparse matrix, DataFrame).
            y: the targets (None for unsupervised estimators).
            groups: group labels for a group splitter (``GroupKFold``...), as scikit-learn's ``fit``.
            **fit_params: passed to the estimator's ``fit`` (``partial_fit`` when it trains in epochs);
                per-sample ones (``sample_weight``) are split with the folds.

        Returns:
            self.

        Raises:
            ValueError: bad arguments (found before any trial starts), or every fit failed.
        """
        if hasattr(self, "_validate_params"):
            self._validate_params()
        mode = self._check_mode()
        self._check_search()
        params = dict(fit_params)
        if groups is not None:
            params["groups"] = groups
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        est_fit, split_params, score_params = self._routed(X, params)
        incremental = self._incremental(y)
        metric = self._objective(scorers)
        scheduler = self._scheduler(metric, mode)
        name, storage = self._experiment_name(), self._storage()
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._checked_cv_orig = cv
        self.n_splits_ = cv.get_n_splits(X, y, **split_params)
        splits = list(cv.split(X, y, **split_params))
        if len(splits) != self.n_splits_:
            raise ValueError(f"cv.split and cv.get_n_splits return inconsistent results. Expected {self.n_splits_} "
                             f"splits, got {len(splits)}")
        candidates = self._candidates()
        if candidates is not None and not candidates:
            raise ValueError("No candidates to evaluate: the parameter grid or distributions are empty.")
        if candidates is not None:  # each trial's config is its index in the candidates (cv_results_' order)
            param_space = {"candidate": tune.grid_search(list(range(len(candidates))))}
            num_samples, search_alg = 1, None
        else:
            param_space, num_samples, search_alg = self._search(metric, mode)
        if self.verbose > 0:
            count = len(candidates) if candidates is not None else num_samples
            how = f", {incremental.max_iters} epochs each ({incremental.describe()})" if incremental else ""
            print(f"Fitting {self.n_splits_} folds for each of {count} candidates, totalling "
                  f"{count * self.n_splits_} fits{how}")

        job = _CVJob(estimator=clone(self.estimator), X=X, y=y, fit_params=est_fit, score_params=score_params,
                     splits=splits, scorer=scorers, multimetric=hasattr(scorers, "_scorers"),
                     return_train_score=self.return_train_score, error_score=self.error_score,
                     candidates=candidates, incremental=incremental, metric=metric)
        trials = self._run_trials(job, name, storage, param_space, num_samples, search_alg, scheduler, metric, mode)
        self._collect(trials, job, candidates, mode, refit_metric)
        if self.refit:
            self._refit(X, y, est_fit, incremental)
        self.scorer_ = scorers._scorers if hasattr(scorers, "_scorers") else scorers
        return self

    def _run_trials(self, job: _CVJob, name: str, storage: Optional[str], param_space: dict, num_samples: int,
                    search_alg: Any, scheduler: Any, metric: str, mode: str) -> list:
        from tunecore.execution.ray_executor import ensure_ray
        from tunecore.trainables import registry

        ensure_ray()  # before the job is pickled: it goes to the object store once, not into each trial
        trainable = tune.with_parameters(_cv_trial, job=job)
        run_name = type(self.estimator).__name__  # the trials' names: SGDClassifier_3_candidate=3
        before = registry._trainables.get(run_name)
        registry.register_trainable(run_name, trainable)
        stopper = _StopOnRaise() if self.error_score == "raise" else None
        experiment = tune.Experiment(name, run_name, stop=stopper, config=param_space, num_samples=num_samples,
                                     trial_resources=dict(self.resources_per_trial or {"cpu": 1}),
                                     local_dir=storage, loggers=self.loggers, max_failures=0)
        verbose = min(int(self.verbose), 2)
        try:
            trials = tune.run_experiments(experiment, search_alg=search_alg, scheduler=scheduler, metric=metric,
                                          mode=mode, verbose=verbose, raise_on_failed_trial=False,
                                          time_budget_s=self.time_budget_s,
                                          printer=_quiet_printer() if verbose == 0 else None)
        finally:  # the registry would otherwise keep the job (the data) alive
            if before is None:
                registry._trainables.pop(run_name, None)
            else:
                registry._trainables[run_name] = before
        self.experiment_path_ = experiment.dir
        return trials

    def _collect(self, trials: list, job: _CVJob, candidates: Optional[list], mode: str, refit_metric: str) -> None:
        """``cv_results_`` and ``best_*`` from the trials' last results, as scikit-learn's ``fit`` makes them."""
        n_splits = self.n_splits_
        rows: list[tuple[Any, dict, list[dict], int]] = []
        for order, trial in enumerate(trials):
            result = trial.last_result or {}
            params = job.params_of(trial.config)
            key = trial.config["candidate"] if candidates is not None else order
            if _RAISED in result:
                self._raise(result, params)
            if "split0_fit_time" in result:
                rows.append((key, params, self._outs(result, n_splits, job), int(result.get("training_iteration", 1))))
            elif trial.status == TrialStatus.ERROR:
                if self.error_score == "raise":
                    raise RuntimeError(f"The trial of {params} failed before it reported a score: "
                                       f"{trial.error_msg or 'see ' + str(trial.logdir)}")
                error = f"The trial failed: {trial.error_msg or 'see its error.txt in ' + str(trial.logdir)}"
                scores = ({n: self.error_score for n in job.scorer._scorers} if job.multimetric else self.error_score)
                outs = [{"fit_error": error, "test_scores": copy.copy(scores), "train_scores": copy.copy(scores),
                         "fit_time": 0.0, "score_time": 0.0, "n_test_samples": 0} for _ in range(n_splits)]
                rows.append((key, params, outs, 0))
            # else: never started (time_budget_s ran out first): not a candidate of cv_results_
        if not rows:
            raise ValueError(f"No configuration was evaluated (time_budget_s={self.time_budget_s!r} may have run out "
                             f"before the first trial reported); see {self.experiment_path_}.")
        rows.sort(key=lambda row: row[0])
        all_params = [row[1] for row in rows]
        all_out = [out for row in rows for out in row[2]]
        if not self.return_train_score:
            for out in all_out:
                out.pop("train_scores", None)
        _warn_or_raise_about_fit_failures(all_out, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(all_out, self.error_score)
        results = self._format_results(all_params, n_splits, all_out,
                                       {"training_iteration": [row[3] for row in rows]})
        if mode == "min":  # rank 1 is the smallest mean (a scorer that is a loss)
            from scipy.stats import rankdata

            for key in [k for k in results if k.startswith("rank_test_")]:
                means = np.asarray(results["mean" + key[len("rank"):]], dtype=float)
                if np.isnan(means).all():
                    continue
                means = np.where(np.isnan(means), np.nanmax(means) + 1, means)
                results[key] = rankdata(means, method="min").astype(np.int32)
        first = all_out[0]["test_scores"]
        self.multimetric_ = isinstance(first, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = int(self._select_best_index(self.refit, refit_metric, results))
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        self.cv_results_ = results

    def _outs(self, result: dict, n_splits: int, job: _CVJob) -> list[dict]:
        """The per-fold dicts of scikit-learn's ``_fit_and_score`` back from a trial's result."""
        names = None
        if result.get("multimetric"):
            names = [k[len("split0_test_"):] for k in result if k.startswith("split0_test_")]
        outs = []
        for k in range(n_splits):
            out: dict[str, Any] = {"fit_time": result[f"split{k}_fit_time"],
                                   "score_time": result[f"split{k}_score_time"],
                                   "n_test_samples": result[f"split{k}_n_test_samples"],
                                   "fit_error": result.get(f"split{k}_fit_error")}
            for kind in ("test", "train") if self.return_train_score else ("test",):
                out[f"{kind}_scores"] = ({n: result[f"split{k}_{kind}_{n}"] for n in names} if names is not None
                                         else result[f"split{k}_{kind}_score"])
            outs.append(out)
        return outs

    def _raise(self, result: dict, params: dict) -> None:
        """``error_score="raise"``: raise what the estimator raised in the trial."""
        blob = result.get(_RAISED)
        where = f"\n\nRaised in the trial of {params}:\n{result.get('estimator_traceback', '')}"
        if blob:
            import cloudpickle

            exc = cloudpickle.loads(base64.b64decode(blob))
            if hasattr(exc, "add_note"):
                exc.add_note(where.strip("\n"))
            raise exc
        raise RuntimeError(f"{result.get('estimator_error_type', 'An error')} was raised by the estimator "
                           f"(error_score='raise'); it could not be pickled.{where}")

    def _refit(self, X: Any, y: Any, fit_params: dict, incremental: Optional[_Incremental]) -> None:
        """``best_estimator_``: the best configuration trained on all the data, as its trial trained it."""
        best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
        start = time.time()
        if incremental is None:
            best.fit(X, **fit_params) if y is None else best.fit(X, y, **fit_params)
        else:  # the epochs its trial trained (all of max_iters unless stopped early)
            epochs = max(1, int(self.cv_results_["training_iteration"][self.best_index_]))
            state = incremental.prepare(best)
            for epoch in range(1, epochs + 1):
                incremental.epoch(best, X, y, fit_params, epoch, state)
            incremental.finish(best, state)
        self.refit_time_ = time.time() - start
        self.best_estimator_ = best
        if hasattr(best, "feature_names_in_"):
            self.feature_names_in_ = best.feature_names_in_


_SHARED_DOC = """
    Args:
        estimator: a scikit-learn estimator (or pipeline); each fold of each trial fits a clone.
        early_stopping: stop weak configurations between epochs: None/False (no), True (ASHA,
            ``tune_hyperband.ASHAScheduler(max_t=max_iters)``), ``"ASHAScheduler"`` (``"asha"``),
            ``"MedianStoppingRule"`` (``"median_stopping"``, over ``training_iteration``) or a
            tunecore scheduler instance that only stops trials (a copy is used). Needs
            ``max_iters > 1`` and an estimator that trains in epochs: ``partial_fit`` (one call
            per epoch), else ``warm_start`` with ``n_estimators`` or ``max_iter`` (epoch ``e`` trains
            ``value * e // max_iters`` of it); anything else is refused before any trial.
        scoring: as scikit-learn's: None (the estimator's ``score``), a name, a callable, or a
            list/dict of several; greater is better (``mode`` to turn that around).
        n_jobs: accepted for compatibility and ignored: the trials run in parallel on Ray, as many
            at once as ``resources_per_trial`` fits in the cluster; a trial's folds run in turn.
        refit: True refits the best configuration on all the data (``best_estimator_``, and the
            search predicts with it); with several metrics, the name of the one to choose by (a
            callable ``f(cv_results_) -> index`` as in scikit-learn); False: no ``best_estimator_``.
            After early stopping the refit trains the best configuration as its trial did (the
            same number of epochs).
        cv: None (5 folds), an int (folds; stratified for classifiers), a splitter or an
            iterable of (train, test) splits, as scikit-learn's. The folds are computed once
            and every trial uses the same ones.
        verbose: 0 silent; 1 a line before the search and tunecore's status table; 2 each result too.
        error_score: a number (the score of a fold whose fit raised; a ``FitFailedWarning``
            names the errors) or ``"raise"`` (the estimator's exception is raised by ``fit``,
            which ends the run).
        return_train_score: also score each fold's training data (``mean_train_score``...).
        max_iters: the epochs of a trial with early stopping (default 1: one fit per fold).
        mode: ``"max"`` (default: scikit-learn's scorers are greater-is-better) or ``"min"``, for a
            scorer that returns a loss: the scheduler, the searcher and ``rank_test_*`` follow it.
        resources_per_trial: what one trial reserves, default ``{"cpu": 1}`` (``{"cpu": 2, "gpu": 1}``).
        name: the experiment's folder name (default ``<class>_<date>_<time>_<random>``).
        local_dir, storage_path: the folder experiments go in (tune-sklearn's and Ray Tune 2.x's
            names for it; default ``~/ray_results``).
        loggers: the trial loggers by name (``["json", "csv"]``, tune-loggers adds ``"tensorboard"``);
            None: every installed logger.
        pipeline_auto_early_stop: for a Pipeline with early stopping, train its last step in epochs
            (the steps before it are fitted once per fold); False: the pipeline itself must.
        time_budget_s: end the search after this many seconds (or a ``timedelta``): trials not
            started are left out of ``cv_results_``, running ones count with their last epoch.
"""

_ATTRIBUTES_DOC = """
    Attributes (after ``fit``), as scikit-learn's: ``cv_results_`` (with the extra key
    ``training_iteration``: the epochs each candidate trained, all ``max_iters`` unless the
    scheduler stopped it; 1 without early stopping), ``best_estimator_``, ``best_score_``,
    ``best_params_``, ``best_index_``, ``scorer_``, ``n_splits_``, ``refit_time_``,
    ``multimetric_``, ``classes_``, ``n_features_in_``; and ``experiment_path_`` (tunecore), the
    experiment folder with each trial's results. With early stopping, ``split<k>_*`` scores and
    ``score_time`` are those of the last epoch, ``fit_time`` the sum over its epochs.
"""


class TuneSearchCV(_TuneBaseSearchCV):
    """Randomized (or Optuna) search over hyperparameters, one tunecore trial per configuration.

    A drop-in for ``sklearn.model_selection.RandomizedSearchCV`` (and tune-sklearn's
    ``TuneSearchCV``): with ``search_optimization="random"`` the ``n_trials`` configurations are
    scikit-learn's ``ParameterSampler(param_distributions, n_trials, random_state=random_state)``,
    so the same ``random_state`` tries the same configurations as ``RandomizedSearchCV`` and,
    with the same ``cv``, gets the same ``cv_results_`` scores.

    Args:
        param_distributions: a dict (or list of dicts, ``"random"`` only) of parameter names to
            what to try. ``"random"``: scipy.stats distributions (sampled with
            ``rvs(random_state=...)``), lists (a uniform choice) and tunecore domains
            (``tunecore.uniform(0, 1)``, ``loguniform``, ``randint``, ``choice``...), sampled with
            the search's ``random_state``. ``"optuna"``: tunecore domains, lists (a categorical
            choice), ``(low, high)`` tuples (ints: an integer range, ``high`` included; floats: a
            uniform range), ``(low, high, "log-uniform")`` tuples (log scale), or optuna
            distributions; scipy distributions are refused there (Optuna cannot model them).
        n_trials: how many configurations to try (``n_iter`` is accepted as its
            RandomizedSearchCV name). ``"random"`` over lists only tries each combination once
            at most, as scikit-learn.
        random_state: seeds the sampling (``"random"``) or Optuna's sampler (``"optuna"``).
        search_optimization: ``"random"`` (default) or ``"optuna"``
            (``tune_optuna.OptunaSearch``, TPE, seeded by ``random_state``; ``pip install
            tune-optuna``). tune-sklearn's ``"bayesian"``, ``"bohb"`` and ``"hyperopt"`` are refused.
        search_kwargs: more arguments of ``OptunaSearch`` (e.g. ``{"sampler": ...}``).
    """ + _SHARED_DOC + _ATTRIBUTES_DOC + """
    Differences from tune-sklearn, on purpose: ``n_trials`` is the third positional argument
    (``RandomizedSearchCV``'s ``n_iter`` place) and ``early_stopping`` a keyword; early stopping
    without an estimator that trains in epochs, or with ``max_iters=1``, is an error rather than
    a warning; ``error_score`` defaults to ``np.nan``, as scikit-learn; ``n_jobs`` does not
    switch Ray to local mode; the reported metric is ``mean_test_score`` (scikit-learn's name,
    tune-sklearn's ``average_test_score``).
    """

    def __init__(self, estimator: Any, param_distributions: Any, n_trials: int = 10, *,
                 early_stopping: Any = None, scoring: Any = None, n_jobs: Optional[int] = None,
                 refit: Any = True, cv: Any = None, verbose: int = 0, random_state: Any = None,
                 error_score: Any = np.nan, return_train_score: bool = False, max_iters: int = 1,
                 search_optimization: str = "random", mode: Optional[str] = None,
                 resources_per_trial: Optional[dict] = None, name: Optional[str] = None,
                 local_dir: Optional[str] = None, storage_path: Optional[str] = None,
                 loggers: Optional[list] = None, pipeline_auto_early_stop: bool = True,
                 time_budget_s: Any = None, search_kwargs: Optional[dict] = None,
                 n_iter: Optional[int] = None) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.max_iters = max_iters
        self.search_optimization = search_optimization
        self.mode = mode
        self.resources_per_trial = resources_per_trial
        self.name = name
        self.local_dir = local_dir
        self.storage_path = storage_path
        self.loggers = loggers
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.time_budget_s = time_budget_s
        self.search_kwargs = search_kwargs
        self.n_iter = n_iter

    def _num_trials(self) -> int:
        n = self.n_trials if self.n_iter is None else self.n_iter
        if self.n_iter is not None and self.n_trials not in (10, self.n_iter):
            raise ValueError(f"n_trials={self.n_trials} and n_iter={self.n_iter} are one setting (n_iter is "
                             "RandomizedSearchCV's name): give one.")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_trials must be an int >= 1, but got n_trials={n!r}")
        return int(n)

    def _optimization(self) -> str:
        opt = self.search_optimization
        key = opt.lower() if isinstance(opt, str) else opt
        if key not in SEARCH_OPTIMIZATIONS:
            extra = (" tune-sklearn's 'bayesian', 'bohb' and 'hyperopt' are not implemented by tunecore."
                     if key in ("bayesian", "bohb", "hyperopt") else "")
            raise ValueError(f"search_optimization must be one of {', '.join(map(repr, SEARCH_OPTIMIZATIONS))}, "
                             f"but got search_optimization={opt!r}.{extra}")
        return str(key)

    def _check_search(self) -> None:
        self._num_trials()
        if self._optimization() == "optuna":
            self._optuna_space()
        elif self.search_kwargs:
            raise ValueError("search_kwargs are arguments of the Optuna searcher: they need "
                             "search_optimization='optuna'.")

    def _candidates(self) -> Optional[list]:
        if self._optimization() != "random":
            return None
        dists = self.param_distributions
        wrapped: Any = ([_wrap_domains(d) for d in dists] if isinstance(dists, (list, tuple))
                        else _wrap_domains(dists))
        sampler = ParameterSampler(wrapped, self._num_trials(), random_state=self.random_state)
        return [dict(c) for c in sampler]

    def _optuna_space(self) -> dict:
        dists = self.param_distributions
        if not isinstance(dists, Mapping):
            raise ValueError("search_optimization='optuna' takes one dict of parameter distributions (a list of "
                             f"dicts is for 'random' only), but got {type(dists).__name__}")
        return {name: _optuna_domain(name, value) for name, value in dists.items()}

    def _search(self, metric: str, mode: str) -> tuple[dict, int, Any]:
        try:
            from tune_optuna import OptunaSearch
        except ImportError as exc:
            raise MissingFrameworkError(f"search_optimization='optuna' needs tune-optuna, which is not installed "
                                        f"({exc}). Install it with pip install tune-optuna") from None
        seed = self.random_state
        if seed is not None and not isinstance(seed, numbers.Integral):  # a RandomState: draw Optuna's seed
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        kwargs = dict(self.search_kwargs or {})
        searcher = OptunaSearch(space=self._optuna_space(), metric=metric, mode=mode,
                                seed=None if seed is None else int(seed), **kwargs)
        return {}, self._num_trials(), searcher


class TuneGridSearchCV(_TuneBaseSearchCV):
    """Exhaustive search over a parameter grid, one tunecore trial per configuration.

    A drop-in for ``sklearn.model_selection.GridSearchCV`` (and tune-sklearn's
    ``TuneGridSearchCV``): the candidates are ``ParameterGrid(param_grid)``, in its order, so
    ``cv_results_`` lines up with GridSearchCV's.

    Args:
        param_grid: a dict of parameter names to lists of values, or a list of such dicts.
    """ + _SHARED_DOC + _ATTRIBUTES_DOC

    def __init__(self, estimator: Any, param_grid: Any, *, early_stopping: Any = None, scoring: Any = None,
                 n_jobs: Optional[int] = None, refit: Any = True, cv: Any = None, verbose: int = 0,
                 error_score: Any = np.nan, return_train_score: bool = False, max_iters: int = 1,
                 mode: Optional[str] = None, resources_per_trial: Optional[dict] = None, name: Optional[str] = None,
                 local_dir: Optional[str] = None, storage_path: Optional[str] = None,
                 loggers: Optional[list] = None, pipeline_auto_early_stop: bool = True,
                 time_budget_s: Any = None) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.max_iters = max_iters
        self.mode = mode
        self.resources_per_trial = resources_per_trial
        self.name = name
        self.local_dir = local_dir
        self.storage_path = storage_path
        self.loggers = loggers
        self.pipeline_auto_early_stop = pipeline_auto_early_stop
        self.time_budget_s = time_budget_s

    def _candidates(self) -> Optional[list]:
        return [dict(c) for c in ParameterGrid(self.param_grid)]


# -- search spaces --------------------------------------------------------------------------------
class _DomainDistribution:
    """A tunecore domain as a scipy-like distribution, for scikit-learn's ``ParameterSampler``."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def rvs(self, size: Any = None, random_state: Any = None) -> Any:
        if isinstance(random_state, np.random.RandomState):
            rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        elif isinstance(random_state, np.random.Generator):
            rng = random_state
        else:
            rng = np.random.default_rng(random_state)
        value = self.domain.sample(rng)
        return value.item() if isinstance(value, np.generic) else value

    def __repr__(self) -> str:
        return repr(self.domain)


def _wrap_domains(dists: Any) -> Any:
    if not isinstance(dists, Mapping):
        return dists  # scikit-learn's ParameterSampler refuses it with its own message
    return {k: _DomainDistribution(v) if isinstance(v, Domain) else v for k, v in dists.items()}


def _optuna_domain(name: str, value: Any) -> Any:
    """One value of an ``"optuna"`` space as a tunecore domain (or an optuna distribution, kept)."""
    if isinstance(value, Domain):
        return value
    try:
        import optuna.distributions

        if isinstance(value, optuna.distributions.BaseDistribution):
            return value
    except ImportError:  # pragma: no cover - tune-optuna brings optuna
        pass
    if isinstance(value, tuple) and len(value) in (2, 3) and all(_is_number(v) for v in value[:2]):
        low, high = value[0], value[1]
        prior = value[2] if len(value) == 3 else "uniform"
        if prior not in ("uniform", "log-uniform", "log"):
            raise ValueError(f"param_distributions[{name!r}]={value!r}: the third item must be 'uniform' or "
                             "'log-uniform'")
        ints = all(isinstance(v, numbers.Integral) for v in (low, high))
        if prior == "uniform":
            return tune.randint(int(low), int(high) + 1) if ints else tune.uniform(float(low), float(high))
        return tune.lograndint(int(low), int(high) + 1) if ints else tune.loguniform(float(low), float(high))
    if isinstance(value, (list, tuple)) and value:
        return tune.choice(list(value))
    raise ValueError(f"param_distributions[{name!r}]={value!r:.100}: search_optimization='optuna' takes tunecore "
                     "domains (tunecore.uniform(0.01, 1), loguniform, randint, choice...), a list of choices, a "
                     "(low, high) or (low, high, 'log-uniform') tuple, or an optuna distribution"
                     + (" (scipy distributions are for search_optimization='random')" if hasattr(value, "rvs")
                        else ""))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


