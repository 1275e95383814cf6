"""OptunaSearch: Ray Tune 2.x's ``ray.tune.search.optuna.OptunaSearch`` on Optuna's ask/tell API.

The search space is read from tunecore's sample domains (``tune.uniform``, ``loguniform``,
``quniform``, ``randint``, ``lograndint``, ``qrandint``, ``qloguniform``, ``qlograndint``,
``choice`` and their JSON forms, plus ``grid_search`` lists as categories) in the
experiment's config (``Tuner(param_space=...)``), or given as ``space=``: such domains,
Optuna distributions, or an Optuna define-by-run function. Values the sampler does not
model (``randn``, lambdas, ``sample_from``) are resolved by variant generation after the
suggestion is applied, so they may depend on suggested values.

Optuna is imported when the searcher is built, never when the plugin is discovered.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union, cast

from tunecore.errors import TuneError
from tunecore.objective import check_objective
from tunecore.search.sample import LogRandInt, QLogRandInt, QLogUniform, QRandInt, _q_decimals
from tunecore.search.searcher import Searcher
from tunecore.searchers import (
    Choice,
    Domain,
    LogUniform,
    QUniform,
    RandInt,
    SuggestionAlgorithm,
    Uniform,
    flatten_config,
    searchable_space,
    unflatten_config,
)
from tunecore.util import from_jsonable, is_number, lookup_metric, plain, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import optuna

__all__ = ["CONSTRAINTS_ATTR", "OptunaSearch", "native_constraints", "reported_constraints"]

_SAMPLERS = ("tpe", "random", "cmaes", "qmc", "gp")
_PRIMITIVE = (type(None), bool, int, float, str)
#: A define-by-run function slower than this (seconds) gets a warning, as in Ray Tune.
DEFINE_BY_RUN_WARN_THRESHOLD_S = 1.0

Metric = Union[str, list[str], None]


def _param_name(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _split(path: tuple) -> tuple:
    """``("a/b", "c")`` -> ``("a", "b", "c")``: a ``/`` in a key of ``space`` nests, as in Ray Tune."""
    out: list = []
    for key in path:
        out.extend(key.split("/") if isinstance(key, str) else [key])
    return tuple(out)


#: The user attribute of an Optuna trial holding the constraint values tunecore told it.
CONSTRAINTS_ATTR = "tunecore:constraints"
#: Samplers that take ``constraints_func`` (named by ``sampler=`` strings).
_CONSTRAINED = ("tpe", "gp")


def native_constraints() -> bool:
    """True with Optuna 5+, where a trial holds its constraints (``Trial.set_constraint``) and every
    sampler that models constraints reads them; before, a sampler's ``constraints_func`` did."""
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


def reported_constraints(trial: Any) -> list[float]:
    """An Optuna ``constraints_func``: the constraint values the trial reported (feasible when all
    ``<= 0``), as OptunaSearch stored them. A trial without them (failed early) is infeasible."""
    values = trial.user_attrs.get(CONSTRAINTS_ATTR)
    return list(values) if values else [math.inf]


def _check_objective(metric: Any, mode: Any) -> None:
    check_objective(metric, mode, "OptunaSearch", partial=True)


def _make_sampler(sampler: Any, seed: Optional[int], constrained: bool = False) -> optuna.samplers.BaseSampler:
    """The sampler ``sampler=`` names (or the one given); ``constrained``: built with
    :func:`reported_constraints` as its ``constraints_func``."""
    import optuna

    extra: dict[str, Any] = {"constraints_func": reported_constraints} if constrained else {}
    if constrained and isinstance(sampler, str) and sampler not in _CONSTRAINED:
        raise TuneError(f"OptunaSearch(sampler={sampler!r}) cannot take the run's constraints; use one of "
                        f"{list(_CONSTRAINED)} or a sampler built with "
                        "constraints_func=tune_optuna.reported_constraints, e.g. "
                        "optuna.samplers.NSGAIISampler(constraints_func=tune_optuna.reported_constraints)")
    if sampler is None or sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **extra)
    if isinstance(sampler, str):
        if sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if sampler == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed)
        if sampler == "qmc":
            return optuna.samplers.QMCSampler(seed=seed)
        if sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed, **extra)
        raise TuneError(f"sampler must be an optuna sampler or one of {', '.join(_SAMPLERS)}, "
                        f"but got sampler={sampler!r}")
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    raise TuneError(f"sampler must be an optuna sampler or one of {', '.join(_SAMPLERS)}, but got sampler={sampler!r}")


def _to_distribution(name: str, value: Any) -> Optional[tuple[Any, Callable[[Any], Any]]]:
    """``(optuna distribution, decode)`` for a searchable value; None if Optuna cannot model it."""
    import optuna.distributions as od

    if isinstance(value, od.BaseDistribution):
        return value, lambda v: v
    given = value
    if isinstance(value, dict) and len(value) == 1 and "grid_search" in value:
        value = Choice(value["grid_search"])
    elif not isinstance(value, Domain):
        from tunecore.search import sample

        value = sample.from_json(value, where=name) if isinstance(value, dict) else None
        if value is None:
            raise TuneError(f"OptunaSearch space[{name!r}] must be a tunecore sample domain, its JSON form, a "
                            f"grid_search or an optuna distribution, but got {given!r:.200} (constants belong in "
                            "the Tuner's param_space)")
    try:
        return _domain_distribution(value)
    except ValueError as exc:  # optuna refuses the bounds
        raise TuneError(f"OptunaSearch cannot search {name!r} = {value!r}: {exc}") from None


def _domain_distribution(value: Domain) -> Optional[tuple[Any, Callable[[Any], Any]]]:
    import optuna.distributions as od

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
        places = _q_decimals(qf)  # as the domain rounds its own samples
        return od.FloatDistribution(j0 * qf, j1 * qf, log=True), \
            (lambda v: float(round(min(max(round(v / qf), j0), j1) * qf, places)))
    if isinstance(value, QUniform):
        q = value.q
        lo, hi = math.ceil(value.low / q - 1e-9), math.floor(value.high / q + 1e-9)
        as_int = all(isinstance(x, int) for x in (value.low, value.high, q))
        decimals = _q_decimals(q)
        return od.IntDistribution(lo, hi), (lambda k: int(k * q)) if as_int else (lambda k: round(k * q, decimals))
    if isinstance(value, Choice):
        cats = value.categories
        if all(isinstance(c, _PRIMITIVE) for c in cats) and len(set(map(repr, cats))) == len(cats):
            return od.CategoricalDistribution(list(cats)), lambda v: v
        return od.CategoricalDistribution(list(range(len(cats)))), lambda i: copy.deepcopy(cats[i])
    return None  # randn, qrandn, sample_from: left to variant generation


class OptunaSearch(SuggestionAlgorithm, Searcher):
    """Model-based search on Optuna: each trial's config comes from ``study.ask()``.

    Ray Tune 2.x's ``ray.tune.search.optuna.OptunaSearch``, with its signature. The Tuner
    drives it directly; it is also a :class:`tunecore.search.Searcher`, so it can be
    wrapped (``ConcurrencyLimiter(OptunaSearch(...), max_concurrent=4)``, ``Repeater``)
    and driven through ``suggest``/``on_trial_complete`` as in Ray.

    Args:
        space: the search space. None (default): the sample domains of the experiment's
            config (``Tuner(param_space=...)``). A (nested) dict of tunecore sample domains,
            their JSON forms, ``grid_search`` lists or optuna distributions (a key
            ``"a/b"`` is the nested key ``config["a"]["b"]``); searched domains left in
            ``param_space`` as well are overridden. Or an Optuna define-by-run function
            ``space(trial) -> Optional[dict]`` that calls ``trial.suggest_*`` (a name
            ``"a/b"`` is the nested key ``config["a"]["b"]``) and may return a dict of
            constants to add to the config; ``param_space`` then holds constants only.
        metric: the result key to optimise (a list of keys for multi-objective search);
            default: ``TuneConfig(metric=...)`` (or ``run_experiments(metric=...)``).
        mode: ``"min"`` or ``"max"`` (a list, one per metric); default: ``TuneConfig(mode=...)``.
        points_to_evaluate: configs (whole or partial, nested or with ``"a/b"`` keys) to
            try first, in order; the sampler fills in what a partial one leaves out.
        sampler: an optuna sampler; default: ``TPESampler(seed=seed)``. tunecore also
            takes a name: ``"tpe"``, ``"random"``, ``"cmaes"``, ``"qmc"``, ``"gp"``.
        study_name: the Optuna study's name (default ``"optuna"``).
        storage: an Optuna storage (or its URL) for the study, e.g. ``RDBStorage``; an
            existing study of that name is loaded and its trials inform the search. Default:
            in memory.
        seed: seeds the default or named sampler, for repeatable searches; ignored, with a
            warning, when ``sampler`` is a sampler instance (seed that one yourself).
        evaluated_rewards: the metric values of ``points_to_evaluate``, already known (a
            list of values per point for multi-objective search): the points are told to
            the study instead of being run. Not with a define-by-run ``space``.
        max_concurrent: (tunecore's extension, keyword only) at most this many suggested
            trials run at once: the model learns only from finished trials, so fewer is
            better-informed. ``ConcurrencyLimiter(...)`` and ``TuneConfig(max_concurrent_trials=...)``
            set it too.
        verbose: (tunecore's extension, keyword only) keep Optuna's per-trial INFO log
            lines (off by default).

    Quantized log domains (``qloguniform``, ``qlograndint``), which Ray passes to Optuna
    unquantized, are searched log-scaled and rounded to their multiples; ``grid_search``
    lists, which Ray refuses, are searched as categories.

    Early-stopped trials (``early_terminated=True``) are told to Optuna as PRUNED, with
    the intermediate values reported so far; failed trials as FAIL. A trial a scheduler
    stops at its full budget (ASHA's ``max_t``) is told COMPLETE with its last values.

    The run's constraints (``TuneConfig(constraints=[...])``: result keys feasible when
    ``<= 0``) are told to Optuna with each trial: ``Trial.set_constraint`` with Optuna 5+,
    read by every sampler that models constraints; before Optuna 5, through the sampler's
    ``constraints_func`` (:func:`reported_constraints`). Missing or NaN values are +inf.

    Optuna gets Python floats only: metrics may be Python or numpy numbers of any dtype
    (or 0-d arrays). As Optuna itself does with ``study.tell``, a trial that ends with a
    NaN metric is told as FAIL, and ±inf are values like any other (the worst or the
    best possible); a trial that ends without the metric, or with one that is not a
    number (None, text, an array), is told as FAIL too, with a warning. Intermediate
    values are reported for each result with a metric that is a number and not NaN,
    at its ``training_iteration`` (a Python or numpy int); not in multi-objective search,
    which Optuna does not prune.
    """

    #: Several metrics (with as many modes) are searched with Optuna's multi-objective samplers.
    multi_objective = True

    def __init__(self, space: Union[dict, Callable[[Any], Optional[dict]], None] = None,
                 metric: Metric = None, mode: Union[str, list[str], None] = None,
                 points_to_evaluate: Optional[list[dict]] = None, sampler: Any = None,
                 study_name: Optional[str] = None, storage: Any = None, seed: Optional[int] = None,
                 evaluated_rewards: Optional[list] = None, *, max_concurrent: Optional[int] = 10,
                 verbose: bool = False) -> None:
        SuggestionAlgorithm.__init__(self, max_concurrent=max_concurrent)
        import optuna

        _check_objective(metric, mode)
        # Searcher takes lists for multi-objective search (its annotation says str only)
        Searcher.__init__(self, metric=cast(Any, metric), mode=cast(Any, mode))
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TuneError(f"seed must be None or an int, but got seed={seed!r}")
        if study_name is not None and not isinstance(study_name, str):
            raise TuneError(f"study_name must be None or a string, but got study_name={study_name!r}")
        if storage is not None and not isinstance(storage, (str, optuna.storages.BaseStorage)):
            raise TuneError(f"storage must be an optuna storage (e.g. optuna.storages.RDBStorage(url)) or its URL, "
                            f"but got storage={storage!r}")
        if isinstance(space, dict) and not space:
            space = None  # as in Ray: no space, the experiment's config gives it
        self._define_by_run: Optional[Callable[[Any], Optional[dict]]] = None
        if callable(space) and not isinstance(space, dict):
            _check_define_by_run(space)
            self._define_by_run = space
            space = None
        elif space is not None and not isinstance(space, dict):
            raise TuneError("space must be a dict of parameter names to domains, or a define-by-run function "
                            f"(optuna_trial) -> Optional[dict], but got space={space!r:.200}")
        points = _check_points(points_to_evaluate, evaluated_rewards)
        if self._define_by_run is not None and evaluated_rewards is not None:
            raise TuneError("evaluated_rewards needs a dict space (domains or optuna distributions), as in Ray Tune: "
                            "points of a define-by-run space cannot be told to Optuna without their distributions. "
                            "Leave evaluated_rewards out to run the points_to_evaluate instead.")
        if not verbose:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        if isinstance(sampler, optuna.samplers.BaseSampler) and seed is not None:
            warnings.warn("OptunaSearch got a sampler and a seed: the seed is ignored (as in Ray Tune); seed the "
                          "sampler you pass, e.g. TPESampler(seed=...).", UserWarning, stacklevel=2)
            seed = None
        self._sampler = _make_sampler(sampler, seed)
        self._sampler_args = (sampler, seed)
        self._constraints: Optional[list[str]] = None
        self._study_name = study_name
        self._storage = storage
        self._params: Optional[dict[str, tuple]] = None  # name -> (path, distribution, decode)
        self._extra: dict[tuple, Any] = {}  # what space= holds that Optuna does not model (variant generation)
        self._fixed_space = space is not None or self._define_by_run is not None
        self._study: Optional[optuna.Study] = None
        self._trials: dict[str, Any] = {}  # tunecore trial id -> optuna Trial
        self._steps: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict] = {}
        self._configs: dict[str, dict] = {}  # what suggest() returned, by trial id (asked again: the same)
        self._pending: Optional[dict] = None
        self._objective_warned = False
        self._space_warned = False
        self._points: list[dict] = []  # to enqueue when the study is created
        self._told: list[tuple] = []  # evaluated points to add to the study when it is created
        if space is not None:
            self._params, self._extra = self._build_params(
                {_split(path): value for path, value in flatten_config(space).items()}, explicit=True)
            if not self._params:
                raise TuneError("OptunaSearch(space=...) has nothing Optuna can search")
        if evaluated_rewards is not None:
            for i, (point, reward) in enumerate(zip(points, evaluated_rewards)):
                self._told.append((point, reward, False, False, [], f"points_to_evaluate[{i}]"))
        else:
            self._points = points
        self._check_warm_start()

    # -- the objective ----------------------------------------------------------------
    def set_search_properties(self, metric: Optional[str], mode: Optional[str],  # type: ignore[override]
                              config: Optional[dict] = None, **spec: Any) -> bool:
        """The run's metric and mode fill what the searcher was built without; ``config`` (Ray's form) gives
        the search space when ``space`` was not given. True if ``config`` became the search space.

        ``constraints`` (the run's, tunecore): result keys feasible when ``<= 0``, told to Optuna as
        its constraints: with Optuna 5+ set on each trial (``Trial.set_constraint``), read by
        every sampler that models them; before Optuna 5, through the sampler's ``constraints_func``
        (a named or default sampler is built with one, a given sampler must have one).
        """
        _check_objective(metric, mode)
        if spec.get("constraints"):
            self._take_constraints(list(spec["constraints"]))
        for key, given in (("_metric", metric), ("_mode", mode)):
            own = self.__dict__.get(key)
            if given is None:
                continue
            if own is None:
                setattr(self, key, given)
            elif own != given and not self._objective_warned:
                self._objective_warned = True
                warnings.warn(f"OptunaSearch optimises its own metric={self.metric!r}, mode={self.mode!r}; the run's "
                              f"metric={metric!r}, mode={mode!r} (TuneConfig) is what schedulers and "
                              "get_best_result use.", UserWarning, stacklevel=2)
        if config is None:
            return True
        return self._take_space(searchable_space(config), "The config")

    def _take_constraints(self, constraints: list[str]) -> None:
        if self._constraints == constraints:
            return
        if native_constraints():  # Optuna 5+: set on each trial; the samplers that model constraints read them
            self._constraints = constraints
            return
        sampler, seed = self._sampler_args
        if isinstance(sampler, (str, type(None))):
            self._sampler = _make_sampler(sampler, seed, constrained=True)
        elif getattr(sampler, "_constraints_func", None) is None:
            raise TuneError(
                f"The run has constraints {constraints!r}, but OptunaSearch's sampler {type(sampler).__name__} has no "
                "constraints_func, so Optuna would ignore them. Build it with "
                f"{type(sampler).__name__}(..., constraints_func=tune_optuna.reported_constraints), or leave "
                "sampler= out (a TPESampler with constraints is made).")
        self._constraints = constraints

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """``ConcurrencyLimiter`` hands its limit over: the searcher keeps at most that many trials live."""
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise TuneError(f"max_concurrent must be an int >= 1, but got max_concurrent={max_concurrent!r}")
        self.max_concurrent = max_concurrent
        return True

    def _multi(self) -> bool:
        return isinstance(self.metric, list)

    # -- space ----------------------------------------------------------------------
    @staticmethod
    def _build_params(flat: dict[tuple, Any], explicit: bool) -> tuple[dict[str, tuple], dict[tuple, Any]]:
        params: dict[str, tuple] = {}
        extra: dict[tuple, Any] = {}
        skipped = []
        for path, value in flat.items():
            name = _param_name(path)
            converted = _to_distribution(name, value)
            if converted is None:
                skipped.append(name)
                if explicit:
                    extra[path] = value
                continue
            params[name] = (path, converted[0], converted[1])
        if skipped:
            warnings.warn(f"OptunaSearch does not model {', '.join(skipped)} (unbounded or computed); they are "
                          "sampled by variant generation instead.", stacklevel=3)
        return params, extra

    def _setup_space(self, space: dict[tuple, Any], experiment: Any) -> None:
        self._take_space(space, f"Experiment {experiment.name!r}")

    def _take_space(self, space: dict[tuple, Any], where: str) -> bool:
        """The searchable values of an experiment's config; True if they became the search space."""
        if self._define_by_run is not None:
            if space:
                raise TuneError(
                    f"{where}: OptunaSearch was given a define-by-run function, and the param_space also has values "
                    f"to search ({', '.join(sorted(map(_param_name, space)))}). Define every searched value in the "
                    "function (trial.suggest_*), and keep only constants in param_space."
                )
            return False
        if self._fixed_space:
            assert self._params is not None
            covered = {path for path, _, _ in self._params.values()} | set(self._extra)
            left = sorted(_param_name(p) for p, v in space.items() if p not in covered and _models(p, v))
            if left and not self._space_warned:
                self._space_warned = True
                warnings.warn(f"{where}: the param_space searches {', '.join(left)}, which OptunaSearch(space=...) "
                              "does not: they are sampled at random for each trial, not by Optuna. Add them to "
                              "space=... (or leave space out to search the param_space).", UserWarning, stacklevel=3)
            return False
        params, _ = self._build_params(space, explicit=False)
        if self._params is None:
            if not params:
                raise TuneError(
                    f"{where}: OptunaSearch found no search space. Put sample domains in the config (e.g. "
                    "\"lr\": tune.loguniform(1e-4, 1e-1)) or pass OptunaSearch(space=...)."
                )
            self._params = params
            self._check_warm_start()
        elif set(params) != set(self._params):
            raise TuneError(
                f"{where} searches {sorted(params)}, but this OptunaSearch already searches {sorted(self._params)}; "
                "use one OptunaSearch per search space."
            )
        return True

    def _check_warm_start(self) -> None:
        """points_to_evaluate and evaluated points fit the space (once it is known): errors before any trial."""
        if self._params is None and self._define_by_run is None:
            return
        for i, point in enumerate(self._points):
            self._point_params(point, f"points_to_evaluate[{i}]")
        for told in self._told:
            self._evaluated_trial(*told)

    def _point_params(self, point: dict, where: str) -> dict[str, Any]:
        """``point`` (nested, or with ``"a/b"`` or ``"a.b"`` keys) as Optuna params: name -> internal value."""
        flat = {_split(path): value for path, value in flatten_config(point).items()}
        if self._define_by_run is not None:
            return {"/".join(map(str, path)): value for path, value in flat.items()}
        assert self._params is not None
        out = {}
        for path, value in flat.items():
            name = _param_name(path)
            if name not in self._params:
                raise TuneError(f"{where} sets {name!r}, which OptunaSearch does not search; it searches "
                                f"{', '.join(sorted(self._params))}")
            out[name] = _encode(self._params[name], value, f"{where}[{name!r}]")
        return out

    def _evaluated_trial(self, parameters: dict, value: Any, error: bool, pruned: bool, intermediate: list,
                         where: str) -> Any:
        """The optuna FrozenTrial of a point evaluated elsewhere."""
        from optuna.trial import TrialState, create_trial

        if self._define_by_run is not None:
            raise TuneError("add_evaluated_point needs a dict space (domains or optuna distributions), as in Ray "
                            "Tune; a define-by-run space has no distributions to tell Optuna the point with.")
        if self._params is None:
            raise TuneError("OptunaSearch has no search space yet to add an evaluated point to")
        params = self._point_params(parameters, where)
        dists = self._distributions()
        missing = sorted(set(dists) - set(params))
        if missing:
            raise TuneError(f"{where} misses {', '.join(missing)}: an evaluated point needs a value of every "
                            "searched parameter")
        state = TrialState.FAIL if error else TrialState.PRUNED if pruned else TrialState.COMPLETE
        values: Optional[list] = None
        if not error and not (pruned and value is None):
            several = isinstance(value, (list, tuple))
            values = [_objective(v) for v in (value if several else [value])]
            arity_ok = self.metric is None or (several == self._multi() and len(values) == (
                len(self.metric) if isinstance(self.metric, list) else 1))
            if None in values or not arity_ok:
                want = f"a list of {len(self.metric)} numbers, one per metric" if isinstance(self.metric, list) \
                    else "a number"
                raise TuneError(f"{where}: the reward must be {want} (not NaN), but got {value!r:.200}")
        steps = {} if self._multi() else {i: v for i, v in enumerate(map(_objective, intermediate)) if v is not None}
        return create_trial(params=params, distributions=dists, state=state, values=values,
                            intermediate_values=steps)

    def add_evaluated_point(self, parameters: dict, value: Any, error: bool = False, pruned: bool = False,
                            intermediate_values: Optional[list] = None) -> None:
        """Tell the study a config evaluated elsewhere (Ray's ``add_evaluated_point``), to learn from it.

        Args:
            parameters: the config (nested, or with ``"a/b"`` keys), a value of every searched parameter.
            value: its metric value (a list, one per metric, for multi-objective search).
            error: it failed (told as FAIL). pruned: it was stopped early (told as PRUNED).
            intermediate_values: its metric after each iteration (steps 0, 1, ...).

        Before the search space or the objective is known (they may come from the Tuner),
        the point is kept and told when the study is created.
        """
        if not isinstance(parameters, dict):
            raise TuneError(f"add_evaluated_point needs the parameters as a dict, but got {parameters!r:.200}")
        if intermediate_values is not None and not isinstance(intermediate_values, (list, tuple)):
            raise TuneError("intermediate_values must be a list of metric values, but got "
                            f"{intermediate_values!r:.200}")
        told = (copy.deepcopy(parameters), value, bool(error), bool(pruned), list(intermediate_values or []),
                "add_evaluated_point")
        if self._define_by_run is not None or self._params is not None:
            frozen = self._evaluated_trial(*told)  # errors now, not at the first suggestion
            if self._study is not None:
                self._study.add_trial(frozen)
                return
        self._told.append(told)

    # -- the study ------------------------------------------------------------------
    def _ensure_study(self) -> optuna.Study:
        if self._study is not None:
            return self._study
        import optuna

        metric, mode = self.metric, self.mode
        if metric is None or mode is None:
            raise TuneError(
                "OptunaSearch needs a metric and a mode: OptunaSearch(metric='mean_loss', mode='min') or "
                f"TuneConfig(metric=..., mode=...); got metric={metric!r}, mode={mode!r}."
            )
        check_objective(metric, mode, "OptunaSearch")
        modes = mode if isinstance(mode, list) else [mode]
        directions: list[Literal["minimize", "maximize"]] = ["minimize" if m == "min" else "maximize" for m in modes]
        told = [self._evaluated_trial(*t) for t in self._told] if self._pending is None else []
        points = [self._point_params(p, f"points_to_evaluate[{i}]") for i, p in enumerate(self._points)] \
            if self._pending is None else []
        if self._pending is not None:
            # A resumed search must not replay the random draws it already made.
            sampler, seed = self._sampler_args
            if seed is not None:
                self._sampler = _make_sampler(sampler, (seed + 1 + len(self._pending.get("finished", []))) % 2**32,
                                              constrained=bool(self._constraints) and not native_constraints())
            else:
                self._sampler.reseed_rng()
        study = optuna.create_study(storage=self._storage, sampler=self._sampler, pruner=optuna.pruners.NopPruner(),
                                    study_name=self._study_name or "optuna", load_if_exists=True,
                                    directions=directions)
        if [d.name for d in study.directions] != [d.upper() for d in directions]:
            raise TuneError(f"The Optuna study {study.study_name!r} in the storage has the directions "
                            f"{[d.name.lower() for d in study.directions]}, but mode={mode!r} needs {directions}; "
                            "use another study_name.")
        self._study = study
        if self._pending is not None:
            self._replay(self._pending)
            self._pending = None
        for frozen in told:
            study.add_trial(frozen)
        for params in points:
            study.enqueue_trial(params, skip_if_exists=False)
        self._told, self._points = [], []
        return study

    @property
    def study(self) -> Optional[optuna.Study]:
        """The Optuna study (created at the first suggestion), for analysis."""
        return self._study

    def _distributions(self) -> dict[str, Any]:
        assert self._params is not None
        return {name: dist for name, (_, dist, _) in self._params.items()}

    def _suggest(self, trial_id: str) -> Optional[dict]:
        if self._define_by_run is not None:
            return self._suggest_define_by_run(trial_id)
        if self._params is None:
            raise TuneError("OptunaSearch has no search space yet; add an experiment first")
        study = self._ensure_study()
        ot = study.ask(fixed_distributions=self._distributions())
        self._trials[trial_id] = ot
        self._steps[trial_id] = {}
        return self._decode(ot.params)

    def _suggest_define_by_run(self, trial_id: str) -> dict:
        from optuna.trial import TrialState

        assert self._define_by_run is not None
        study = self._ensure_study()
        ot = study.ask()
        started = time.monotonic()
        try:
            constants = self._define_by_run(ot)
            if constants is not None and (not isinstance(constants, dict)
                                          or not all(isinstance(k, str) for k in constants)):
                raise TuneError(f"the define-by-run function of OptunaSearch must return None or a dict of "
                                f"constants with string keys, but returned {constants!r:.200}")
        except Exception as exc:
            study.tell(ot, state=TrialState.FAIL)
            if isinstance(exc, TuneError):
                raise
            raise TuneError(f"the define-by-run function {getattr(self._define_by_run, '__name__', '')!s} of "
                            f"OptunaSearch raised {type(exc).__name__}: {exc}") from exc
        taken = time.monotonic() - started
        if taken > DEFINE_BY_RUN_WARN_THRESHOLD_S:
            warnings.warn(f"The define-by-run function passed as OptunaSearch(space=...) took {taken:.1f} s: it "
                          "should only call trial.suggest_*; do the work in the trainable.", UserWarning,
                          stacklevel=2)
        self._trials[trial_id] = ot
        self._steps[trial_id] = {}
        config = unflatten_config({_split((name,)): v for name, v in ot.params.items()})
        flat_constants = {_split(path): v for path, v in flatten_config(constants or {}).items()}
        return _merge_constants(config, unflatten_config(flat_constants))

    def _decode(self, params: dict[str, Any]) -> dict:
        assert self._params is not None
        flat = {self._params[n][0]: self._params[n][2](v) for n, v in params.items() if n in self._params}
        flat.update({path: copy.deepcopy(value) for path, value in self._extra.items()})
        return unflatten_config(flat)

    # -- Ray's Searcher interface -----------------------------------------------------
    def suggest(self, trial_id: str) -> Optional[dict]:
        """The config for ``trial_id`` (Ray's ``Searcher.suggest``), or None while ``max_concurrent`` are live.

        The space is ``space=...`` or the config given to :meth:`set_search_properties`.
        """
        if trial_id in self._configs:
            return copy.deepcopy(self._configs[trial_id])
        if self.max_concurrent is not None and len(self._live) >= self.max_concurrent:
            return None
        if self._params is None and self._define_by_run is None:
            raise TuneError("OptunaSearch has no search space: pass OptunaSearch(space=...), or the config with "
                            "set_search_properties(metric, mode, config) (the Tuner passes its param_space).")
        config = self._suggest(trial_id)
        assert config is not None
        self._live.add(trial_id)
        self._configs[trial_id] = config
        return copy.deepcopy(config)

    def get_state(self) -> dict:
        """What :meth:`save` writes: the JSON-able :meth:`save_state`."""
        return {"optuna_search": self.save_state()}

    def set_state(self, state: dict) -> None:
        """Inverse of :meth:`get_state`."""
        self.restore_state(state.get("optuna_search"))

    # -- results --------------------------------------------------------------------
    def _resume_for(self, trial_id: str) -> None:
        """A trial that was live when the state was saved reports before the next suggestion: replay now."""
        if (self._study is None and self._pending is not None and trial_id in (self._pending.get("live") or {})
                and self.metric is not None and self.mode is not None):
            self._ensure_study()

    def _on_result(self, trial_id: str, result: dict) -> None:
        self._resume_for(trial_id)
        ot = self._trials.get(trial_id)
        if ot is None:
            return
        self._last[trial_id] = result
        if self._multi() or not self.metric:  # Optuna takes no intermediate values of several objectives
            return
        value = _objective(lookup_metric(result, self.metric))
        step = _step(result.get("training_iteration"))
        if value is not None and step is not None and step not in self._steps[trial_id]:
            ot.report(value, step)
            self._steps[trial_id][step] = value

    def _on_complete(self, trial_id: str, result: Optional[dict], error: bool, early_terminated: bool) -> None:
        from optuna.trial import TrialState

        self._resume_for(trial_id)
        ot = self._trials.pop(trial_id, None)
        last = result if result is not None else self._last.get(trial_id)
        self._last.pop(trial_id, None)
        self._steps.pop(trial_id, None)
        self._configs.pop(trial_id, None)
        if ot is None or self._study is None:
            return
        if error:
            self._study.tell(ot, state=TrialState.FAIL)
            return
        if self._constraints:
            bounds = _constraint_values(last, self._constraints)
            if native_constraints():
                for key, bound in zip(self._constraints, bounds):
                    ot.set_constraint(key, bound)
            else:
                ot.set_user_attr(CONSTRAINTS_ATTR, bounds)
        if early_terminated:
            self._study.tell(ot, state=TrialState.PRUNED)
            return
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        reported = [lookup_metric(last, m) if last is not None and m else None for m in metrics]
        values = [_objective(r) for r in reported]
        numbers = [v for v in values if v is not None]
        if len(numbers) < len(values):
            bad = [(m, r) for m, r, v in zip(metrics, reported, values) if v is None]
            warnings.warn(f"OptunaSearch: trial {trial_id} ended without a number (not NaN) for "
                          + ", ".join(f"{m!r} (got {r!r:.80})" for m, r in bad) + "; told to Optuna as FAIL.",
                          stacklevel=2)
            self._study.tell(ot, state=TrialState.FAIL)
        else:
            self._study.tell(ot, numbers if self._multi() else numbers[0])

    # -- resume ---------------------------------------------------------------------
    def _save_searcher_state(self) -> Any:
        if self._study is None:
            return self._pending
        from optuna.distributions import distribution_to_json
        from optuna.trial import TrialState

        multi = len(self._study.directions) > 1
        finished, waiting = [], []
        for t in self._study.get_trials(deepcopy=False):
            if t.state.is_finished():
                rec = {
                    "number": t.number,
                    "params": t.params,
                    "distributions": {n: distribution_to_json(d) for n, d in t.distributions.items()},
                    "state": t.state.name,
                    "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())},
                }
                if multi:
                    rec["values"] = t.values
                else:
                    rec["value"] = t.value
                finished.append(rec)
            elif t.state == TrialState.WAITING:  # enqueued (points_to_evaluate), not asked yet
                waiting.append({"number": t.number, "params": dict(t.system_attrs.get("fixed_params") or {})})
        live = {}
        for trial_id, ot in self._trials.items():
            live[trial_id] = {
                "number": ot.number,
                "params": ot.params,
                "distributions": {n: distribution_to_json(d) for n, d in ot.distributions.items()},
                "intermediate": {str(k): v for k, v in sorted(self._steps.get(trial_id, {}).items())},
            }
        # ±inf values as "Infinity"/"-Infinity"
        return to_jsonable({"finished": finished, "live": live, "waiting": waiting})

    def _restore_searcher_state(self, state: Any) -> None:
        if not state:
            return
        if self._study is not None:
            raise TuneError("OptunaSearch.restore_state must be called before the first suggestion")
        self._pending = state
        self._points, self._told = [], []  # they were told or enqueued before the state was saved

    def _replay(self, state: dict) -> None:
        """The saved trials, into the new study; those a persistent storage still has are taken as they are."""
        import optuna
        from optuna.distributions import json_to_distribution
        from optuna.trial import TrialState, create_trial

        study = self._study
        assert study is not None
        known = {t.number: t for t in study.get_trials(deepcopy=False)}

        def stored(rec: dict, states: tuple) -> Any:
            t = known.get(rec.get("number", -1))
            if t is None or t.state not in states:
                return None
            params = t.system_attrs.get("fixed_params") if t.state == TrialState.WAITING else t.params
            return t if params == rec["params"] else None

        finished_states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        for rec in state.get("finished", []):
            if stored(rec, finished_states) is not None:
                continue
            failed = rec["state"] == "FAIL"
            if "values" in rec:
                values = None if failed or rec["values"] is None else [from_jsonable(v) for v in rec["values"]]
            else:  # PRUNED keeps its last value
                values = None if failed or rec.get("value") is None else [from_jsonable(rec["value"])]
            study.add_trial(create_trial(
                params=rec["params"],
                distributions={n: json_to_distribution(d) for n, d in rec["distributions"].items()},
                state=TrialState[rec["state"]],
                values=values,
                intermediate_values={int(k): from_jsonable(v) for k, v in rec.get("intermediate", {}).items()},
            ))
        for trial_id, rec in state.get("live", {}).items():
            running = stored(rec, (TrialState.RUNNING,))
            if running is not None:
                ot = optuna.trial.Trial(study, running._trial_id)
            else:
                dists = {n: json_to_distribution(d) for n, d in rec["distributions"].items()}
                study.enqueue_trial(rec["params"], skip_if_exists=False)
                ot = study.ask(fixed_distributions=dists)
            self._trials[trial_id] = ot
            self._steps[trial_id] = {}
            reported = running.intermediate_values if running is not None else {}
            for step, value in sorted((int(k), from_jsonable(v)) for k, v in rec.get("intermediate", {}).items()):
                if step not in reported:
                    ot.report(value, step)
                self._steps[trial_id][step] = value
        for rec in state.get("waiting", []):
            if stored(rec, (TrialState.WAITING,)) is None:
                study.enqueue_trial(rec["params"], skip_if_exists=False)

    def debug_string(self) -> str:
        n = len(self._study.trials) if self._study is not None else 0
        return f"OptunaSearch: {n} Optuna trials, {len(self._trials)} live."


def _constraint_values(result: Optional[dict], constraints: list[str]) -> list[float]:
    """The trial's constraint values for Optuna: missing, NaN or not a number count as infeasible (inf)."""
    values = []
    for key in constraints:
        value = _objective(lookup_metric(result or {}, key))
        values.append(math.inf if value is None or math.isnan(value) else value)
    return values


def _models(path: tuple, value: Any) -> bool:
    """True if Optuna could search ``value`` (a domain of an experiment's config)."""
    try:
        return _to_distribution(_param_name(path), value) is not None
    except TuneError:
        return False


def _check_define_by_run(function: Callable) -> None:
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


def _encode(param: tuple, value: Any, where: str) -> Any:
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
    raise TuneError(f"{where}: {value!r:.200} is not a value of the searched space {dist!r}")


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
