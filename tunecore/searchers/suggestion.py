"""SuggestionAlgorithm: the base for model-based searchers that propose one config at a time.

A subclass implements :meth:`SuggestionAlgorithm._suggest` (a config, or None for "not
now") and learns from :meth:`_on_result` / :meth:`_on_complete`. The base class does the
rest (and, unlike the 2018 Tune, never loses a slot or a result):

* for each of an experiment's ``num_samples`` slots it asks for a suggestion, while at
  most ``max_concurrent`` suggested trials are live;
* the suggestion **overrides** the matching values of the experiment's config (nested
  keys merge); what it does not cover is resolved by variant generation, so lambdas can
  depend on suggested values and unsearched domains are sampled;
* tags are ``<counter>_<full key names=values>``, ids ``<run token>_<counter>``;
* trials the algorithm did not create (added through the HTTP API) are ignored.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.searchers._base import SearchAlgorithm
from tunecore.searchers.basic_variant import TrialCounter, _check_seed

__all__ = ["SuggestionAlgorithm", "flatten_config", "unflatten_config"]

_NOT_NOW = object()


def flatten_config(config: dict, prefix: tuple = ()) -> dict[tuple, Any]:
    """``{"a": {"b": 1}}`` -> ``{("a", "b"): 1}``; single-key search forms stay leaves."""
    from tunecore.search.variants import is_unresolved

    out: dict[tuple, Any] = {}
    for key, value in config.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value and not is_unresolved(value):
            out.update(flatten_config(value, path))
        else:
            out[path] = value
    return out


def unflatten_config(flat: dict[tuple, Any]) -> dict:
    """Inverse of :func:`flatten_config`."""
    out: dict = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


def searchable_space(config: dict) -> dict[tuple, Any]:
    """The values of ``config`` a searcher may search, by path: its domains (not ``sample_from``)
    and its ``grid_search`` lists."""
    from tunecore.search.variants import resolve_domain, unresolved_values

    space: dict[tuple, Any] = {}
    for path, value in unresolved_values(config).items():
        domain = resolve_domain(value, where="config." + ".".join(map(str, path)))
        if domain is not None and domain.json_key != "sample_from":
            space[path] = domain
        elif isinstance(value, dict) and "grid_search" in value:
            space[path] = value
    return space


def _merge(base: Any, override: dict) -> dict:
    """``base`` with ``override``'s values on top; plain nested dicts merge key by key."""
    from tunecore.search.variants import is_unresolved

    out = dict(base) if isinstance(base, dict) and not is_unresolved(base) else {}
    for key, value in override.items():
        current = out.get(key)
        if (isinstance(value, dict) and not is_unresolved(value) and isinstance(current, dict)
                and not is_unresolved(current)):
            out[key] = _merge(current, value)
        else:
            out[key] = value
    return out


class SuggestionAlgorithm(SearchAlgorithm):
    """Base for searchers that suggest configs one trial at a time.

    Subclasses implement :meth:`_suggest` and usually :meth:`_on_complete`; they may
    implement :meth:`_setup_space`, :meth:`_on_result` and the ``_save/_restore_searcher_state``
    pair. They must not override :meth:`on_trial_complete` (it does the bookkeeping).

    Args:
        max_concurrent: at most this many suggested trials live at once (None: no limit).
    """

    def __init__(self, max_concurrent: Optional[int] = None) -> None:
        if max_concurrent is not None and (isinstance(max_concurrent, bool) or not isinstance(
                max_concurrent, int) or max_concurrent < 1):
            raise TuneError(f"max_concurrent must be None or an int >= 1, but got max_concurrent={max_concurrent!r}")
        self.max_concurrent = max_concurrent
        self._experiments: list = []
        self._index = 0
        self._slots_left: Optional[int] = None
        self._rng: Optional[np.random.Generator] = None
        self._counter = TrialCounter()
        self._live: set[str] = set()
        self._skip: dict[str, int] = {}
        self._finished = False

    # -- what subclasses implement ----------------------------------------------------
    def _suggest(self, trial_id: str) -> Optional[dict]:
        """A config (nested dict of the values to set) for ``trial_id``, or None for "not now"."""
        raise NotImplementedError

    def _setup_space(self, space: dict[tuple, Any], experiment: Any) -> None:
        """Called once per experiment, before its first suggestion.

        Args:
            space: the searchable values of the experiment's config by path inside
                ``config``: sample domains (:class:`tunecore.searchers.Domain` objects,
                JSON forms already parsed) and ``{"grid_search": [...]}`` dicts. Lambdas,
                ``eval`` and ``sample_from`` are not included: variant generation resolves
                them after the suggestion is applied, so they may read suggested values.
            experiment: the :class:`tunecore.Experiment`.
        """

    def _on_result(self, trial_id: str, result: dict) -> None:
        """An intermediate result of one of this algorithm's trials."""

    def _on_complete(self, trial_id: str, result: Optional[dict], error: bool, early_terminated: bool) -> None:
        """One of this algorithm's trials ended (see :meth:`SearchAlgorithm.on_trial_complete`)."""

    def _save_searcher_state(self) -> Any:
        """JSON-able model state for resume (e.g. finished observations)."""
        return None

    def _restore_searcher_state(self, state: Any) -> None:
        """Inverse of :meth:`_save_searcher_state`."""

    # -- the SearchAlgorithm interface --------------------------------------------------
    def add_configurations(self, experiments: Any) -> None:
        """Queue ``num_samples`` suggestions for each experiment."""
        from tunecore.experiment import convert_to_experiment_list

        self._experiments.extend(convert_to_experiment_list(experiments))
        self._finished = False

    def _start_experiment(self, experiment: Any) -> None:
        self._setup_space(searchable_space(experiment.spec.get("config") or {}), experiment)
        seed = _check_seed(experiment.spec.get("seed"))
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self._slots_left = experiment.spec.get("num_samples", 1) - self._skip.pop(experiment.name, 0)

    def _next_one(self) -> Any:
        """The next trial, ``_NOT_NOW``, or None when every slot is used.

        Kept as explicit state (not a generator) so an error, e.g. a missing metric,
        leaves the algorithm able to go on once it is fixed.
        """
        while self._index < len(self._experiments):
            experiment = self._experiments[self._index]
            if self._slots_left is None:
                self._start_experiment(experiment)
            assert self._slots_left is not None
            if self._slots_left <= 0:
                self._index += 1
                self._slots_left = None
                continue
            if self.max_concurrent is not None and len(self._live) >= self.max_concurrent:
                return _NOT_NOW
            trial_id = self._counter.trial_id()
            suggestion = self._suggest(trial_id)
            if suggestion is None:
                return _NOT_NOW
            trial = self._make_trial(experiment, trial_id, suggestion)
            self._slots_left -= 1
            return trial
        return None

    def _make_trial(self, experiment: Any, trial_id: str, suggestion: Any) -> Trial:
        from tunecore.experiment import create_trial_from_spec
        from tunecore.search.variants import format_vars, generate_variants

        if not isinstance(suggestion, dict):
            raise TuneError(f"{type(self).__name__}._suggest must return a dict or None, "
                            f"but returned {suggestion!r}")
        spec = experiment.spec
        merged = dict(spec, config=_merge(spec.get("config") or {}, suggestion))
        variants = generate_variants(merged, rng=self._rng)
        resolved_vars, resolved_spec = next(variants)
        if next(variants, None) is not None:
            raise TuneError(
                f"Experiment {experiment.name!r}: a grid_search the searcher {type(self).__name__} "
                "did not search is left in the spec, which would make several trials of one "
                "suggestion. Remove it or run the grid with the default variant generator."
            )
        tag_vars = {("config",) + path: value for path, value in flatten_config(suggestion).items()}
        tag_vars.update(resolved_vars)
        tag = self._counter.tag(format_vars(tag_vars))
        trial = create_trial_from_spec(resolved_spec, experiment, tag, trial_id=trial_id)
        self._counter.advance(experiment.name)
        self._live.add(trial_id)
        return trial

    def next_trials(self) -> list[Trial]:
        """Trials until a "not now" (the batch so far) or until all slots are used (finished)."""
        trials: list[Trial] = []
        while True:
            item = self._next_one()
            if item is _NOT_NOW:
                return trials
            if item is None:
                self._finished = True
                return trials
            trials.append(item)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._live:
            self._on_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False,
                          early_terminated: bool = False) -> None:
        if trial_id not in self._live:
            return
        self._live.discard(trial_id)
        self._on_complete(trial_id, result, error, early_terminated)

    def is_finished(self) -> bool:
        return self._finished

    def save_state(self) -> dict:
        return {
            "counter": self._counter.to_json(),
            "live": sorted(self._live),
            "searcher": self._save_searcher_state(),
        }

    def restore_state(self, state: Any) -> None:
        """Continue a saved run: produced slots are not asked again; live trials stay live."""
        if not state:
            return
        self._counter.load(state.get("counter") or {})
        self._skip = dict(self._counter.produced)
        self._live = set(state.get("live") or [])
        self._restore_searcher_state(state.get("searcher"))
