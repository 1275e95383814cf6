"""The scheduler interface: called by the TrialRunner, returns decisions the runner acts on."""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING, Any, Optional, Protocol

from tunecore.errors import TuneError
from tunecore.objective import is_metric_list, refuse_metric_list
from tunecore.util import as_float

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Checkpoint, Resources, Trial


class Decision(str, enum.Enum):
    """What a scheduler wants done with the trial whose result it just saw."""

    #: Keep training: the runner launches the next iteration on the same actor.
    CONTINUE = "CONTINUE"
    #: Yield the trial's resources: the runner saves an in-memory checkpoint (object
    #: store), stops the actor and marks the trial PAUSED. It resumes from that
    #: checkpoint when ``choose_trial_to_run`` picks it again.
    PAUSE = "PAUSE"
    #: End the trial: TERMINATED, its result recorded with ``done=True``; a final
    #: checkpoint is taken when the experiment has ``checkpoint_at_end``.
    STOP = "STOP"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class SchedulerContext(Protocol):
    """What a scheduler may see and ask of the runner (the ``runner`` argument).

    Requests about *other* trials (``stop_trial``, ``unpause_trial``,
    ``exploit_trial``) are queued and carried out by the runner right after the
    scheduler callback returns; a scheduler never touches actors or executors.
    """

    def get_trials(self) -> list[Trial]: ...

    def has_resources(self, resources: Resources) -> bool: ...

    def stop_trial(self, trial: Trial) -> None:
        """Ask that a PENDING/PAUSED/RUNNING trial be stopped (TERMINATED)."""

    def unpause_trial(self, trial: Trial) -> None:
        """Ask that a PAUSED trial become PENDING (eligible to run again)."""

    def save_trial(self, trial: Trial) -> Optional[Checkpoint]:
        """Take an in-memory checkpoint of a RUNNING trial now (object store, any node).

        For a function trainable: a copy of the latest checkpoint it reported, or None when
        it has reported none yet (Ray Tune 2.x's PBT then skips it as a donor).
        """

    def exploit_trial(self, trial: Trial, checkpoint: Checkpoint, config: dict,
                      experiment_tag: Optional[str] = None, record: Optional[dict] = None) -> None:
        """Ask that ``trial`` continue from ``checkpoint`` with ``config`` (PBT).

        ``record`` (JSON-able) is appended to ``<trial dir>/events.jsonl``.
        """


def validate_mode(mode: Optional[str]) -> None:
    if mode not in (None, "min", "max"):
        raise TuneError(f"mode must be 'min' or 'max', but got mode={mode!r}")


class TrialScheduler:
    """Base class of schedulers. Subclasses override the callbacks they need.

    Called by: the TrialRunner only, from its own loop (one thread). Every callback
    gets the runner's :class:`SchedulerContext` first.

    Metric: schedulers take ``metric`` + ``mode`` (``"min"`` or ``"max"``) or the
    2018 Tune's ``reward_attr`` (always maximised). :meth:`score` turns a result into a
    number where larger is better.
    """

    CONTINUE = Decision.CONTINUE
    PAUSE = Decision.PAUSE
    STOP = Decision.STOP

    #: True when the scheduler pauses trials, so trainables must be able to checkpoint.
    requires_checkpointing: bool = False

    metric: Optional[str] = None
    mode: str = "max"
    #: True for a scheduler that accepts a list of metrics (and modes): several objectives.
    multi_objective: bool = False

    def _init_metric(self, metric: Optional[str], mode: Optional[str], reward_attr: Optional[str],
                     default: str = "episode_reward_mean") -> None:
        refuse_metric_list(type(self).__name__, metric)
        validate_mode(mode)
        if metric is not None and reward_attr is not None and metric != reward_attr:
            raise TuneError(
                f"give either metric or reward_attr, not both, but got metric={metric!r}, "
                f"reward_attr={reward_attr!r}"
            )
        self.metric = metric or reward_attr or default
        self.mode = mode or "max"

    def set_search_properties(self, metric: Optional[str], mode: Optional[str]) -> None:
        """Adopt the experiment-wide metric/mode when the scheduler was not given one.

        A single-objective scheduler given its own metric keeps it when the run has several;
        without one of its own, a list of metrics is refused (with the components that take one).
        """
        if is_metric_list(metric) or isinstance(mode, (list, tuple)):
            if self.multi_objective:
                self.metric, self.mode = metric, mode  # type: ignore[assignment]
                return
            if getattr(self, "_metric_given", False):
                return
            refuse_metric_list(type(self).__name__, metric)
        if metric and not getattr(self, "_metric_given", False):
            self.metric = metric
        if mode:
            validate_mode(mode)
            self.mode = mode

    def reached_budget(self, result: dict) -> bool:
        """True when a STOP answered to ``result`` ends the trial at its full budget (a
        ``max_t``), not early: the searcher is then told the trial completed (Optuna records it
        COMPLETE, not PRUNED). Default: False, every STOP is an early stop."""
        return False

    def score(self, result: dict) -> Optional[float]:
        """``result[metric]`` as a float signed so that larger is better.

        None when the metric is absent or not a number (None, a string, an array);
        ``-inf`` for NaN, so a trial whose metric diverged ranks last in either mode.
        Python and numpy numbers alike.
        """
        value = as_float(result.get(self.metric)) if self.metric else None
        if value is None:
            return None
        if value != value:
            return -math.inf
        return value if self.mode == "max" else -value

    # -- callbacks ------------------------------------------------------------------
    def on_trial_add(self, runner: SchedulerContext, trial: Trial) -> None:
        """A trial was added (before it is in ``runner.get_trials()``)."""

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        """A RUNNING trial reported ``result`` and did not meet its stop condition."""
        return Decision.CONTINUE

    def on_trial_complete(self, runner: SchedulerContext, trial: Trial, result: Optional[dict]) -> None:
        """A RUNNING trial finished (stop criterion, ``done``, or a user stop)."""

    def on_trial_error(self, runner: SchedulerContext, trial: Trial) -> None:
        """A RUNNING trial failed for good."""

    def on_trial_remove(self, runner: SchedulerContext, trial: Trial) -> None:
        """A PENDING or PAUSED trial was stopped."""

    def choose_trial_to_run(self, runner: SchedulerContext) -> Optional[Trial]:
        """A PENDING or PAUSED trial that fits (``runner.has_resources``), or None.

        Must not change state: the runner may call it several times a step.
        """
        from tunecore.execution.trial import TrialStatus

        paused = None
        for trial in runner.get_trials():
            if trial.status == TrialStatus.PENDING and runner.has_resources(trial.resources):
                return trial
            if paused is None and trial.status == TrialStatus.PAUSED and runner.has_resources(trial.resources):
                paused = trial
        return paused

    def debug_string(self) -> str:
        """The scheduler's lines of the status table."""
        return f"Using {type(self).__name__}."

    # -- experiment state -----------------------------------------------------------
    def save_state(self) -> Any:
        """JSON-able state for ``experiment_state.json`` (None: nothing to keep)."""
        return None

    def restore_state(self, state: Any) -> None:
        """Inverse of :meth:`save_state`."""
