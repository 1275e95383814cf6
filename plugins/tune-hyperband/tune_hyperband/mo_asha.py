"""Multi-objective asynchronous successive halving (MO-ASHA): ASHA's rungs, ranked by Pareto fronts."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from tune_hyperband._halving import AsyncHalving
from tunecore import pareto
from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.objective import check_constraints
from tunecore.schedulers import Decision
from tunecore.util import as_float, from_jsonable, to_jsonable

_NAME = "MultiObjectiveAsyncHyperBandScheduler"
_MODES = ("min", "max")

#: A recorded point: its objective values signed so that lower is better, and whether it is feasible.
_Point = tuple[tuple[float, ...], bool]


def keep_count(recorded_before: int, reduction_factor: float) -> int:
    """How many of the first places of a rung's rank order continue, when ``recorded_before``
    trials were recorded at the rung before the one being judged.

    ``1 + floor((m - 1) / reduction_factor)`` (``ceil(m / reduction_factor)`` for an integer
    factor), and every trial when ``m = 0``: with one objective, exactly the places at or above
    ASHA's ``(1 - 1/reduction_factor)`` quantile of the ``m`` earlier scores whenever that quantile
    falls on a recorded score, and never more.
    """
    if recorded_before <= 0:
        return 1
    return 1 + math.floor((recorded_before - 1) / reduction_factor)


class _Rung:
    """One milestone of a bracket and the points trials recorded when they reached it."""

    __slots__ = ("milestone", "recorded")

    def __init__(self, milestone: float) -> None:
        self.milestone = milestone
        self.recorded: dict[str, _Point] = {}  # trial_id -> (minimized objectives, feasible)

    def ranking(self, tie_break: str, first: Optional[str] = None) -> list[str]:
        """The recorded trial ids, best first; ``first`` wins exact ties (it is placed first).

        Feasible points with finite objectives come first, in :func:`tunecore.pareto.rank_order`;
        then the infeasible finite ones, in their own rank order; then those with a NaN or
        infinite objective, in arrival order.
        """
        ids = list(self.recorded)
        if first is not None and first in self.recorded:
            ids.remove(first)
            ids.insert(0, first)
        if not ids:
            return []
        points = np.asarray([self.recorded[i][0] for i in ids], dtype=float)
        feasible = np.asarray([self.recorded[i][1] for i in ids], dtype=bool)
        finite = pareto.finite_rows(points)
        order: list[str] = []
        for mask in (finite & feasible, finite & ~feasible):
            rows = np.flatnonzero(mask)
            order.extend(ids[rows[j]] for j in pareto.rank_order(points[rows], tie_break))
        order.extend(ids[i] for i in np.flatnonzero(~finite))
        return order

    def front_size(self) -> int:
        """How many recorded points are feasible, finite and non-dominated among those."""
        points = np.asarray([p for p, ok in self.recorded.values() if ok], dtype=float)
        if points.size == 0:
            return 0
        return int(pareto.pareto_mask(points[pareto.finite_rows(points)]).sum())


class _Bracket:
    """The rungs of one MO-ASHA bracket, lowest milestone first."""

    def __init__(self, rung_milestones: list[float], reduction_factor: float, tie_break: str) -> None:
        self.rungs = [_Rung(m) for m in rung_milestones]
        self.reduction_factor = reduction_factor
        self.tie_break = tie_break

    def on_result(self, trial_id: str, t: float, point: _Point) -> Decision:
        """Judge ``point`` at the highest rung ``<= t`` unless the trial already recorded there."""
        for rung in reversed(self.rungs):
            if t < rung.milestone:
                continue
            if trial_id in rung.recorded:
                return Decision.CONTINUE
            before = len(rung.recorded)
            rung.recorded[trial_id] = point
            if before == 0:
                return Decision.CONTINUE
            place = rung.ranking(self.tie_break, first=trial_id).index(trial_id)
            return Decision.CONTINUE if place < keep_count(before, self.reduction_factor) else Decision.STOP
        return Decision.CONTINUE


# -- argument checks ---------------------------------------------------------------------
def _check_metric(metric: Any) -> Optional[tuple[str, ...]]:
    """The metric names as a tuple (None stays None); a single name is a tuple of one."""
    if metric is None:
        return None
    names = [metric] if isinstance(metric, str) else metric
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(m, str) and m for m in names):
        raise TuneError(
            f"{_NAME}: metric must be a result key or a list of them (one per objective), e.g. "
            f"metric=['loss', 'latency'], but got metric={metric!r}")
    twice = sorted({m for m in names if names.count(m) > 1})
    if twice:
        raise TuneError(f"{_NAME}: metric={list(names)!r} names {twice[0]!r} twice; give each objective once")
    return tuple(names)


def _check_mode(mode: Any) -> Optional[tuple[str, ...]]:
    """The modes as a tuple (None stays None; a single mode is a tuple of one, applied to all)."""
    if mode is None:
        return None
    modes = [mode] if isinstance(mode, str) else mode
    if not isinstance(modes, (list, tuple)) or not modes or any(m not in _MODES for m in modes):
        raise TuneError(
            f"{_NAME}: mode must be 'min' or 'max' (applied to every metric) or a list of them, one per "
            f"metric, e.g. mode=['min', 'max'], but got mode={mode!r}")
    return tuple(modes)


def _pair(metrics: Optional[tuple[str, ...]], modes: Optional[tuple[str, ...]], given_mode: Any) -> Optional[tuple]:
    """The modes, one per metric: a single mode applies to every metric; lengths must match."""
    if metrics is None or modes is None:
        return modes
    if len(modes) == 1 and (isinstance(given_mode, str) or len(metrics) == 1):
        return modes * len(metrics)
    if len(modes) != len(metrics):
        raise TuneError(
            f"{_NAME}: metric and mode must have the same length, but got {len(metrics)} metrics "
            f"{list(metrics)!r} and {len(modes)} modes {list(modes)!r}; give one mode per metric, or a "
            f"single mode for all (e.g. mode='min')")
    return modes


def _check_constraints(constraints: Any, metrics: Optional[tuple[str, ...]]) -> tuple[str, ...]:
    """The constraint keys as a tuple (none: empty); each must be ``<= 0`` for feasibility."""
    return tuple(check_constraints(constraints, list(metrics) if metrics else None, _NAME) or ())


class MultiObjectiveAsyncHyperBandScheduler(AsyncHalving):
    """Asynchronous successive halving on several objectives (MO-ASHA, Schmucker et al. 2021).

    The rungs, brackets, bracket assignment and ``max_t`` stop are those of
    :class:`~tune_hyperband.AsyncHyperBandScheduler`: bracket ``s`` has rungs at
    ``grace_period * reduction_factor**(k+s) <= max_t``, and any result with
    ``time_attr >= max_t`` stops the trial. Only the comparison at a rung differs: when a
    trial first reaches a rung (the highest one at or below its ``time_attr``), its objective
    vector is recorded there and every point recorded at the rung is put in rank order
    (:func:`tunecore.pareto.rank_order`: non-dominated fronts, best first, each front ordered by
    ``tie_break``). With ``m`` points recorded before it, the trial continues iff it is among the
    first ``ceil(m / reduction_factor)`` places (``1 + floor((m - 1) / reduction_factor)`` for a
    non-integer factor; see :func:`keep_count`); the first trial at a rung always continues. With
    one objective this is ASHA's rule whenever ASHA's quantile falls on a recorded score, and
    never more lenient. Exact ties go to the trial being judged, as ASHA lets a score equal to
    its cut-off through.

    Points ranked last at a rung, in this order: infeasible ones (a constraint above 0, missing
    or NaN), in their own rank order; then those with a NaN or infinite objective (a diverged
    trial), in arrival order. A result missing one of the metrics (or holding None, text, an
    array) is not recorded and the trial continues (warned once), as in ASHA; a result whose
    ``time_attr`` is missing, None or NaN is let through. It never pauses, so it works with
    function and class trainables alike.

    Args:
        time_attr: the result key measuring progress (monotonic).
        metric: the result keys to optimise, a list (one per objective); a single key gives
            single-objective successive halving. Default: the experiment's ``metric``
            (``TuneConfig``/``run_experiments``), told through :meth:`set_search_properties`.
        mode: ``"min"``/``"max"`` per metric (a list of as many), or one of them for all.
            Default: the experiment's.
        max_t: trials are stopped when ``time_attr`` reaches this.
        grace_period: the first rung; no trial is stopped before it.
        reduction_factor: rung spacing; about the top ``1/reduction_factor`` continue.
        brackets: number of brackets (as ASHA's; more than fit are not created).
        tie_break: how the points of one front are ordered: ``"epsnet"`` (the greedy ε-net of
            Schmucker et al.: the best point in the first objective, then each time the point
            farthest from those taken, so the first places cover the front evenly) or
            ``"crowding"`` (NSGA-II's crowding distance, most isolated first).
        constraints: result keys that must be ``<= 0`` for a point to be feasible. Default: the
            experiment's ``constraints``.

    Attributes:
        metric, mode: the objective in use: tuples of the metric names and of their modes (one
            per metric), or a name and a mode when a single metric was given as a string; None
            until known.

    Raises:
        TuneError: an argument is invalid, or no metric/mode is known when the first result arrives.
    """

    #: Accepts a list of metrics and modes (the core checks this before giving it one).
    multi_objective = True

    metric: Any = None
    mode: Any = None

    def __init__(self, time_attr: str = "training_iteration", metric: Any = None, mode: Any = None,
                 max_t: float = 100, grace_period: float = 1, reduction_factor: float = 4, brackets: int = 1,
                 tie_break: str = "epsnet", constraints: Any = None) -> None:
        if not isinstance(tie_break, str) or tie_break not in pareto.TIE_BREAKS:
            raise TuneError(
                f"{_NAME}: tie_break must be one of {list(pareto.TIE_BREAKS)}, but got tie_break={tie_break!r}")
        #: (metric, mode, constraints) as given to the scheduler, and as the experiment told it.
        self._own: tuple[Any, Any, Any] = (metric, mode, constraints)
        self._told: tuple[Any, Any, Any] = (None, None, None)
        self._metrics: Optional[tuple[str, ...]] = None
        self._modes: Optional[tuple[str, ...]] = None
        self._constraints: tuple[str, ...] = ()
        self._set_objective(metric, mode, constraints)
        self._tie_break = tie_break
        self._setup(time_attr, max_t, grace_period, reduction_factor, brackets,
                    lambda rungs: _Bracket(rungs, reduction_factor, tie_break))

    # -- the objective -----------------------------------------------------------------
    def _set_objective(self, metric: Any, mode: Any, constraints: Any) -> None:
        """Check ``metric``/``mode``/``constraints`` and set them as they will be used."""
        metrics = _check_metric(metric)
        modes = _pair(metrics, _check_mode(mode), mode)
        keys = _check_constraints(constraints, metrics)
        self._metrics, self._modes, self._constraints = metrics, modes, keys
        if metrics is None:
            self.metric, self.mode = None, mode if mode is None or isinstance(mode, str) else modes
        elif isinstance(metric, str):
            self.metric, self.mode = metric, modes[0] if modes else None
        else:
            self.metric, self.mode = metrics, modes

    def _resolve(self) -> None:
        """The scheduler's own metric, mode and constraints where given, else the experiment's.

        The experiment's modes belong to its metrics: a scheduler with metrics of its own (other
        ones) but no modes does not take them.
        """
        (metric, mode, constraints), (told_metric, told_mode, told_constraints) = self._own, self._told
        if mode is None and (metric is None or told_metric is None
                             or _check_metric(metric) == _check_metric(told_metric)):
            mode = told_mode
        self._set_objective(told_metric if metric is None else metric, mode,
                            told_constraints if constraints is None else constraints)

    @property
    def constraints(self) -> list[str]:
        """The result keys that must be ``<= 0`` for a point to be feasible."""
        return list(self._constraints)

    def set_search_properties(self, metric: Any, mode: Any, constraints: Optional[Sequence[str]] = None) -> None:
        """Adopt the experiment-wide metric(s), mode(s) and constraints the scheduler was not given.

        ``metric``/``mode`` may be lists (several objectives) or single values; a single mode
        applies to every metric. Values the scheduler was built with win.
        """
        told = (metric, mode, constraints)
        self._told = tuple(new if new is not None else old
                           for new, old in zip(told, self._told))
        self._resolve()

    def _objective(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The metrics and modes, or a TuneError saying how to give them."""
        if self._metrics is None or self._modes is None:
            missing = "metric" if self._metrics is None else "mode"
            example = list(self._metrics) if self._metrics else ["loss", "latency"]
            raise TuneError(
                f"{_NAME} has no {missing}: pass metric={example!r}, mode={['min'] * len(example)!r} "
                f"(one 'min'/'max' per metric) to the scheduler, or to TuneConfig / run_experiments for "
                f"the whole experiment.")
        return self._metrics, self._modes

    def _point(self, trial: Trial, result: dict) -> Optional[_Point]:
        """The result's objective vector (lower is better) and feasibility; None if a metric is missing."""
        metrics, modes = self._objective()
        values = []
        for key in metrics:
            value = as_float(result.get(key))
            if value is None:
                if not self._warned_missing:
                    warnings.warn(
                        f"{_NAME}: result of {trial} has no value for metric {key!r} (got "
                        f"{result.get(key)!r:.80}); it is not recorded in any rung. Report every one of "
                        f"{list(metrics)!r} as a number or give the scheduler other metrics.",
                        stacklevel=4,
                    )
                    self._warned_missing = True
                return None
            values.append(value)
        signed = pareto.minimized([values], modes)[0]
        feasible = pareto.is_feasible(result, self._constraints) if self._constraints else True
        return tuple(float(v) for v in signed), feasible

    # -- rungs -----------------------------------------------------------------------
    def ranking(self, bracket: int = 0, rung: int = 0) -> list[str]:
        """The ids of the trials recorded at a rung (indices as in :meth:`rung_milestones`), best first."""
        return self._brackets[bracket].rungs[rung].ranking(self._tie_break)

    def _judge(self, trial: Trial, t: float, result: dict) -> Decision:
        point = self._point(trial, result)
        if point is None:
            return Decision.CONTINUE
        return self._brackets[self.bracket_of(trial)].on_result(trial.trial_id, t, point)

    # -- status and state ----------------------------------------------------------
    def __repr__(self) -> str:
        def shown(value: Any) -> Any:
            return list(value) if isinstance(value, tuple) else value

        return (f"{_NAME}(time_attr={self._time_attr!r}, metric={shown(self.metric)!r}, mode={shown(self.mode)!r}, "
                f"max_t={self._max_t!r}, grace_period={self._grace_period!r}, "
                f"reduction_factor={self._reduction_factor!r}, brackets={self.num_brackets!r}, "
                f"tie_break={self._tie_break!r}, constraints={self.constraints!r})")

    def debug_string(self) -> str:
        metric = list(self._metrics) if self._metrics else None
        mode = list(self._modes) if self._modes else None
        lines = [f"Using MultiObjectiveAsyncHyperBand: num_stopped={self._num_stopped} metric={metric} "
                 f"mode={mode} tie_break={self._tie_break}"]
        for b in self._brackets:
            rungs = " | ".join(f"Iter {r.milestone:.3f}: n={len(r.recorded)} front={r.front_size()}"
                               for r in b.rungs)
            lines.append(f"Bracket: {rungs}")
        return "\n".join(lines)

    def _saved_objective(self) -> dict[str, Any]:
        return {"metric": list(self._metrics) if self._metrics else None,
                "mode": list(self._modes) if self._modes else None,
                "constraints": list(self._constraints)}

    def save_state(self) -> dict[str, Any]:
        """Plain JSON: a NaN or infinite objective is written as ``"NaN"``/``"Infinity"``/``"-Infinity"``.

        Recorded points are kept signed so that lower is better, with the objective they were
        recorded under (``metric``, ``mode``, ``constraints``).
        """
        return to_jsonable({
            **self._assignment_state(),
            "objective": self._saved_objective(),
            "rungs": [[{"points": {tid: list(p) for tid, (p, _) in r.recorded.items()},
                        "infeasible": [tid for tid, (_, ok) in r.recorded.items() if not ok]}
                       for r in b.rungs] for b in self._brackets],
        })

    def restore_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`save_state`. A scheduler without an objective takes the saved one; with
        another objective than the saved one, the recorded points are not used (warned)."""
        self._restore_assignment(state)
        saved = state.get("objective") or {}
        if saved.get("metric") is None:
            saved = {}
        elif self._metrics is None:  # built and told without an objective: the saved one
            self._told = (saved["metric"], saved.get("mode"), saved.get("constraints") or None)
            self._resolve()
        if saved and saved != self._saved_objective():
            warnings.warn(
                f"{_NAME}: the experiment was run with {saved}, now {self._saved_objective()}; the points "
                "recorded at the rungs are not used.", stacklevel=2)
            return
        for b, rungs in zip(self._brackets, state["rungs"]):
            for r, saved_rung in zip(b.rungs, rungs):
                infeasible = set(saved_rung["infeasible"])
                r.recorded = {tid: (tuple(float(from_jsonable(v)) for v in point), tid not in infeasible)
                              for tid, point in saved_rung["points"].items()}


#: The short name (Ray Tune 2.x style, like ``ASHAScheduler``).
MOASHAScheduler = MultiObjectiveAsyncHyperBandScheduler
