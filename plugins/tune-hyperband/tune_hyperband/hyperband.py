"""Synchronous HyperBand: successive halving in brackets, pausing trials between rounds."""

from __future__ import annotations

import collections
import math
from typing import Any, Optional

from tune_hyperband._common import (
    MaxTBudget,
    check_brackets,
    check_grace_period,
    check_positive,
    check_reduction_factor,
    check_time_attr,
    fmt,
    max_brackets,
    time_of,
)
from tunecore.execution.trial import Trial, TrialStatus
from tunecore.schedulers import Decision, SchedulerContext, TrialScheduler
from tunecore.util import from_jsonable, to_jsonable

_FINISHED = (TrialStatus.TERMINATED, TrialStatus.ERROR)


class _Bracket:
    """One bracket: ``n`` trials run to milestone ``R``, the best ``n/eta`` go on, the rest stop.

    Times are the trials' latest ``time_attr``; scores are signed so larger is better.
    ``schedule`` lists the planned rounds ``(n, r, R)``; ``cutoffs`` the weakest kept
    score of each halving done so far.
    """

    def __init__(self, s: int, n0: int, r0: float, max_t: float, eta: float, integral: bool) -> None:
        self.s = s
        self.max_t = max_t
        self.eta = eta
        self.integral = integral
        self.n, self.r, self.R = n0, r0, r0
        self.schedule = self._plan(n0, r0, s)
        self.round = 0
        self.halves = len(self.schedule) - 1
        self.live: dict[str, list] = {}  # trial_id -> [time, score]
        self.all: list[str] = []
        self.progress = 0.0
        self.total_work = sum(n * r for n, r, _ in self.schedule) or 1
        self.cutoffs: list[Optional[float]] = []

    def _next(self, n: int, r: float, R: float, last: bool) -> tuple[int, float, float]:
        # Li et al.'s floor(n/eta) survivors (the 2018 Tune kept ceil(n/eta): more iterations,
        # no better picks; benchmarks/README.md), never fewer than one.
        n = max(1, math.floor(n / self.eta + 1e-9))
        r = self.max_t - R if last else min(self.eta * r, self.max_t - R)
        if self.integral:
            r = int(r)
        return n, r, R + r

    def _plan(self, n: int, r: float, s: int) -> list[tuple[int, float, float]]:
        rounds = [(n, r, r)]
        R = r
        for i in range(s):
            if R >= self.max_t:
                break
            n, r, R = self._next(n, r, R, last=i == s - 1)
            rounds.append((n, r, R))
        return rounds

    # -- membership ----------------------------------------------------------------
    def filled(self) -> bool:
        return len(self.live) >= self.n

    def add(self, trial_id: str) -> None:
        self.live[trial_id] = [0, None]
        self.all.append(trial_id)

    def remove(self, trial_id: str) -> None:
        self.live.pop(trial_id, None)

    def update(self, trial_id: str, t: float, score: Optional[float]) -> None:
        entry = self.live[trial_id]
        self.progress += max(0.0, t - entry[0])
        entry[0], entry[1] = t, score

    # -- rounds --------------------------------------------------------------------
    def round_done(self) -> bool:
        """Every live trial reached the milestone (trials that never reported count as 0)."""
        return all(t >= self.R for t, _ in self.live.values())

    def final_round(self) -> bool:
        return self.halves == 0

    def finished(self) -> bool:
        return self.final_round() and self.round_done()

    def halve(self) -> tuple[list[str], list[str]]:
        """Advance to the next round: returns (keepers, losers), best keepers last."""
        self.round += 1
        self.halves = len(self.schedule) - 1 - self.round
        self.n, self.r, self.R = self.schedule[self.round]
        ranked = sorted(self.live, key=lambda tid: _rank(self.live[tid][1]))
        # The planned n best go on. In a bracket the experiment did not fill, every
        # member within the planned n survives: its early rungs compare too few trials,
        # too early, to cut harder than the bracket was designed to.
        cut = max(0, len(ranked) - self.n)
        losers, keepers = ranked[:cut], ranked[cut:]
        self.cutoffs.append(self.live[keepers[0]][1] if keepers else None)
        for tid in losers:
            del self.live[tid]
        return keepers, losers

    def completion(self) -> float:
        if self.finished():
            return 1.0
        return min(self.progress / self.total_work, 1.0)


def _rank(score: Optional[float]) -> float:
    return -math.inf if score is None or math.isnan(score) else score


class HyperBandScheduler(MaxTBudget, TrialScheduler):
    """HyperBand with synchronous successive halving (Li et al. 2017).

    Trials fill brackets in order ``s = 0, 1, ..., brackets-1`` (a *band*; then a
    new band starts). Bracket ``s`` takes ``ceil(brackets/(s+1) * eta**s)`` trials,
    runs them to ``r0 = max_t / eta**s`` and then halves ``s`` times: the best
    ``floor(n/eta)`` of the bracket's ``n`` continue to the next milestone
    (``r <- min(eta*r, max_t - R)``, ``R <- R + r``; the last milestone is
    ``max_t``), the rest are stopped. A trial that reaches the milestone before
    its bracket-mates is PAUSED (its resources go to other trials) and resumed
    from its checkpoint if it survives the halving, so trainables must be
    Trainable classes that implement ``_save``/``_restore``. In the last round a
    trial that reaches ``max_t`` is stopped at once.

    Unlike the 2018 Tune, ``reduction_factor`` (eta) and ``brackets`` are settable, and
    brackets that would not fit between ``grace_period`` and ``max_t`` are never
    created (the 2018 Tune left placeholder ``None`` brackets for small ``max_t``).

    Metrics and times may be Python or numpy numbers of any dtype (or 0-d arrays).
    A trial is ranked at a halving by the last metric it reported: a NaN (a
    diverged trial) scores ``-inf``, below every other, so it is the first to be
    stopped; a result whose metric is missing or not a number (None, text, an array)
    keeps the trial's previous score, and a trial that never reported one ranks
    last too. ±inf rank as the extremes they are. A result whose ``time_attr`` is
    missing, None, NaN or not a number does not move the trial towards the milestone
    and is let through.

    Args:
        time_attr: the result key measuring progress (monotonic).
        reward_attr: the 2018 Tune's name of the metric (always maximised).
        max_t: the last milestone of every bracket.
        grace_period: the smallest first milestone; bounds how many brackets fit.
        reduction_factor: eta; the best ``floor(n/eta)`` of a bracket's ``n`` survive each halving.
        brackets: brackets per band; default (None) is every bracket that fits,
            ``1 + floor(log_eta(max_t / grace_period))`` (5 for max_t=81, eta=3).
        metric: the result key to optimise (with ``mode``).
        mode: ``"max"`` or ``"min"``.
    """

    requires_checkpointing = True

    def __init__(self, time_attr: str = "training_iteration", reward_attr: Optional[str] = None,
                 max_t: float = 81, grace_period: float = 1, reduction_factor: float = 3,
                 brackets: Optional[int] = None, metric: Optional[str] = None,
                 mode: Optional[str] = None) -> None:
        check_time_attr(time_attr)
        check_positive("max_t", max_t)
        check_grace_period(grace_period, max_t)
        check_reduction_factor(reduction_factor)
        check_brackets(brackets, allow_none=True)
        self._init_metric(metric, mode, reward_attr)
        self._metric_given = metric is not None or reward_attr is not None
        self._time_attr = time_attr
        self._max_t = max_t
        self._grace_period = grace_period
        self._eta = reduction_factor
        fit = max_brackets(max_t, grace_period, reduction_factor)
        self.num_brackets = fit if brackets is None else min(brackets, fit)
        self._integral = all(isinstance(x, int) for x in (max_t, reduction_factor))
        self._bands: list[list[_Bracket]] = [[]]
        self._where: dict[str, tuple[int, int]] = {}  # trial_id -> (band, bracket index)
        self._trials: dict[str, Trial] = {}
        self._num_stopped = 0

    # -- bracket shapes ------------------------------------------------------------
    def n0(self, s: int) -> int:
        """How many trials bracket ``s`` takes."""
        return math.ceil(self.num_brackets / (s + 1) * self._eta ** s - 1e-9)

    def r0(self, s: int) -> float:
        """The first milestone of bracket ``s`` (never below ``grace_period``)."""
        r = self._max_t / self._eta ** s
        if self._integral:
            r = int(r + 1e-9)
        return max(r, self._grace_period)

    def band_capacity(self) -> int:
        """Trials in a full band (143 for max_t=81, eta=3)."""
        return sum(self.n0(s) for s in range(self.num_brackets))

    def _new_bracket(self, s: int) -> _Bracket:
        return _Bracket(s, self.n0(s), self.r0(s), self._max_t, self._eta, self._integral)

    # -- callbacks -----------------------------------------------------------------
    def on_trial_add(self, runner: SchedulerContext, trial: Trial) -> None:
        self._trials[trial.trial_id] = trial
        if trial.trial_id in self._where:
            return
        band = self._bands[-1]
        if not band or band[-1].filled():
            if len(band) == self.num_brackets:
                band = []
                self._bands.append(band)
            band.append(self._new_bracket(len(band)))
        band[-1].add(trial.trial_id)
        self._where[trial.trial_id] = (len(self._bands) - 1, len(band) - 1)

    def _bracket(self, trial_id: str) -> Optional[_Bracket]:
        where = self._where.get(trial_id)
        return None if where is None else self._bands[where[0]][where[1]]

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        if trial.trial_id not in self._where:
            self.on_trial_add(runner, trial)
        bracket = self._bracket(trial.trial_id)
        self._trials[trial.trial_id] = trial
        if bracket is None or trial.trial_id not in bracket.live:
            return Decision.CONTINUE  # already judged (e.g. stopped while this result was in flight)
        t = time_of(result, self._time_attr)
        if t is None:
            return Decision.CONTINUE
        score = self.score(result)  # None when not a number, -inf for NaN
        if score is None:  # no metric in this result: the trial keeps its last score
            score = bracket.live[trial.trial_id][1]
        bracket.update(trial.trial_id, t, score)
        if t < bracket.R:
            return Decision.CONTINUE
        if bracket.final_round():
            bracket.remove(trial.trial_id)
            return Decision.STOP
        return self._process(runner, bracket, current=trial)

    def _process(self, runner: SchedulerContext, bracket: _Bracket, current: Optional[Trial]) -> Decision:
        """Halve ``bracket`` if its round is done; return the decision for ``current``."""
        action = Decision.PAUSE
        while not bracket.final_round() and bracket.live and bracket.round_done():
            keepers, losers = bracket.halve()
            self._num_stopped += len(losers)
            for tid in losers:
                if current is not None and tid == current.trial_id:
                    action = Decision.STOP
                else:
                    self._stop(runner, tid)
            for tid in keepers:
                t = bracket.live[tid][0]
                if current is not None and tid == current.trial_id:
                    action = Decision.CONTINUE if t < bracket.R else action
                elif t < bracket.R and self._status(runner, tid) == TrialStatus.PAUSED:
                    paused = self._trial(runner, tid)
                    if paused is not None:
                        runner.unpause_trial(paused)
        if bracket.final_round():
            # Live trials already at max_t (paused before the last halving) are done.
            for tid, (t, _) in list(bracket.live.items()):
                if t >= bracket.R:
                    bracket.remove(tid)
                    if current is not None and tid == current.trial_id:
                        action = Decision.STOP
                    else:
                        self._stop(runner, tid)
        return action

    def _stop(self, runner: SchedulerContext, trial_id: str) -> None:
        trial = self._trial(runner, trial_id)
        if trial is not None and trial.status not in _FINISHED:
            runner.stop_trial(trial)

    def _trial(self, runner: SchedulerContext, trial_id: str) -> Optional[Trial]:
        if trial_id not in self._trials:
            for t in runner.get_trials():
                self._trials.setdefault(t.trial_id, t)
        return self._trials.get(trial_id)

    def _status(self, runner: SchedulerContext, trial_id: str) -> Optional[TrialStatus]:
        trial = self._trial(runner, trial_id)
        return None if trial is None else trial.status

    def _forget(self, runner: SchedulerContext, trial: Trial) -> None:
        bracket = self._bracket(trial.trial_id)
        if bracket is None or trial.trial_id not in bracket.live:
            return
        bracket.remove(trial.trial_id)
        self._process(runner, bracket, current=None)

    def on_trial_complete(self, runner: SchedulerContext, trial: Trial, result: Optional[dict]) -> None:
        self._forget(runner, trial)

    def on_trial_error(self, runner: SchedulerContext, trial: Trial) -> None:
        self._forget(runner, trial)

    def on_trial_remove(self, runner: SchedulerContext, trial: Trial) -> None:
        self._forget(runner, trial)

    def choose_trial_to_run(self, runner: SchedulerContext) -> Optional[Trial]:
        """The first PENDING trial, oldest band first, least complete bracket first."""
        for band in self._bands:
            for bracket in sorted(band, key=lambda b: b.completion()):
                for tid in bracket.live:
                    trial = self._trial(runner, tid)
                    if trial is not None and trial.status == TrialStatus.PENDING \
                            and runner.has_resources(trial.resources):
                        return trial
        for trial in runner.get_trials():  # trials this scheduler never saw
            if trial.trial_id not in self._where and trial.status == TrialStatus.PENDING \
                    and runner.has_resources(trial.resources):
                return trial
        return None

    # -- status and state ----------------------------------------------------------
    def brackets(self) -> list[list[_Bracket]]:
        """The bands and their brackets (read-only use: tests, status)."""
        return self._bands

    def _unsign(self, value: Optional[float]) -> Optional[float]:
        if value is None:
            return None
        return value if self.mode == "max" else -value

    def debug_string(self) -> str:
        total = sum(len(band) for band in self._bands)
        lines = [f"Using HyperBand: num_stopped={self._num_stopped} total_brackets={total}"]
        for i, band in enumerate(self._bands):
            if not band:
                continue
            lines.append(f"Round #{i}:")
            for b in band:
                counts = collections.Counter(
                    str(self._trials[tid].status) for tid in b.all if tid in self._trials)
                statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
                lines.append(f"  Bracket(Max Size (n)={b.n}, Milestone (r)={b.R:g}, "
                             f"completed={b.completion():.1%}): {{{statuses}}}")
                rungs = []
                for k, (n, _, R) in enumerate(b.schedule):
                    cut = fmt(self._unsign(b.cutoffs[k])) if k < len(b.cutoffs) else "None"
                    rungs.append(f"Iter {R:g} (n={n}): {cut}")
                lines.append("    Rungs: " + " | ".join(rungs))
        return "\n".join(lines)

    def save_state(self) -> dict[str, Any]:
        """Plain JSON: a ``-inf`` score (a NaN metric) is written as ``"-Infinity"``."""
        return to_jsonable({
            "num_stopped": self._num_stopped,
            "bands": [[{"s": b.s, "round": b.round,
                        "live": {k: list(v) for k, v in b.live.items()}, "all": list(b.all),
                        "progress": b.progress, "cutoffs": list(b.cutoffs)} for b in band]
                      for band in self._bands],
        })

    def restore_state(self, state: dict[str, Any]) -> None:
        self._num_stopped = state["num_stopped"]
        self._bands, self._where = [], {}
        for i, band_state in enumerate(state["bands"]):
            band = []
            for j, bs in enumerate(band_state):
                b = self._new_bracket(bs["s"])
                b.round = bs["round"]
                b.halves = len(b.schedule) - 1 - b.round
                b.n, b.r, b.R = b.schedule[b.round]
                b.live = {k: from_jsonable(list(v)) for k, v in bs["live"].items()}
                b.all, b.progress = list(bs["all"]), from_jsonable(bs["progress"])
                b.cutoffs = from_jsonable(list(bs["cutoffs"]))
                for tid in b.all:
                    self._where[tid] = (i, j)
                band.append(b)
            self._bands.append(band)
        if not self._bands:
            self._bands = [[]]
