"""Repeater: run each suggestion of a Searcher ``repeat`` times and tell it the mean."""

from __future__ import annotations

import copy
import math
from typing import Any, Optional, Union

from tunecore.errors import TuneError
from tunecore.search.searcher import (
    Searcher,
    WrappingSearcher,
    check_searcher,
    forward_search_properties,
    notify_complete,
)
from tunecore.util import as_float

__all__ = ["Repeater", "TRIAL_INDEX"]

#: The config key :class:`Repeater` sets to a trial's index in its group (0 .. repeat-1).
TRIAL_INDEX = "__trial_index__"


class _TrialGroup:
    """The trials of one suggestion: the first one's id names the group to the searcher."""

    def __init__(self, primary_trial_id: str, config: dict, max_trials: int) -> None:
        self.primary_trial_id = primary_trial_id
        self.config = config
        self.max_trials = max_trials
        self.trial_ids = [primary_trial_id]
        self.scores: dict[str, float] = {}
        self.errors: dict[str, bool] = {}

    def add(self, trial_id: str) -> int:
        """Add a trial; returns its index in the group."""
        self.trial_ids.append(trial_id)
        return len(self.trial_ids) - 1

    def full(self) -> bool:
        return len(self.trial_ids) >= self.max_trials

    def report(self, trial_id: str, score: float, error: bool) -> None:
        self.scores[trial_id] = score
        self.errors[trial_id] = error

    def finished_reporting(self) -> bool:
        return self.full() and len(self.scores) == self.max_trials


class Repeater(WrappingSearcher):
    """Runs each suggestion of ``searcher`` ``repeat`` times; the searcher sees one trial, the mean.

    Set the experiment's ``num_samples`` to a multiple of ``repeat``: it counts every
    trial (``num_samples=15`` with ``repeat=5`` gives 3 suggestions); the trials of an
    incomplete last group are run but never told to the searcher. When all trials of a
    group ended, the searcher's :meth:`~Searcher.on_trial_complete` gets the group's
    first trial id and ``{metric: mean}``, the mean of the metric over the trials that
    reported a number (NaN if none did; ``error=True`` if every trial failed). Results
    in between are not forwarded; an early-stopping scheduler therefore does not fit.

    Args:
        searcher: the :class:`~tunecore.search.Searcher` to repeat; it must know its metric.
        repeat: trials per suggestion, an int >= 1.
        set_index: put the trial's index in its group (0 .. repeat-1) in its config under
            ``"__trial_index__"`` (:data:`TRIAL_INDEX`), e.g. to seed each repeat differently.
    """

    def __init__(self, searcher: Searcher, repeat: int = 1, set_index: bool = True) -> None:
        check_searcher("Repeater", searcher)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise TuneError(f"Repeater needs repeat, an int >= 1 (trials per suggestion), but got repeat={repeat!r}")
        if not isinstance(set_index, bool):
            raise TuneError(f"Repeater needs set_index=True or False, but got set_index={set_index!r}")
        self.searcher = searcher
        self.repeat = repeat
        self._set_index = set_index
        self._groups: list[_TrialGroup] = []
        self._trial_id_to_group: dict[str, _TrialGroup] = {}
        self._current_group: Optional[_TrialGroup] = None
        super().__init__()

    def set_search_properties(self, metric: Optional[str], mode: Optional[str], config: dict, **spec: Any) -> bool:
        self._take_objective(metric, mode)
        return forward_search_properties(self.searcher, metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> Union[None, dict, str]:
        group = self._current_group
        if group is None or group.full():
            if not isinstance(self.metric, str):
                raise TuneError(
                    f"Repeater averages the metric of the searcher it wraps, but {type(self.searcher).__name__} "
                    f"has metric={self.metric!r}. Give it metric='<result key>' (or set TuneConfig(metric=...) "
                    "/ run_experiments(metric=...)).")
            config = self.searcher.suggest(trial_id)
            if config is None or (isinstance(config, str) and config == Searcher.FINISHED):
                return config
            if not isinstance(config, dict):
                return config  # the SearchGenerator names the searcher in its error
            group = _TrialGroup(trial_id, copy.deepcopy(config), self.repeat)
            self._groups.append(group)
            self._current_group = group
            index = 0
        else:
            index = group.add(trial_id)
        self._trial_id_to_group[trial_id] = group
        config = copy.deepcopy(group.config)
        if self._set_index:
            config[TRIAL_INDEX] = index
        return config

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False) -> None:
        """Score the trial (NaN without a number for the metric); when the group is done, tell the mean."""
        group = self._trial_id_to_group.get(trial_id)
        if group is None or trial_id in group.scores:
            return
        metric = self.metric
        value = None if error or not result or metric not in result else as_float(result[metric])
        group.report(trial_id, math.nan if value is None else value, error)
        if group.finished_reporting():
            numbers = [s for s in group.scores.values() if not math.isnan(s)]
            mean = math.fsum(numbers) / len(numbers) if numbers else math.nan
            failed = all(group.errors.values())
            notify_complete(self.searcher, group.primary_trial_id, None if failed else {metric: mean}, failed)

    def get_state(self) -> dict:
        """The groups and their scores (a copy); not the wrapped searcher's state."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "searcher"})

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        """Saves the wrapped searcher (as Ray does; :class:`SearchGenerator` saves :meth:`get_state` too)."""
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)
