"""Stall detection: when an experiment can no longer make progress, say why instead of hanging."""

from __future__ import annotations

import time
from typing import Callable, Optional

from tunecore.errors import TuneError
from tunecore.execution.trial import Trial, TrialStatus

#: How long a searcher may produce nothing while nothing runs (seconds).
SEARCH_TIMEOUT = 600.0


class StallWatch:
    """Watches the runner's loop for two dead ends.

    * Nothing runs and the scheduler starts none of the waiting trials for ``timeout``
      seconds (a scheduler bug, or a cluster that lost its resources); paused trials with
      no pending ones and no choice made are a dead end at once.
    * The search algorithm is not finished but produces no trial for ``search_timeout``
      seconds while every trial has ended.
    """

    def __init__(self, timeout: float, search_timeout: float = SEARCH_TIMEOUT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.search_timeout = search_timeout
        self._clock = clock
        self._stalled_since: Optional[float] = None
        self._search_blocked_since: Optional[float] = None

    def progress(self) -> None:
        """Something runs or was launched."""
        self._stalled_since = None

    def check_idle(self, trials: list[Trial], scheduler: str, resources: str, queue_trials: bool) -> None:
        """Nothing runs and nothing was launched this turn.

        Raises:
            TuneError: the experiment cannot go on (the message says why).
        """
        pending = [t for t in trials if t.status == TrialStatus.PENDING]
        paused = [t for t in trials if t.status == TrialStatus.PAUSED]
        if not pending and not paused:
            self._stalled_since = None
            return
        if paused and not pending:
            raise TuneError("There are paused trials, but no more pending trials with sufficient resources "
                            f"(scheduler {scheduler} chose none of them to resume).")
        now = self._clock()
        if self._stalled_since is None:
            self._stalled_since = now
        elif not queue_trials and now - self._stalled_since > self.timeout:
            raise TuneError(
                f"No trial has run for {self.timeout:.0f} s: {len(pending)} trials are PENDING but the "
                f"scheduler {scheduler} chose none of them, although nothing is running ({resources}). "
                "This is a scheduler bug, or the cluster lost resources."
            )

    def check_search(self, produced: bool, all_ended: bool, search_finished: bool) -> bool:
        """After asking the search algorithm for trials; True when the loop should back off a little.

        Raises:
            TuneError: the search algorithm produced nothing for ``search_timeout`` seconds.
        """
        if search_finished or produced or not all_ended:
            self._search_blocked_since = None
            return False
        now = self._clock()
        if self._search_blocked_since is None:
            self._search_blocked_since = now
        elif now - self._search_blocked_since > self.search_timeout:
            raise TuneError(f"The search algorithm produced no trial for {self.search_timeout:.0f} s "
                            "while nothing was running.")
        return True
