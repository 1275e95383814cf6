"""The status table, refreshed in place on a terminal, plain lines when piped."""

from __future__ import annotations

import collections
import math
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional, TextIO

import yaml

from tunecore import result as R
from tunecore.execution.trial import Trial
from tunecore.util import as_float, from_jsonable, is_number, to_jsonable

#: Metrics tried, in order, to name the best trial when the run gave no metric.
DEFAULT_METRICS = ((R.EPISODE_REWARD_MEAN, "max"), (R.MEAN_ACCURACY, "max"), (R.MEAN_LOSS, "min"),
                   (R.NEG_MEAN_LOSS, "max"))


def pick_metric(trials: list[Trial], metric: Any, mode: Any) -> tuple[Any, Any]:
    """The run's metric and mode (lists for several objectives), else a common metric found in the results."""
    if isinstance(metric, list):
        return metric, mode
    if metric:
        return metric, mode or "max"
    for name, default_mode in DEFAULT_METRICS:
        if any(t.last_result and is_number(t.last_result.get(name)) for t in trials):
            return name, default_mode
    return None, "max"


def best_trial(trials: list[Trial], metric: Optional[str], mode: str,
               constraints: Optional[Sequence[str]] = None) -> Optional[Trial]:
    """The trial with the best last ``metric`` among the feasible ones (NaN never wins)."""
    from tunecore.pareto import is_feasible

    best, best_value = None, None
    for t in trials:
        if constraints and not is_feasible(t.last_result or {}, constraints):
            continue
        value = as_float((t.last_result or {}).get(metric)) if metric else None
        if value is None or math.isnan(value):
            continue
        if best_value is None or (value > best_value if mode == "max" else value < best_value):
            best, best_value = t, value
    return best


def _sort_key(trial: Trial) -> list:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", trial.experiment_tag)]


def status_table(trials: list[Trial], scheduler_line: str, resources_line: Optional[str],
                 logdirs: list[str], max_rows: Optional[int] = 20, driver_host: Optional[str] = None) -> str:
    """The ``== Status ==`` block; at most ``max_rows`` trials, shared fairly by state."""
    lines = ["== Status ==", scheduler_line]
    if resources_line:
        lines.append(resources_line)
    lines.extend(f"Result logdir: {d}" for d in logdirs)
    by_state: dict[str, list[Trial]] = collections.defaultdict(list)
    for t in trials:
        by_state[t.status.value].append(t)
    counts = ", ".join(f"{s}: {len(by_state[s])}" for s in sorted(by_state))
    lines.append(f"Number of trials: {len(trials)} ({counts})")
    budget = {s: 0 for s in by_state}
    if max_rows is None:
        budget = {s: len(v) for s, v in by_state.items()}
    else:
        left = max_rows
        while left > 0 and any(budget[s] < len(by_state[s]) for s in by_state):
            for s in sorted(by_state):
                if left > 0 and budget[s] < len(by_state[s]):
                    budget[s] += 1
                    left -= 1
    for state in sorted(by_state):
        group = sorted(by_state[state], key=_sort_key)
        lines.append(f"{state} trials:")
        shown = budget[state]
        if shown < len(group):
            head = group[: (shown + 1) // 2]
            tail = group[len(group) - shown // 2:] if shown // 2 else []
            for t in head:
                lines.append(f" - {t}:\t{t.progress_string(driver_host)}")
            lines.append(f"  ... {len(group) - shown} more not shown")
            for t in tail:
                lines.append(f" - {t}:\t{t.progress_string(driver_host)}")
        else:
            for t in group:
                lines.append(f" - {t}:\t{t.progress_string(driver_host)}")
    return "\n".join(lines)


class StatusView:
    """What the status table shows, handed to a printer's ``table``: call it (or ``str`` it) for the
    text; a printer that draws its own table (the notebook's HTML) reads the fields.

    Attributes:
        trials: every trial, in creation order.
        scheduler_line: the scheduler's ``debug_string()``.
        resources_line: the cluster's use (None when unknown).
        logdirs: the experiment folders.
        max_rows: at most this many trial rows (None: all).
        driver_host: the driver's host name (a trial on it shows no host).
        metric, mode: the run's objective (None when not given).
    """

    def __init__(self, trials: list[Trial], scheduler_line: str, resources_line: Optional[str],
                 logdirs: list[str], max_rows: Optional[int] = 20, driver_host: Optional[str] = None,
                 metric: Optional[str] = None, mode: Optional[str] = None) -> None:
        self.trials, self.scheduler_line, self.resources_line = trials, scheduler_line, resources_line
        self.logdirs, self.max_rows, self.driver_host = logdirs, max_rows, driver_host
        self.metric, self.mode = metric, mode

    def __call__(self) -> str:
        return status_table(self.trials, self.scheduler_line, self.resources_line, self.logdirs, self.max_rows,
                            self.driver_host)

    __str__ = __call__


def format_result(trial: Trial, result: dict) -> str:
    """``Result for <trial>:`` and the result as block YAML, without config and None values.

    Any value prints: numpy values as numbers, arrays as lists, NaN/inf as ``.nan``/``.inf``,
    other objects as their ``str``.
    """
    shown = {k: v for k, v in result.items() if k != "config" and v is not None}
    body = yaml.safe_dump(from_jsonable(to_jsonable(shown)), default_flow_style=False, sort_keys=True,
                          allow_unicode=True)
    return f"Result for {trial}:\n" + "".join(f"  {line}\n" for line in body.splitlines())


class ProgressPrinter:
    """Prints the status table every ``interval`` seconds and result dumps when verbose."""

    def __init__(self, verbose: int = 2, interval: float = 5.0, out: Optional[TextIO] = None) -> None:
        self.verbose = verbose
        self.interval = interval
        self.out = out or sys.stdout
        self._last = 0.0
        self._last_result_print: dict[str, float] = {}
        self._tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._lines_drawn = 0

    def _write(self, text: str, in_place: bool) -> None:
        if in_place and self._tty and self._lines_drawn:
            self.out.write(f"\x1b[{self._lines_drawn}F\x1b[J")
        self.out.write(text + "\n")
        self.out.flush()
        self._lines_drawn = text.count("\n") + 1 if in_place and self._tty else 0

    def table(self, text: Any, force: bool = False, in_place: bool = True) -> None:
        """Print ``text`` (a str, or a callable making it, called only when due)."""
        if self.verbose <= 0:
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._write(text() if callable(text) else text, in_place)
            self._last = now

    def result(self, trial: Trial, result: dict) -> None:
        if self.verbose < 2:
            return
        now = time.monotonic()
        if result.get(R.DONE) or now - self._last_result_print.get(trial.trial_id, 0) >= self.interval:
            self._last_result_print[trial.trial_id] = now
            self._lines_drawn = 0
            self.out.write(format_result(trial, result))
            self.out.flush()


    def summary(self, text: str) -> None:
        """The closing summary of a run (printed at every verbosity)."""
        self._lines_drawn = 0
        self.out.write(text + "\n")
        self.out.flush()


def summary_text(trials: list[Trial], metric: Any, mode: Any, constraints: Optional[Sequence[str]] = None) -> str:
    """The closing lines of a run: counts by state and the best trial (the Pareto front for several
    objectives), among the feasible trials."""
    import json

    metric, mode = pick_metric(trials, metric, mode)
    counts = collections.Counter(t.status.value for t in trials)
    lines = [f"Finished {len(trials)} trials: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))]
    if isinstance(metric, list):
        from tunecore.pareto import pareto_trials

        front = pareto_trials(trials, metric, mode, constraints)
        objectives = ", ".join(f"{m} {o}" for m, o in zip(metric, mode))
        names = ", ".join(str(t) for t in front[:10]) + (f" and {len(front) - 10} more" if len(front) > 10 else "")
        lines.append(f"Pareto front ({objectives}): {len(front)} of {len(trials)} trials"
                     + (f": {names}" if front else ""))
        return "\n".join(lines)
    best = best_trial(trials, metric, mode, constraints) if metric else None
    if best is not None and best.last_result is not None:
        lines.append(f"Best trial: {best} with {metric}={as_float(best.last_result[metric]):.6g} ({mode}) "
                     f"config={json.dumps(best.config, default=str, sort_keys=True)}")
        lines.append(f"Best trial logdir: {best.logdir}")
    return "\n".join(lines)
