"""What ASHA and MO-ASHA share: brackets of rungs, the bracket assignment, the stop at ``max_t``.

A subclass builds its brackets (:meth:`AsyncHalving._setup`) and says how a result is judged at a
rung (:meth:`AsyncHalving._judge`); the callbacks, the assignment of trials to brackets and the
common part of the saved state are here.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from tune_hyperband._common import (
    MaxTBudget,
    check_brackets,
    check_grace_period,
    check_positive,
    check_reduction_factor,
    check_time_attr,
    max_brackets,
    milestones,
    time_of,
)
from tunecore.execution.trial import Trial
from tunecore.schedulers import Decision, SchedulerContext, TrialScheduler


class AsyncHalving(MaxTBudget, TrialScheduler):
    """Asynchronous successive halving without its rule at a rung (see the subclasses)."""

    _brackets: list[Any]
    _warned_missing: bool

    def _setup(self, time_attr: str, max_t: float, grace_period: float, reduction_factor: float, brackets: int,
               make_bracket: Callable[[list[float]], Any]) -> None:
        """Check the budget arguments and build the brackets (``make_bracket(rung_milestones)``)."""
        check_time_attr(time_attr)
        check_positive("max_t", max_t)
        check_grace_period(grace_period, max_t)
        check_reduction_factor(reduction_factor)
        check_brackets(brackets)
        self._time_attr = time_attr
        self._max_t = max_t
        self._grace_period = grace_period
        self._reduction_factor = reduction_factor
        self.num_brackets = min(brackets, max_brackets(max_t, grace_period, reduction_factor))
        self._brackets = [make_bracket(milestones(grace_period, max_t, reduction_factor, s))
                          for s in range(self.num_brackets)]
        sizes = [len(b.rungs) for b in self._brackets]
        weights = [math.exp(n - max(sizes)) for n in sizes]
        self._shares = [w / sum(weights) for w in weights]
        self._assigned = [0] * self.num_brackets  # trials ever put in each bracket
        self._trial_bracket: dict[str, int] = {}
        self._num_stopped = 0
        self._warned_missing = False

    def _judge(self, trial: Trial, t: float, result: dict) -> Decision:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- bracket assignment --------------------------------------------------------
    def _assign(self, trial: Trial) -> int:
        total = sum(self._assigned) + 1
        idx = max(range(self.num_brackets), key=lambda i: (self._shares[i] * total - self._assigned[i], -i))
        self._assigned[idx] += 1
        self._trial_bracket[trial.trial_id] = idx
        return idx

    def bracket_of(self, trial: Trial) -> int:
        """The index of the bracket ``trial`` is in (assigning one if it has none)."""
        idx = self._trial_bracket.get(trial.trial_id)
        return self._assign(trial) if idx is None else idx

    def rung_milestones(self) -> list[list[float]]:
        """Each bracket's rung milestones, lowest first."""
        return [[r.milestone for r in b.rungs] for b in self._brackets]

    # -- callbacks -----------------------------------------------------------------
    def on_trial_add(self, runner: SchedulerContext, trial: Trial) -> None:
        if trial.trial_id not in self._trial_bracket:
            self._assign(trial)

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        t = time_of(result, self._time_attr)
        if t is None:
            return Decision.CONTINUE
        if t >= self._max_t:
            self._judge(trial, t, result)
            self._trial_bracket.pop(trial.trial_id, None)
            return Decision.STOP
        decision = self._judge(trial, t, result)
        if decision is Decision.STOP:
            # The runner does not call on_trial_complete for the scheduler's own STOP.
            self._num_stopped += 1
            self._trial_bracket.pop(trial.trial_id, None)
        return decision

    def on_trial_complete(self, runner: SchedulerContext, trial: Trial, result: Any) -> None:
        t = time_of(result, self._time_attr) if result is not None else None
        if trial.trial_id in self._trial_bracket and t is not None and result is not None:
            self._judge(trial, t, result)
        self._trial_bracket.pop(trial.trial_id, None)

    def on_trial_error(self, runner: SchedulerContext, trial: Trial) -> None:
        self._trial_bracket.pop(trial.trial_id, None)

    def on_trial_remove(self, runner: SchedulerContext, trial: Trial) -> None:
        self._trial_bracket.pop(trial.trial_id, None)

    # -- state -----------------------------------------------------------------------
    def _assignment_state(self) -> dict[str, Any]:
        return {"num_stopped": self._num_stopped, "assigned": list(self._assigned),
                "trial_bracket": dict(self._trial_bracket)}

    def _restore_assignment(self, state: dict[str, Any]) -> None:
        self._num_stopped = state["num_stopped"]
        self._assigned = list(state["assigned"])
        self._trial_bracket = dict(state["trial_bracket"])
