"""The search-algorithm interface: what to try next. Called by the TrialRunner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial


class SearchAlgorithm:
    """Produces trials; is told how they went. Never stops or pauses a trial.

    Called by: the TrialRunner, from its own loop. Trials added through the HTTP API
    bypass the search algorithm but still produce notifications, so implementations
    must ignore trial ids they did not create.
    """

    def add_configurations(self, experiments: Any) -> None:
        """Accept an ``Experiment``, a list of them, or a ``{name: spec}`` dict."""
        raise NotImplementedError

    def next_trials(self) -> list[Trial]:
        """New trials to queue now (possibly none)."""
        raise NotImplementedError

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """An intermediate result of a RUNNING trial."""

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False,
                          early_terminated: bool = False) -> None:
        """A trial ended: ``result`` on natural end or a user stop of a running trial,
        ``error`` when it failed, ``early_terminated`` when a scheduler stopped it or it
        was removed while PENDING/PAUSED."""

    def is_finished(self) -> bool:
        """True when no more trials will be produced (trials may still be running)."""
        raise NotImplementedError

    def set_search_properties(self, metric: Optional[str], mode: Optional[str]) -> None:
        """The experiment-wide metric and mode, for searchers that optimise one."""

    def save_state(self) -> Any:
        """JSON-able state for ``experiment_state.json`` so a resumed run continues."""
        return None

    def restore_state(self, state: Any) -> None:
        """Inverse of :meth:`save_state`."""
