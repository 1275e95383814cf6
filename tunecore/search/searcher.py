"""Searcher: Ray Tune 2.x's one-config-at-a-time search interface; SearchGenerator drives one.

A :class:`Searcher` is what custom and model-based searchers implement, as in
``ray.tune.search``: :meth:`Searcher.suggest` returns a config for a trial id (None for
"not now", :attr:`Searcher.FINISHED` for "no more") and the searcher is told each result
and each trial's end. The runner drives a :class:`~tunecore.searchers.SearchAlgorithm`;
:class:`SearchGenerator` is the adapter between the two, and :func:`as_search_algorithm`
(applied by ``run_experiments`` to whatever ``search_alg`` is) wraps a Searcher in one.

Searchers compose: :class:`~tunecore.search.ConcurrencyLimiter` and
:class:`~tunecore.search.Repeater` are Searchers wrapping a Searcher (``.searcher``).

tunecore extension: a Searcher whose ``on_trial_complete`` names an ``early_terminated``
parameter is told, with ``early_terminated=True``, that a scheduler stopped the trial or
it was removed before it ended (others get the call Ray makes, with the last result).
"""

from __future__ import annotations

import base64
import copy
import glob
import inspect
import os
import tempfile
import warnings
from typing import Any, Optional, Union

from tunecore.errors import TuneError
from tunecore.objective import check_objective
from tunecore.searchers._base import SearchAlgorithm
from tunecore.searchers.suggestion import SuggestionAlgorithm
from tunecore.util import atomic_open

__all__ = ["Searcher", "SearchGenerator", "as_search_algorithm"]

#: The experiment keys passed to ``Searcher.set_search_properties`` as ``**spec`` (as Ray does).
PUBLIC_SPEC_KEYS = ("stop", "num_samples", "time_budget_s")


def takes_keyword(func: Any, name: str, var_keyword: bool = False) -> bool:
    """True if ``func`` has a parameter called ``name`` that can be passed by keyword (with
    ``var_keyword``, also if it takes ``**kwargs``)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    param = params.get(name)
    if var_keyword and any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return True
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)


def notify_complete(searcher: Searcher, trial_id: str, result: Optional[dict], error: bool,
                    early_terminated: bool = False) -> None:
    """``searcher.on_trial_complete``, with ``early_terminated`` for the searchers that take it."""
    if early_terminated and takes_keyword(searcher.on_trial_complete, "early_terminated"):
        complete: Any = searcher.on_trial_complete  # a subclass's signature may take early_terminated
        complete(trial_id, result=result, error=error, early_terminated=True)
    else:
        searcher.on_trial_complete(trial_id, result=result, error=error)


def forward_search_properties(searcher: Searcher, metric: Optional[str], mode: Optional[str], config: dict,
                              **spec: Any) -> bool:
    """``searcher.set_search_properties``, with only the ``**spec`` keys its signature takes."""
    func = searcher.set_search_properties
    params: list[inspect.Parameter]
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        names = {p.name for p in params}
        spec = {k: v for k, v in spec.items() if k in names}
    return bool(func(metric, mode, config, **spec))


def check_searcher(owner: str, searcher: Any) -> None:
    """A clear error when a wrapper is given something that is not a Searcher."""
    if isinstance(searcher, Searcher):
        return
    if isinstance(searcher, SearchAlgorithm):
        raise TuneError(
            f"{owner}(searcher=...) wraps a tunecore.search.Searcher, but got {type(searcher).__name__}, a "
            "SearchAlgorithm that produces trials itself. Pass a Searcher (e.g. OptunaSearch(...)); "
            "BasicVariantGenerator limits itself with BasicVariantGenerator(max_concurrent=N).")
    raise TuneError(f"{owner}(searcher=...) needs a tunecore.search.Searcher, but got {searcher!r}. Subclass "
                    "tunecore.search.Searcher and implement suggest(trial_id).")


class Searcher:
    """Suggests one config per trial and learns from the results (Ray Tune 2.x's ``Searcher``).

    Subclasses implement :meth:`suggest` and usually :meth:`on_trial_complete`, and call
    ``super().__init__(metric=..., mode=...)``. Trial ids passed to :meth:`suggest` are
    the ids of the notifications that follow.

    Args:
        metric: the result key to optimise (a list for multi-objective searchers); None:
            taken from ``run_experiments(metric=...)`` through :meth:`set_search_properties`.
        mode: ``"min"`` or ``"max"`` (a list to match a list of metrics), or None.
    """

    #: What :meth:`suggest` returns when the searcher will suggest nothing more.
    FINISHED = "FINISHED"
    #: The file name :meth:`save_to_dir` writes (``{}`` is the session name).
    CKPT_FILE_TMPL = "searcher-state-{}.pkl"

    def __init__(self, metric: Optional[str] = None, mode: Optional[str] = None) -> None:
        self._metric, self._mode = check_objective(metric, mode, type(self).__name__, partial=True)

    # A subclass that forgot super().__init__() still has metric/mode (None until told).
    @property
    def metric(self) -> Any:
        """The result key the searcher optimises."""
        return self.__dict__.get("_metric")

    @property
    def mode(self) -> Any:
        """``"min"`` or ``"max"``: whether :attr:`metric` is minimised or maximised."""
        return self.__dict__.get("_mode")

    def _take_objective(self, metric: Any, mode: Any) -> None:
        """Use ``metric``/``mode`` where the searcher was built without them."""
        metric, mode = check_objective(metric, mode, type(self).__name__, partial=True)
        if self.__dict__.get("_metric") is None and metric is not None:
            self._metric = metric
        if self.__dict__.get("_mode") is None and mode is not None:
            self._mode = mode

    # -- the interface -----------------------------------------------------------------
    def set_search_properties(self, metric: Optional[str], mode: Optional[str], config: dict, **spec: Any) -> bool:
        """The experiment's objective and config (with its domains), before the first suggestion.

        Return True if the searcher took ``config`` as its search space, False if it did
        not (e.g. it has a space of its own). Whatever the searcher does not search is
        resolved by variant generation after its suggestion is applied. The base class
        takes ``metric``/``mode`` where it has none, and returns False.

        Args:
            metric, mode: the experiment-wide objective (``run_experiments(metric=..., mode=...)``).
            config: the experiment's config, sample domains as :class:`~tunecore.search.sample.Domain`
                objects (JSON forms parsed).
            **spec: the experiment's ``stop``, ``num_samples`` (and ``time_budget_s``) when set.
        """
        self._take_objective(metric, mode)
        return False

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Called by :class:`~tunecore.search.ConcurrencyLimiter`; True if the searcher limits itself."""
        return False

    def suggest(self, trial_id: str) -> Union[None, dict, str]:
        """The config (a nested dict) for ``trial_id``; None for "not now"; :attr:`FINISHED` for "no more"."""
        raise NotImplementedError(f"{type(self).__name__} must implement suggest(trial_id)")

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """An intermediate result of a trial this searcher suggested."""

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False) -> None:
        """A trial ended: ``result`` is its last result (None if it had none), ``error`` if it failed."""

    def on_pause(self, trial_id: str) -> None:
        """A trial was paused (the runner does not call this; kept for Ray compatibility)."""

    def on_unpause(self, trial_id: str) -> None:
        """A paused trial was resumed (the runner does not call this; kept for Ray compatibility)."""

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False, pruned: bool = False,
                            intermediate_values: Optional[list] = None) -> None:
        """Tell the searcher a config evaluated elsewhere (for warm starts)."""
        raise NotImplementedError(f"{type(self).__name__} does not support add_evaluated_point")

    # -- state ------------------------------------------------------------------------
    def get_state(self) -> dict:
        """The searcher's state for :meth:`save`; the base class: a copy of its attributes."""
        return dict(self.__dict__)

    def set_state(self, state: dict) -> None:
        """Inverse of :meth:`get_state`."""
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        """Write :meth:`get_state` (cloudpickled) to ``checkpoint_path``, atomically."""
        import cloudpickle

        try:
            state = self.get_state()
        except NotImplementedError:
            state = dict(self.__dict__)
        with atomic_open(checkpoint_path, "wb") as f:
            cloudpickle.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        """Load what :meth:`save` wrote."""
        import cloudpickle

        with open(checkpoint_path, "rb") as f:
            state = cloudpickle.load(f)
        try:
            self.set_state(state)
        except NotImplementedError:
            self.__dict__.update(state)

    def save_to_dir(self, checkpoint_dir: str, session_str: str = "default") -> None:
        """:meth:`save` into ``checkpoint_dir`` under :attr:`CKPT_FILE_TMPL`."""
        self.save(os.path.join(checkpoint_dir, self.CKPT_FILE_TMPL.format(session_str)))

    def restore_from_dir(self, checkpoint_dir: str) -> None:
        """:meth:`restore` the newest file :meth:`save_to_dir` wrote into ``checkpoint_dir``."""
        paths = glob.glob(os.path.join(glob.escape(checkpoint_dir), self.CKPT_FILE_TMPL.format("*")))
        if not paths:
            raise TuneError(f"No {self.CKPT_FILE_TMPL.format('*')} in {checkpoint_dir!r}; save_to_dir() writes it.")
        self.restore(max(paths, key=os.path.getmtime))


class WrappingSearcher(Searcher):
    """The shared part of the searchers that wrap another (``ConcurrencyLimiter``, ``Repeater``).

    The objective is the wrapped searcher's, or the experiment's
    (``TuneConfig(metric=..., mode=...)``) when it has none, e.g. a custom searcher whose
    ``set_search_properties`` does not keep it. Subclasses set ``self.searcher``.
    """

    searcher: Searcher

    @property
    def metric(self) -> Any:
        metric = self.searcher.metric
        return metric if metric is not None else self.__dict__.get("_metric")

    @property
    def mode(self) -> Any:
        mode = self.searcher.mode
        return mode if mode is not None else self.__dict__.get("_mode")

    def on_pause(self, trial_id: str) -> None:
        self.searcher.on_pause(trial_id)

    def on_unpause(self, trial_id: str) -> None:
        self.searcher.on_unpause(trial_id)

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False, pruned: bool = False,
                            intermediate_values: Optional[list] = None) -> None:
        self.searcher.add_evaluated_point(parameters, value, error=error, pruned=pruned,
                                          intermediate_values=intermediate_values)


def searcher_chain(searcher: Searcher) -> list[Searcher]:
    """``searcher``, the searcher it wraps (``.searcher``), and so on down to the base searcher."""
    chain = [searcher]
    while isinstance(getattr(chain[-1], "searcher", None), Searcher) and len(chain) < 100:
        chain.append(chain[-1].searcher)  # type: ignore[attr-defined]
    return chain


def _pickle_b64(value: Any) -> str:
    import cloudpickle

    return base64.b64encode(cloudpickle.dumps(value)).decode("ascii")


def _unpickle_b64(text: str) -> Any:
    import cloudpickle

    return cloudpickle.loads(base64.b64decode(text))


def _saved_bytes(searcher: Searcher) -> Optional[str]:
    """What ``searcher.save()`` writes, base64, or None if it wrote nothing."""
    with tempfile.TemporaryDirectory(prefix="tunecore-searcher-") as folder:
        path = os.path.join(folder, "searcher.pkl")
        searcher.save(path)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode("ascii")


def _restore_bytes(searcher: Searcher, text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="tunecore-searcher-") as folder:
        path = os.path.join(folder, "searcher.pkl")
        with open(path, "wb") as f:
            f.write(base64.b64decode(text))
        searcher.restore(path)


class SearchGenerator(SuggestionAlgorithm):
    """Drives a :class:`Searcher` as the runner's search algorithm (Ray's ``SearchGenerator``).

    For each of an experiment's ``num_samples`` slots it asks ``searcher.suggest(trial_id)``;
    the config it returns overrides the experiment's config, the rest is resolved by
    variant generation. :attr:`Searcher.FINISHED` ends the search. Every result is
    forwarded; every end too: a natural end or a user stop with the last result, a
    failure with ``error=True``, and a trial a scheduler stopped (or one removed before
    it ran) with the last result it reported (None if none), as Ray does.

    Before an experiment's first suggestion the searcher gets
    ``set_search_properties(metric, mode, config, **spec)`` with the experiment-wide
    objective (see :meth:`set_search_properties`) and the experiment's config.

    Resume: :meth:`save_state` holds, inside ``experiment_state.json`` (so it is always
    consistent with the trials saved next to it), the ``get_state()`` of each wrapper
    (:class:`~tunecore.search.ConcurrencyLimiter`, :class:`~tunecore.search.Repeater`) and
    the bytes the base searcher's :meth:`Searcher.save` writes, base64-encoded. A resumed
    run gives them back through ``set_state()`` and :meth:`Searcher.restore`, then calls
    ``set_search_properties`` again. A searcher that cannot be saved (``save`` raises) is
    restarted from scratch on resume, with a warning when it is saved.
    """

    def __init__(self, searcher: Searcher) -> None:
        check_searcher("SearchGenerator", searcher)
        super().__init__(max_concurrent=None)
        self.searcher = searcher
        self._objective: tuple[Any, Any] = (None, None)
        #: The run's constraints (result keys feasible when <= 0), passed as ``constraints=`` in
        #: ``set_search_properties``'s ``**spec`` to searchers whose signature takes it.
        self.constraints: Optional[list[str]] = None
        self._last: dict[str, dict] = {}
        self._searcher_finished = False
        self._saved: Optional[dict] = None
        self._dirty = True
        self._save_warned = False

    @property
    def metric(self) -> Any:
        return self.searcher.metric

    @property
    def mode(self) -> Any:
        return self.searcher.mode

    def set_search_properties(self, metric: Optional[str], mode: Optional[str],  # type: ignore[override]
                              config: Optional[dict] = None, **spec: Any) -> bool:
        """The experiment-wide objective; with ``config`` (Ray's form), forwarded to the searcher now.

        Without ``config`` (the runner's call), the objective is kept and passed to the
        searcher with each experiment's config before its first suggestion.
        """
        self._objective = (metric, mode)
        self._dirty = True
        if config is None:
            return True
        return forward_search_properties(self.searcher, metric, mode, config, **spec)

    # -- SuggestionAlgorithm hooks -------------------------------------------------------
    def _setup_space(self, space: dict[tuple, Any], experiment: Any) -> None:
        from tunecore.search.resolve import copy_spec, set_at

        config = copy_spec(experiment.spec.get("config") or {})
        for path, value in space.items():  # JSON domain forms as Domain objects
            set_at(config, path, value)
        spec = {k: experiment.spec[k] for k in PUBLIC_SPEC_KEYS if experiment.spec.get(k) is not None}
        if self.constraints:
            spec["constraints"] = list(self.constraints)
        self._warn_on_repeater(experiment)
        metric, mode = self._objective
        forward_search_properties(self.searcher, metric, mode, config, **spec)
        self._dirty = True

    def _warn_on_repeater(self, experiment: Any) -> None:
        from tunecore.search.repeater import Repeater

        num_samples = experiment.spec.get("num_samples", 1)
        for searcher in searcher_chain(self.searcher):
            if isinstance(searcher, Repeater) and num_samples % searcher.repeat:
                warnings.warn(
                    f"Experiment {experiment.name!r}: num_samples={num_samples} is not a multiple of "
                    f"Repeater(repeat={searcher.repeat}); num_samples counts every trial, repeats included "
                    f"(e.g. num_samples={3 * searcher.repeat} for 3 suggestions), and the last "
                    f"{num_samples % searcher.repeat} trial(s) are never told to the searcher.", stacklevel=2)

    def _suggest(self, trial_id: str) -> Optional[dict]:
        if self._searcher_finished:
            return None
        suggestion = self.searcher.suggest(trial_id)
        if isinstance(suggestion, str) and suggestion == Searcher.FINISHED:
            self._searcher_finished = True
            self._dirty = True
            return None
        if suggestion is None:
            return None
        if not isinstance(suggestion, dict):
            raise TuneError(f"{type(self.searcher).__name__}.suggest must return a dict, None or Searcher.FINISHED, "
                            f"but returned {suggestion!r}")
        self._dirty = True
        return copy.deepcopy(suggestion)

    def _on_result(self, trial_id: str, result: dict) -> None:
        self._last[trial_id] = result
        self._dirty = True
        self.searcher.on_trial_result(trial_id, result)

    def _on_complete(self, trial_id: str, result: Optional[dict], error: bool, early_terminated: bool) -> None:
        last = self._last.pop(trial_id, None)
        if result is None and not error:
            result = last
        self._dirty = True
        notify_complete(self.searcher, trial_id, result, error, early_terminated)

    def next_trials(self) -> list:
        trials = super().next_trials()
        if self._searcher_finished:
            self._finished = True
        return trials

    def is_finished(self) -> bool:
        return self._finished or self._searcher_finished

    # -- resume -----------------------------------------------------------------------
    def _save_searcher_state(self) -> Any:
        if self._saved is not None and not self._dirty:
            return self._saved
        chain = searcher_chain(self.searcher)
        state: dict[str, Any] = {"finished": self._searcher_finished, "chain": [type(s).__name__ for s in chain],
                                 "wrappers": None, "searcher": None}
        try:
            state["wrappers"] = [_pickle_b64(s.get_state()) for s in chain[:-1]]
            state["searcher"] = _saved_bytes(chain[-1])
        except Exception as exc:  # an unpicklable searcher: resume starts it afresh
            state["wrappers"] = state["searcher"] = None
            if not self._save_warned:
                self._save_warned = True
                warnings.warn(f"{type(chain[-1]).__name__} could not be saved ({type(exc).__name__}: {exc}); a "
                              "resumed run will restart it from scratch.", stacklevel=2)
        self._saved, self._dirty = state, False
        return state

    def _restore_searcher_state(self, state: Any) -> None:
        if not state:
            return
        self._searcher_finished = bool(state.get("finished"))
        chain = searcher_chain(self.searcher)
        names = [type(s).__name__ for s in chain]
        if state.get("chain") != names:
            warnings.warn(f"The experiment was run with the searchers {state.get('chain')}, now {names}; their "
                          "saved state is not used.", stacklevel=2)
            return
        if state.get("wrappers") is not None and state.get("searcher") is not None:
            for searcher, text in zip(chain[:-1], state["wrappers"]):
                searcher.set_state(_unpickle_b64(text))
            _restore_bytes(chain[-1], state["searcher"])
        self._saved, self._dirty = state, False

    def debug_string(self) -> str:
        return f"SearchGenerator({type(self.searcher).__name__}): {self._counter.count} trials produced."


def as_search_algorithm(obj: Any) -> Any:
    """What the runner drives: a SearchAlgorithm as is, a :class:`Searcher` in a :class:`SearchGenerator`.

    Anything else is returned unchanged (names and ``{"name": ...}`` dicts are resolved
    by the plugin registry).
    """
    if isinstance(obj, SearchAlgorithm):
        return obj
    if isinstance(obj, Searcher):
        return SearchGenerator(obj)
    return obj
