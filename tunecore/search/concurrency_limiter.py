"""ConcurrencyLimiter: at most ``max_concurrent`` live suggestions of the Searcher it wraps."""

from __future__ import annotations

import copy
from typing import Any, Optional, Union

from tunecore.errors import TuneError
from tunecore.search.searcher import (
    Searcher,
    WrappingSearcher,
    check_searcher,
    forward_search_properties,
    notify_complete,
)

__all__ = ["ConcurrencyLimiter"]


class ConcurrencyLimiter(WrappingSearcher):
    """Wraps a Searcher so that at most ``max_concurrent`` of its suggestions are live at once.

    A suggestion is live from :meth:`suggest` until its trial ends. When the limit is
    reached, :meth:`suggest` returns None ("not now") without asking the searcher. A
    searcher that limits itself (its ``set_max_concurrency`` returns True) is given
    ``max_concurrent`` and left to do it.

    Args:
        searcher: the :class:`~tunecore.search.Searcher` to limit.
        max_concurrent: an int >= 1.
        batch: wait until the whole batch of ``max_concurrent`` live trials has ended,
            then tell the searcher all of their ends at once and start the next batch.
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        check_searcher("ConcurrencyLimiter", searcher)
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise TuneError(f"ConcurrencyLimiter needs max_concurrent, an int >= 1, but got "
                            f"max_concurrent={max_concurrent!r}")
        if not isinstance(batch, bool):
            raise TuneError(f"ConcurrencyLimiter needs batch=True or False, but got batch={batch!r}")
        self.searcher = searcher
        self.max_concurrent = max_concurrent
        self.batch = batch
        self.live_trials: set[str] = set()
        self.num_unfinished_live_trials = 0
        self.cached_results: dict[str, tuple] = {}
        self._limit_concurrency = True
        super().__init__()

    def set_search_properties(self, metric: Optional[str], mode: Optional[str], config: dict, **spec: Any) -> bool:
        self._take_objective(metric, mode)
        self._limit_concurrency = not self.searcher.set_max_concurrency(self.max_concurrent)
        return forward_search_properties(self.searcher, metric, mode, config, **spec)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.max_concurrent = max_concurrent
        return True

    def suggest(self, trial_id: str) -> Union[None, dict, str]:
        if not self._limit_concurrency:
            return self.searcher.suggest(trial_id)
        if trial_id in self.live_trials:
            raise TuneError(f"ConcurrencyLimiter: trial id {trial_id!r} was already suggested")
        if len(self.live_trials) >= self.max_concurrent:
            return None
        suggestion = self.searcher.suggest(trial_id)
        if suggestion is not None and not (isinstance(suggestion, str) and suggestion == Searcher.FINISHED):
            self.live_trials.add(trial_id)
            self.num_unfinished_live_trials += 1
        return suggestion

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False,
                          early_terminated: bool = False) -> None:
        if not self._limit_concurrency:
            notify_complete(self.searcher, trial_id, result, error, early_terminated)
            return
        if trial_id not in self.live_trials or trial_id in self.cached_results:
            return
        self.num_unfinished_live_trials -= 1
        if not self.batch:
            notify_complete(self.searcher, trial_id, result, error, early_terminated)
            self.live_trials.discard(trial_id)
            return
        self.cached_results[trial_id] = (result, error, early_terminated)
        if self.num_unfinished_live_trials <= 0:  # the batch is over: tell the searcher, free the slots
            cached, self.cached_results = self.cached_results, {}
            for done_id, (done_result, done_error, done_early) in cached.items():
                notify_complete(self.searcher, done_id, done_result, done_error, done_early)
                self.live_trials.discard(done_id)
            self.num_unfinished_live_trials = 0

    def get_state(self) -> dict:
        """The limiter's own bookkeeping (live and cached trials); not the wrapped searcher's."""
        state = {k: v for k, v in self.__dict__.items() if k != "searcher"}
        return copy.deepcopy(state)

    def set_state(self, state: dict) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        """Saves the wrapped searcher (as Ray does; :class:`SearchGenerator` saves :meth:`get_state` too)."""
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)
