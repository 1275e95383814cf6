"""OptunaSearch: suggest configs with an Optuna sampler (TPE by default) through ask/tell.

The search space is read from tunecore's sample domains (``tune.uniform``, ``loguniform``,
``quniform``, ``randint``, ``choice`` and their JSON forms, plus ``grid_search`` lists as
categories) in the experiment's config, or given as ``space=``. Values the sampler does
not model (``randn``, lambdas, ``sample_from``) are resolved by variant generation after
the suggestion is applied, so they may depend on suggested values.

Optuna is imported when the searcher is built, never when the plugin is discovered.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

from tunecore.errors import TuneError
from tunecore.search.sample import LogRandInt, QLogRandInt, QLogUniform, QRandInt
from tunecore.searchers import (
    Choice,
    Domain,
    LogUniform,
    QUniform,
    RandInt,
    SuggestionAlgorithm,
    Uniform,
    flatten_config,
    unflatten_config,
)
from tunecore.util import from_jsonable, is_number, plain, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import optuna

__all__ = ["OptunaSearch"]

_SAMPLERS = ("tpe", "random", "cmaes", "qmc", "gp")
_PRIMITIVE = (type(None), bool, int, float, str)


def _param_name(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _make_sampler(sampler: Any, seed: Optional[int]) -> optuna.samplers.BaseSampler:
    import optuna

    if sampler is None or sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if isinstance(sampler, str):
        if sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed)
        if sampler == "qmc":
            return optuna.samplers.QMCSampler(seed=seed)
        if sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        raise TuneError(f"sampler must be an optuna sampler or one of {', '.join(_SAMPLERS)}, "
                        f"but got sampler={sampler!r}")
    if isinstance(sampler, optuna.samplers.BaseSampler):
        if seed is not None:
            raise TuneError("seed applies to a named or the default sampler; seed the sampler instance "
                            "you pass yourself (e.g. TPESampler(seed=...))")
        return sampler
    raise TuneError(f"sampler must be an optuna sampler or one of {', '.join(_SAMPLERS)}, but got sampler={sampler!r}")


def _to_distribution(name: str, value: Any) -> Optional[tuple[Any, Callable[[Any], Any]]]:
    """``(optuna distribution, decode)`` for a searchable value; None if Optuna cannot model it."""
    import optuna.distributions as od

    if isinstance(value, od.BaseDistribution):
        return value, lambda v: v
    if isinstance(value, dict) and len(value) == 1 and "grid_search" in value:
        value = Choice(value["grid_search"])
    elif not isinstance(value, Domain):
        from tunecore.search import sample

        value = sample.from_json(value, where=name) if isinstance(value, dict) else None
        if value is None:
            raise TuneError(f"OptunaSearch space[{name!r}] must be a tunecore sample domain, its JSON form, a "
                            f"grid_search or an optuna distribution, but got {value!r}")
    if isinstance(value, Uniform):
        return od.FloatDistribution(value.low, value.high), float
    if isinstance(value, LogUniform):
        return od.FloatDistribution(value.low, value.high, log=True), float
    if isinstance(value, RandInt):
        return od.IntDistribution(value.low, value.high - 1), int
    if isinstance(value, LogRandInt):
        return od.IntDistribution(value.low, value.high - 1, log=True), int
    if isinstance(value, QRandInt):  # the multiples of q in [low, high] (Optuna's step counts from low)
        q_int, (i0, i1) = value.q, value._k
        return od.IntDistribution(i0, i1), lambda k: int(k) * q_int
    if isinstance(value, QLogRandInt):  # Optuna has no log+step: sample the multiples' index log-uniformly
        q, (k0, k1) = value.q, value._k
        return od.IntDistribution(k0, k1, log=True), lambda k: int(k) * q
    if isinstance(value, QLogUniform):
        qf, (j0, j1) = value.q, value._k
        places = max(0, -int(math.floor(math.log10(abs(qf)))) + 6)
        return od.FloatDistribution(j0 * qf, j1 * qf, log=True), \
            (lambda v: float(round(min(max(round(v / qf), j0), j1) * qf, places)))
    if isinstance(value, QUniform):
        q = value.q
        lo, hi = math.ceil(value.low / q - 1e-9), math.floor(value.high / q + 1e-9)
        as_int = all(isinstance(x, int) for x in (value.low, value.high, q))
        decimals = max(0, -int(math.floor(math.log10(abs(q)))) + 6)
        return od.IntDistribution(lo, hi), (lambda k: int(k * q)) if as_int else (lambda k: round(k * q, decimals))
    if isinstance(value, Choice):
        cats = value.categories
        if all(isinstance(c, _PRIMITIVE) for c in cats) and len(set(map(repr, cats))) == len(cats):
            return od.CategoricalDistribution(list(cats)), lambda v: v
        return od.CategoricalDistribution(list(range(len(cats)))), lambda i: copy.deepcopy(cats[i])
    return None  # randn, sample_from: left to variant generation


class OptunaSearch(SuggestionAlgorithm):
    """Model-based search on Optuna: each trial's config comes from ``study.ask()``.

    Args:
        space: the search space as a (nested) dict of tunecore sample domains, their JSON
            forms, ``grid_search`` lists or optuna distributions; or an Optuna define-by-run
            function ``space(trial) -> Optional[dict]`` that calls ``trial.suggest_*`` (a
            name ``"a/b"`` is the nested key ``config["a"]["b"]``) and may return a dict of
            constants to add to the config; the ``param_space`` then holds constants only.
            None (default): read the sample domains in the experiment's config
            (``Tuner(param_space=...)``).
        metric: the result key to optimise; default: ``TuneConfig(metric=...)`` (or
            ``run_experiments(metric=...)``).
        mode: ``"min"`` or ``"max"``; default: ``TuneConfig(mode=...)``.
        points_to_evaluate: configs (whole or partial) to try first, in order; the sampler
            fills in what a partial one leaves out.
        sampler: an optuna sampler, or ``"tpe"`` (default), ``"random"``, ``"cmaes"``,
            ``"qmc"``, ``"gp"``.
        seed: seeds the default or named sampler, for repeatable searches.
        evaluated_rewards: the metric values of ``points_to_evaluate``, already known: the
            points are told to the study instead of being run again.
        max_concurrent: (tunecore's extension, keyword only) at most this many suggested
            trials run at once: the model learns only from finished trials, so fewer is
            better-informed. ``ConcurrencyLimiter`` does the same for any searcher.
        verbose: keep Optuna's per-trial INFO log lines (off by default).

    The signature is Ray Tune 2.x's ``ray.tune.search.optuna.OptunaSearch``; quantized log
    domains (``qloguniform``, ``qlograndint``), which Ray passes to Optuna unquantized, are
    searched log-scaled and rounded to their multiples.

    Early-stopped trials (``early_terminated=True``) are told to Optuna as PRUNED, with
    the intermediate values reported so far; failed trials as FAIL.

    Optuna gets Python floats only: metrics may be Python or numpy numbers of any dtype
    (or 0-d arrays). As Optuna itself does with ``study.tell``, a trial that ends with a
    NaN metric is told as FAIL, and ±inf are values like any other (the worst or the
    best possible); a trial that ends without the metric, or with one that is not a
    number (None, text, an array), is told as FAIL too, with a warning. Intermediate
    values are reported for each result with a metric that is a number and not NaN,
    at its ``training_iteration`` (a Python or numpy int).
    """

    def __init__(self, space: Union[dict, Callable[[Any], Optional[dict]], None] = None,
                 metric: Optional[str] = None, mode: Optional[str] = None,
                 points_to_evaluate: Optional[list[dict]] = None, sampler: Any = None, seed: Optional[int] = None,
                 evaluated_rewards: Optional[list] = None, *, max_concurrent: Optional[int] = 10,
                 verbose: bool = False) -> None:
        super().__init__(max_concurrent=max_concurrent)
        import optuna

        if mode not in (None, "min", "max"):
            raise TuneError(f"mode must be 'min' or 'max', but got mode={mode!r}")
        if metric is not None and not isinstance(metric, str):
            raise TuneError(f"metric must be a result key (a string), but got metric={metric!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TuneError(f"seed must be None or an int, but got seed={seed!r}")
        self._define_by_run: Optional[Callable[[Any], Optional[dict]]] = None
        if callable(space) and not isinstance(space, dict):
            _check_define_by_run(space)
            self._define_by_run = space
            space = None
        elif space is not None and not isinstance(space, dict):
            raise TuneError("space must be a dict of parameter names to domains, or a define-by-run function "
                            f"(optuna_trial) -> Optional[dict], but got space={space!r}")
        self._points = _check_points(points_to_evaluate, evaluated_rewards)
        self._rewards = list(evaluated_rewards) if evaluated_rewards is not None else None
        if not verbose:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.metric = metric
        self.mode = mode
        self._sampler = _make_sampler(sampler, seed)
        self._sampler_args = (sampler, seed)
        self._params: Optional[dict[str, tuple]] = None  # name -> (path, distribution, decode)
        self._fixed_space = space is not None or self._define_by_run is not None
        if space is not None:
            self._params = self._build_params(flatten_config(space))
            if not self._params:
                raise TuneError("OptunaSearch(space=...) has nothing Optuna can search")
        self._study: Optional[optuna.Study] = None
        self._trials: dict[str, Any] = {}  # tunecore trial id -> optuna Trial
        self._steps: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict] = {}
        self._pending: Optional[dict] = None

    # -- space ----------------------------------------------------------------------
    @staticmethod
    def _build_params(flat: dict[tuple, Any]) -> dict[str, tuple]:
        params: dict[str, tuple] = {}
        skipped = []
        for path, value in flat.items():
            name = _param_name(path)
            converted = _to_distribution(name, value)
            if converted is None:
                skipped.append(name)
                continue
            params[name] = (path, converted[0], converted[1])
        if skipped:
            warnings.warn(f"OptunaSearch does not model {', '.join(skipped)} (unbounded or computed); they are "
                          "sampled by variant generation instead.", stacklevel=3)
        return params

    def _setup_space(self, space: dict[tuple, Any], experiment: Any) -> None:
        if self._define_by_run is not None and space:
            raise TuneError(
                f"Experiment {experiment.name!r}: OptunaSearch was given a define-by-run function, and the "
                f"param_space also has values to search ({', '.join(sorted(map(_param_name, space)))}). "
                "Define every searched value in the function (trial.suggest_*), and keep only constants "
                "in param_space."
            )
        if self._fixed_space:
            return
        params = self._build_params(space)
        if self._params is None:
            if not params:
                raise TuneError(
                    f"Experiment {experiment.name!r}: OptunaSearch found no search space. Put sample domains "
                    "in the config (e.g. \"lr\": tune.loguniform(1e-4, 1e-1)) or pass OptunaSearch(space=...)."
                )
            self._params = params
        elif set(params) != set(self._params):
            raise TuneError(
                f"Experiment {experiment.name!r} searches {sorted(params)}, but this OptunaSearch already "
                f"searches {sorted(self._params)}; use one OptunaSearch per search space."
            )

    def set_search_properties(self, metric: Optional[str], mode: Optional[str]) -> None:
        if self.metric is None:
            self.metric = metric
        if self.mode is None:
            self.mode = mode

    # -- the study ------------------------------------------------------------------
    def _ensure_study(self) -> optuna.Study:
        if self._study is not None:
            return self._study
        import optuna

        if self.metric is None or self.mode is None:
            raise TuneError(
                "OptunaSearch needs a metric and a mode: OptunaSearch(metric='mean_loss', mode='min') or "
                f"run_experiments(..., metric=..., mode=...); got metric={self.metric!r}, mode={self.mode!r}."
            )
        direction: Literal["minimize", "maximize"] = "minimize" if self.mode == "min" else "maximize"
        if self._pending is not None:
            # A resumed search must not replay the random draws it already made.
            sampler, seed = self._sampler_args
            if seed is not None:
                self._sampler = _make_sampler(sampler, (seed + 1 + len(self._pending.get("finished", []))) % 2**32)
            else:
                self._sampler.reseed_rng()
        self._study = optuna.create_study(direction=direction, sampler=self._sampler)
        if self._pending is not None:
            self._replay(self._pending)
            self._pending = None
        elif self._points:
            self._seed_points(self._study)
        return self._study

    def _seed_points(self, study: optuna.Study) -> None:
        """``points_to_evaluate``: told to the study with their rewards, or queued to be tried first."""
        from optuna.trial import create_trial

        known = self._params or {}
        names = {path: name for name, (path, _, _) in known.items()}
        for i, point in enumerate(self._points):
            flat = flatten_config(point)
            params = {names.get(path, "/".join(map(str, path))): v for path, v in flat.items()}
            params = {n: _encode(known[n], v) if n in known else v for n, v in params.items()}
            if self._rewards is None:
                study.enqueue_trial(params, skip_if_exists=False)
                continue
            dists = {name: dist for name, (_, dist, _) in known.items()}
            missing = sorted(set(dists) - set(params))
            if missing or self._define_by_run is not None:
                raise TuneError(f"evaluated_rewards needs complete points_to_evaluate over the space; point {i} "
                                f"misses {missing or 'the define-by-run parameters'}")
            study.add_trial(create_trial(params={n: params[n] for n in dists}, distributions=dists,
                                         value=float(self._rewards[i])))
        self._points = []

    @property
    def study(self) -> Optional[optuna.Study]:
        """The Optuna study (created at the first suggestion), for analysis."""
        return self._study

    def _distributions(self) -> dict[str, Any]:
        assert self._params is not None
        return {name: dist for name, (_, dist, _) in self._params.items()}

    def _suggest(self, trial_id: str) -> Optional[dict]:
        study = self._ensure_study()
        if self._define_by_run is not None:
            ot = study.ask()
            constants = self._define_by_run(ot)
            if constants is not None and not isinstance(constants, dict):
                raise TuneError(f"the define-by-run function of OptunaSearch must return None or a dict of "
                                f"constants, but returned {constants!r}")
            self._trials[trial_id] = ot
            self._steps[trial_id] = {}
            config = unflatten_config({tuple(name.split("/")): v for name, v in ot.params.items()})
            return _merge_constants(config, constants or {})
        if self._params is None:
            raise TuneError("OptunaSearch has no search space yet; add an experiment first")
        ot = study.ask(fixed_distributions=self._distributions())
        self._trials[trial_id] = ot
        self._steps[trial_id] = {}
        return self._decode(ot.params)

    def _decode(self, params: dict[str, Any]) -> dict:
        assert self._params is not None
        return unflatten_config({self._params[n][0]: self._params[n][2](v) for n, v in params.items()
                                 if n in self._params})

    def _on_result(self, trial_id: str, result: dict) -> None:
        ot = self._trials.get(trial_id)
        if ot is None:
            return
        self._last[trial_id] = result
        value = _objective(result.get(self.metric)) if self.metric else None
        step = _step(result.get("training_iteration"))
        if value is not None and step is not None and step not in self._steps[trial_id]:
            ot.report(value, step)
            self._steps[trial_id][step] = value

    def _on_complete(self, trial_id: str, result: Optional[dict], error: bool, early_terminated: bool) -> None:
        from optuna.trial import TrialState

        ot = self._trials.pop(trial_id, None)
        last = result if result is not None else self._last.get(trial_id)
        self._last.pop(trial_id, None)
        self._steps.pop(trial_id, None)
        if ot is None or self._study is None:
            return
        if error:
            self._study.tell(ot, state=TrialState.FAIL)
        elif early_terminated:
            self._study.tell(ot, state=TrialState.PRUNED)
        else:
            reported = last.get(self.metric) if last is not None and self.metric else None
            value = _objective(reported)
            if value is None:
                warnings.warn(f"OptunaSearch: trial {trial_id} ended without a number (not NaN) for "
                              f"{self.metric!r} (got {reported!r:.80}); told to Optuna as FAIL.", stacklevel=2)
                self._study.tell(ot, state=TrialState.FAIL)
            else:
                self._study.tell(ot, value)

    # -- resume ---------------------------------------------------------------------
    def _save_searcher_state(self) -> Any:
        if self._study is None:
            return self._pending
        from optuna.distributions import distribution_to_json

        finished = []
        for t in self._study.get_trials(deepcopy=False):
            if t.state.is_finished():
                finished.append({
                    "params": t.params,
                    "distributions": {n: distribution_to_json(d) for n, d in t.distributions.items()},
                    "state": t.state.name,
                    "value": t.value,
                    "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())},
                })
        live = {}
        for trial_id, ot in self._trials.items():
            live[trial_id] = {
                "params": ot.params,
                "distributions": {n: distribution_to_json(d) for n, d in ot.distributions.items()},
                "intermediate": {str(k): v for k, v in sorted(self._steps.get(trial_id, {}).items())},
            }
        return to_jsonable({"finished": finished, "live": live})  # ±inf values as "Infinity"/"-Infinity"

    def _restore_searcher_state(self, state: Any) -> None:
        if not state:
            return
        if self._study is not None:
            raise TuneError("OptunaSearch.restore_state must be called before the first suggestion")
        self._pending = state

    def _replay(self, state: dict) -> None:
        from optuna.distributions import json_to_distribution
        from optuna.trial import TrialState, create_trial

        assert self._study is not None
        for rec in state.get("finished", []):
            self._study.add_trial(create_trial(
                params=rec["params"],
                distributions={n: json_to_distribution(d) for n, d in rec["distributions"].items()},
                state=TrialState[rec["state"]],
                value=from_jsonable(rec["value"]) if rec["state"] != "FAIL" else None,  # PRUNED keeps its last value
                intermediate_values={int(k): from_jsonable(v) for k, v in rec.get("intermediate", {}).items()},
            ))
        for trial_id, rec in state.get("live", {}).items():
            dists = {n: json_to_distribution(d) for n, d in rec["distributions"].items()}
            self._study.enqueue_trial(rec["params"], skip_if_exists=False)
            ot = self._study.ask(fixed_distributions=dists)
            self._trials[trial_id] = ot
            self._steps[trial_id] = {}
            for step, value in sorted((int(k), from_jsonable(v)) for k, v in rec.get("intermediate", {}).items()):
                ot.report(value, step)
                self._steps[trial_id][step] = value

    def debug_string(self) -> str:
        n = len(self._study.trials) if self._study is not None else 0
        return f"OptunaSearch: {n} Optuna trials, {len(self._trials)} live."


def _check_define_by_run(function: Callable) -> None:
    import inspect

    try:
        inspect.signature(function).bind(object())
    except TypeError as exc:
        raise TuneError("OptunaSearch(space=...) as a function must take one argument, the optuna Trial "
                        f"(def space(trial): trial.suggest_float(...)); {function!r} cannot: {exc}") from None
    except ValueError:  # no signature (a builtin): let the first call tell
        pass


def _check_points(points: Any, rewards: Any) -> list[dict]:
    if points is None:
        if rewards is not None:
            raise TuneError("evaluated_rewards needs points_to_evaluate: one reward for each point")
        return []
    if not isinstance(points, (list, tuple)) or not all(isinstance(p, dict) for p in points):
        raise TuneError(f"points_to_evaluate must be a list of config dicts, but got {points!r:.200}")
    if rewards is not None and (not isinstance(rewards, (list, tuple)) or len(rewards) != len(points)):
        raise TuneError(f"evaluated_rewards must be a list with one reward for each of the {len(points)} "
                        f"points_to_evaluate, but got {rewards!r:.200}")
    return [copy.deepcopy(p) for p in points]


def _encode(param: tuple, value: Any) -> Any:
    """The value of the distribution of ``param`` (path, distribution, decode) that decodes to ``value``."""
    _, dist, decode = param
    guesses = [value, *getattr(dist, "choices", ())]
    if is_number(value) and not isinstance(value, bool) and dist.__class__.__name__ == "IntDistribution":
        guesses.append(round(value / (decode(1) or 1)))  # a multiple of q as its index (quniform, qlograndint)
    for guess in guesses:
        try:
            if decode(guess) == value and dist._contains(dist.to_internal_repr(guess)):
                return guess
        except (TypeError, ValueError, IndexError):
            continue
    raise TuneError(f"points_to_evaluate: {value!r} is not a value of the searched space {dist!r}")


def _merge_constants(config: dict, constants: dict) -> dict:
    out = dict(config)
    for key, value in constants.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_constants(out[key], value)
        else:
            out[key] = value
    return out


def _objective(value: Any) -> Optional[float]:
    """``value`` as the Python float Optuna takes as an objective value, or None.

    Python and numpy numbers of any dtype and 0-d arrays of them; ±inf are kept (Optuna
    accepts them); None for NaN (Optuna fails a trial told NaN), bools, None, text,
    arrays, and ints too large for a float.
    """
    value = plain(value)
    if not is_number(value):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return None if value != value else value


def _step(value: Any) -> Optional[int]:
    """``training_iteration`` as the Python int Optuna takes as a step, or None."""
    value = plain(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
