"""Asynchronous successive halving (ASHA): stop a trial at a rung when it is below the cut-off."""

from __future__ import annotations

import warnings
from typing import Any, Optional

from tune_hyperband._common import fmt, percentile
from tune_hyperband._halving import AsyncHalving
from tunecore.execution.trial import Trial
from tunecore.schedulers import Decision
from tunecore.util import from_jsonable, to_jsonable


class _Rung:
    """One milestone of a bracket and the scores trials recorded when they reached it."""

    __slots__ = ("milestone", "recorded")

    def __init__(self, milestone: float) -> None:
        self.milestone = milestone
        self.recorded: dict[str, float] = {}  # trial_id -> score (larger is better)


class _Bracket:
    """The rungs of one ASHA bracket, lowest milestone first."""

    def __init__(self, rung_milestones: list[float], reduction_factor: float) -> None:
        self.rungs = [_Rung(m) for m in rung_milestones]
        self.quantile = (1 - 1 / reduction_factor) * 100

    def cutoff(self, rung: _Rung) -> Optional[float]:
        """The score a trial must reach at ``rung`` to continue (None: nobody recorded yet)."""
        return percentile(list(rung.recorded.values()), self.quantile)

    def on_result(self, trial_id: str, t: float, score: float) -> Decision:
        """Judge ``score`` at the highest rung ``<= t`` unless the trial already recorded there."""
        for rung in reversed(self.rungs):
            if t < rung.milestone:
                continue
            if trial_id in rung.recorded:
                return Decision.CONTINUE
            cutoff = self.cutoff(rung)
            rung.recorded[trial_id] = score
            if cutoff is not None and score < cutoff:
                return Decision.STOP
            return Decision.CONTINUE
        return Decision.CONTINUE


class AsyncHyperBandScheduler(AsyncHalving):
    """Asynchronous successive halving with several brackets (Li et al. 2018).

    Each bracket ``s`` has rungs at ``grace_period * reduction_factor**(k+s)`` up to
    ``max_t``. When a trial reaches a rung, its score is compared with the
    ``(1 - 1/reduction_factor)`` quantile of the scores that trials before it
    recorded there: below it, the trial is stopped; otherwise it continues. Any
    result with ``time_attr >= max_t`` stops the trial. It never pauses, so it
    works with function and class trainables alike.

    Brackets with a later first rung protect "late bloomers" (configs that start
    slowly but end best) that a single aggressive bracket would kill. Trials are
    spread over the brackets in proportion to ``exp(number of rungs)`` (the
    2018 Tune's softmax weights), deterministically: each new trial joins the bracket
    furthest below its share, so a small experiment gets the intended mix rather
    than a random draw.

    Metrics and times may be Python or numpy numbers of any dtype (or 0-d arrays).
    A NaN metric (a diverged trial) scores ``-inf``, below every other: it is recorded
    at the rung like any score and stopped wherever the rung has a cut-off. A result
    whose metric is missing or not a number (None, text, an array) is not recorded
    and the trial continues (warned once). A result whose ``time_attr`` is missing,
    None, NaN or not a number cannot be placed at a rung and is let through. ±inf
    metrics and times count as the extremes they are.

    Args:
        time_attr: the result key measuring progress (monotonic).
        reward_attr: the 2018 Tune's name of the metric (always maximised).
        max_t: trials are stopped when ``time_attr`` reaches this.
        grace_period: the first rung; no trial is stopped before it. Default: a
            tenth of ``max_t`` (10 for ``max_t=100``), late enough that configs
            whose curves cross others' (slow starters that end best) are still
            alive when compared; the 2018 Tune's fixed 10 and Ray Tune's 1 kill them
            on such curves (see benchmarks/README.md).
        reduction_factor: rung spacing; the top ``1/reduction_factor`` continue.
        brackets: number of brackets; more than fit between ``grace_period`` and
            ``max_t`` are not created (see :attr:`num_brackets`). Each extra
            bracket protects slow starters further at a higher cost.
        metric: the result key to optimise (with ``mode``).
        mode: ``"max"`` or ``"min"``.
    """

    def __init__(self, time_attr: str = "training_iteration", reward_attr: Optional[str] = None,
                 max_t: float = 100, grace_period: Optional[float] = None, reduction_factor: float = 4,
                 brackets: int = 1, metric: Optional[str] = None, mode: Optional[str] = None) -> None:
        if grace_period is None:
            grace_period = max(1, max_t // 10) if isinstance(max_t, int) else max_t / 10
        self._init_metric(metric, mode, reward_attr)
        self._metric_given = metric is not None or reward_attr is not None
        self._setup(time_attr, max_t, grace_period, reduction_factor, brackets,
                    lambda rungs: _Bracket(rungs, reduction_factor))

    def _judge(self, trial: Trial, t: float, result: dict) -> Decision:
        score = self.score(result)  # None when not a number, -inf for NaN
        if score is None:
            if not self._warned_missing:
                warnings.warn(
                    f"AsyncHyperBandScheduler: result of {trial} has no value for metric "
                    f"{self.metric!r} (got {result.get(self.metric)!r:.80}); it is not recorded in any "
                    f"rung. Report {self.metric!r} as a number or give the scheduler another metric.",
                    stacklevel=3,
                )
                self._warned_missing = True
            return Decision.CONTINUE
        return self._brackets[self.bracket_of(trial)].on_result(trial.trial_id, t, score)

    # -- status and state ----------------------------------------------------------
    def _unsign(self, value: Optional[float]) -> Optional[float]:
        if value is None:
            return None
        return value if self.mode == "max" else -value

    def debug_string(self) -> str:
        lines = [f"Using AsyncHyperBand: num_stopped={self._num_stopped}"]
        for b in self._brackets:
            rungs = " | ".join(f"Iter {r.milestone:.3f}: {fmt(self._unsign(b.cutoff(r)))}" for r in b.rungs)
            lines.append(f"Bracket: {rungs}")
        return "\n".join(lines)

    def save_state(self) -> dict[str, Any]:
        """Plain JSON: a ``-inf`` score (a NaN metric) is written as ``"-Infinity"``."""
        return to_jsonable(dict(self._assignment_state(),
                                rungs=[[dict(r.recorded) for r in b.rungs] for b in self._brackets]))

    def restore_state(self, state: dict[str, Any]) -> None:
        self._restore_assignment(state)
        for b, rungs in zip(self._brackets, state["rungs"]):
            for r, recorded in zip(b.rungs, rungs):
                r.recorded = {tid: float(from_jsonable(score)) for tid, score in recorded.items()}
