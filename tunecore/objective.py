"""The objective of a run: one metric or several, their modes, and constraints; checked in one place.

``metric="loss", mode="min"`` is one objective; ``metric=["loss", "latency"], mode=["min", "min"]``
several (the lists match one to one). ``constraints=["memory_over"]`` names result keys that
must be ``<= 0`` for a trial to be *feasible*: an infeasible trial (a constraint above 0,
missing or NaN) is never the best trial nor on a Pareto front.

:func:`check_objective` and :func:`check_constraints` are what ``run_experiments``,
``tune.run``, ``TuneConfig``, ``Searcher`` and the result readers call before any trial starts.
A component that optimises one metric calls :func:`refuse_metric_list` when given a list; its
message names the components that accept several (:func:`multi_objective_components`), which
say so with a class attribute ``multi_objective = True``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from tunecore.errors import TuneError

__all__ = ["MODES", "Objective", "check_constraints", "check_objective", "is_metric_list",
           "multi_objective_components", "refuse_metric_list"]

MODES = ("min", "max")


def is_metric_list(metric: Any) -> bool:
    """True for a list (or tuple) of metrics: several objectives."""
    return isinstance(metric, (list, tuple))


def _check_key(value: Any, what: str, owner: str) -> str:
    if not isinstance(value, str) or not value:
        raise TuneError(f"{owner}: {what} must be a result key (a non-empty string), but got {value!r}")
    return value


def check_objective(metric: Any, mode: Any, owner: str = "run_experiments",
                    partial: bool = False) -> tuple[Any, Any]:
    """``(metric, mode)`` checked and normalised (tuples become lists).

    Accepted: ``None``; a metric name and ``"min"``/``"max"`` (either may be None); or a list of
    distinct metric names with a list of as many modes. With ``partial`` (a component that is
    told the rest later), a list of metrics without modes, or a list of modes alone, pass too.

    Raises:
        TuneError: what is wrong and what to pass instead.
    """
    if is_metric_list(metric):
        metrics = [_check_key(m, "each metric", owner) for m in metric]
        if not metrics:
            raise TuneError(f"{owner}: metric is an empty list; give a result key or a list of them")
        if len(set(metrics)) != len(metrics):
            raise TuneError(f"{owner}: metric={metrics!r} names a metric twice; give each objective once")
        if mode is None and partial:
            return metrics, None
        if mode is None or isinstance(mode, str):
            hint = [mode or "min"] * len(metrics)
            raise TuneError(f"{owner}: metric={metrics!r} is a list, so mode must be a list of as many "
                            f"'min'/'max', e.g. mode={hint!r}; got mode={mode!r}")
        modes = list(mode) if isinstance(mode, (list, tuple)) else None
        if modes is None:
            raise TuneError(f"{owner}: mode must be a list of 'min'/'max' for metric={metrics!r}, "
                            f"but got mode={mode!r}")
        if len(modes) != len(metrics):
            raise TuneError(f"{owner}: metric and mode must have the same length, but got {len(metrics)} metrics "
                            f"{metrics!r} and {len(modes)} modes {modes!r}")
        bad = [m for m in modes if m not in MODES]
        if bad:
            raise TuneError(f"{owner}: each mode must be 'min' or 'max', but got mode={modes!r}")
        return metrics, modes
    if metric is not None:
        _check_key(metric, "metric", owner)
    if isinstance(mode, (list, tuple)):
        modes = list(mode)
        if partial and metric is None and modes and all(m in MODES for m in modes):
            return None, modes
        raise TuneError(f"{owner}: mode={list(mode)!r} is a list, so metric must be a list of as many result keys; "
                        f"got metric={metric!r}")
    if mode is not None and mode not in MODES:
        raise TuneError(f"{owner}: mode must be 'min' or 'max' (or None), but got mode={mode!r}")
    return metric, mode


def check_constraints(constraints: Any, metric: Any = None, owner: str = "run_experiments") -> Optional[list[str]]:
    """``constraints`` as a list of distinct result keys (a single key is a list of one), or None.

    A trial is feasible when every one of them is a number ``<= 0`` in its result.
    """
    if constraints is None:
        return None
    names = [constraints] if isinstance(constraints, str) else constraints
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(c, str) and c for c in names):
        raise TuneError(f"{owner}: constraints must be a result key or a list of them (each feasible when <= 0), "
                        f"e.g. constraints=['memory_over'], but got constraints={constraints!r}")
    keys = list(names)
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise TuneError(f"{owner}: constraints={keys!r} names {twice[0]!r} twice")
    metrics = set(metric if is_metric_list(metric) else [metric] if metric else [])
    both = [k for k in keys if k in metrics]
    if both:
        raise TuneError(f"{owner}: {both[0]!r} is both an objective and a constraint; a constraint is a separate "
                        "result key that must be <= 0 (e.g. report latency_over=latency - 0.1)")
    return keys


def multi_objective_components() -> str:
    """The registered schedulers and searchers that accept a list of metrics, as one sentence."""
    parts = []
    try:
        from tunecore.plugins import get_plugin_manager

        pm = get_plugin_manager()
        for kind, registry in (("schedulers", pm.schedulers), ("searchers", pm.searchers)):
            names = sorted(name for name, factory in registry.items()
                           if getattr(factory, "multi_objective", False) is True)
            if names:
                parts.append(f"{kind} {', '.join(names)}")
    except Exception:  # the message must never fail; the registries are a courtesy
        parts = []
    known = "; ".join(parts) if parts else "the FIFO scheduler and the variant generator"
    return f"{known} (and ResultGrid/Analysis.get_pareto_front for the results)"


def refuse_metric_list(owner: str, metric: Any) -> None:
    """Raise when a single-objective ``owner`` is given a list of metrics."""
    if is_metric_list(metric):
        raise TuneError(
            f"{owner} optimises one metric, but got metric={list(metric)!r}. Give it one metric of its own "
            f"(e.g. metric={list(metric)[0]!r}), or use a component that accepts a list of metrics: "
            f"{multi_objective_components()}.")


@dataclass(frozen=True)
class Objective:
    """The checked objective of a run, as saved in ``experiment_state.json`` (``"objective"``)."""

    metric: Any = None
    mode: Any = None
    constraints: Optional[tuple[str, ...]] = None

    @classmethod
    def of(cls, metric: Any, mode: Any, constraints: Any = None, owner: str = "run_experiments") -> Objective:
        metric, mode = check_objective(metric, mode, owner)
        keys = check_constraints(constraints, metric, owner)
        return cls(metric, mode, tuple(keys) if keys else None)

    @property
    def multi(self) -> bool:
        return is_metric_list(self.metric)

    def to_json(self) -> Optional[dict]:
        if self.metric is None and self.mode is None and not self.constraints:
            return None
        return {"metric": self.metric, "mode": self.mode,
                "constraints": list(self.constraints) if self.constraints else None}

    @classmethod
    def from_json(cls, data: Any) -> Objective:
        """The saved objective; anything unreadable is no objective (a reader never fails on it)."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls.of(data.get("metric"), data.get("mode"), data.get("constraints"))
        except TuneError:
            return cls()
