"""Stoppers: Ray Tune 2.x's ``tune.stopper``, deciding when a trial, or the whole experiment, ends.

Pass one as ``RunConfig(stop=...)`` (or ``Experiment(stop=...)``). The runner calls the stopper as
``stopper(trial_id, result)`` on each result (True stops that trial), then ``stopper.stop_all()``
(True ends the experiment: every unfinished trial is stopped and no new one starts). The
runner shares one stopper between all of an experiment's trials, so per-trial state is kept
by trial id.

Metric values: a number (Python or numpy, a 0-d array) counts; a result without the metric, or
with a value that is not a finite number (None, NaN, inf, a string), never stops anything and
never raises. What each stopper does with such a result is in its docs.

Every stopper pickles with its state (it travels in the experiment state for a resume).
"""

from __future__ import annotations

import abc
import datetime
import math
import numbers
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Optional, Union

import numpy as np

from tunecore.errors import TuneError
from tunecore.objective import refuse_metric_list
from tunecore.result import TRAINING_ITERATION
from tunecore.util import as_float

__all__ = ["CombinedStopper", "ExperimentPlateauStopper", "FunctionStopper", "MaximumIterationStopper",
           "NoopStopper", "Stopper", "TimeoutStopper", "TrialPlateauStopper", "as_stopper"]


def _clock() -> float:
    """Seconds on a monotonic clock (TimeoutStopper's; tests replace it)."""
    return time.monotonic()


def _finite(value: Any) -> Optional[float]:
    """``value`` as a float if it is a finite real number, else None."""
    number = as_float(value)
    return number if number is not None and math.isfinite(number) else None


def _std(values: Any) -> float:
    """The population standard deviation of finite ``values`` (inf if it overflows, without a warning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        std = float(np.std(np.asarray(values, dtype=float)))
    return std if not math.isnan(std) else math.inf


def _check_metric(owner: str, metric: Any) -> str:
    refuse_metric_list(owner, metric)
    if not isinstance(metric, str) or not metric:
        raise TuneError(f"{owner} needs metric, the name of a result key (a non-empty str), but got "
                        f"metric={metric!r}")
    return metric


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise TuneError(f"{owner} needs {name}, an int >= {minimum}, but got {name}={value!r}")
    return int(value)


def _check_std(owner: str, std: Any) -> float:
    number = as_float(std)
    if number is None or not number > 0:  # NaN is not > 0
        raise TuneError(f"{owner} needs std, a number > 0 (the standard deviation below which the metric has "
                        f"plateaued), but got std={std!r}")
    return number


def _check_mode(owner: str, mode: Any, optional: bool) -> Optional[str]:
    if (isinstance(mode, str) and mode in ("min", "max")) or (optional and mode is None):
        return mode
    choices = "'min', 'max' or None" if optional else "'min' or 'max'"
    raise TuneError(f"{owner} needs mode={choices} (whether lower or higher values of the metric are better), "
                    f"but got mode={mode!r}")


class Stopper(abc.ABC):
    """Base class of stoppers: implement :meth:`__call__` (one trial) and :meth:`stop_all` (all).

    Example::

        class TimeStopper(Stopper):
            def __init__(self, seconds):
                self.deadline = time.monotonic() + seconds

            def __call__(self, trial_id, result):
                return False

            def stop_all(self):
                return time.monotonic() > self.deadline
    """

    @abc.abstractmethod
    def __call__(self, trial_id: str, result: dict) -> bool:
        """True if the trial that reported ``result`` should stop."""

    @abc.abstractmethod
    def stop_all(self) -> bool:
        """True if the whole experiment should end."""


class NoopStopper(Stopper):
    """Stops nothing."""

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return False


class MaximumIterationStopper(Stopper):
    """Stops a trial once its ``training_iteration`` reaches ``max_iter``.

    Ray Tune counts the results it was shown; this stopper reads the result's
    ``training_iteration`` instead, so a trial restored from a checkpoint (or exploited by
    PBT) stops at the same iteration as one that ran straight through. A result without a
    numeric ``training_iteration`` does not stop the trial (the runner always sets it).

    Args:
        max_iter: the last iteration a trial runs, an int >= 1.
    """

    def __init__(self, max_iter: int) -> None:
        self._max_iter = _check_int("MaximumIterationStopper", "max_iter", max_iter, 1)

    def __call__(self, trial_id: str, result: dict) -> bool:
        iteration = as_float(result.get(TRAINING_ITERATION))
        return iteration is not None and iteration >= self._max_iter

    def stop_all(self) -> bool:
        return False


class TrialPlateauStopper(Stopper):
    """Stops a trial whose metric has plateaued: the std of its last values is below ``std``.

    A trial stops on a result when it has reported at least ``grace_period`` results, its last
    ``num_results`` values are all finite numbers whose (population) standard deviation is
    ``< std``, and, if ``metric_threshold`` is given, this result's value is at or past it
    (``<=`` for ``mode="min"``, ``>=`` for ``mode="max"``).

    As in Ray Tune, a result without a finite value of ``metric`` (missing, None, NaN, inf)
    still counts towards ``grace_period`` and takes a place in the window; the trial cannot
    stop until that place has left the window (``num_results`` results later).

    Args:
        metric: the result key to watch.
        std: stop when the standard deviation of the window is below this (> 0).
        num_results: the window: how many of the latest values the std is taken over (>= 1).
        grace_period: results a trial reports before it may be stopped (>= 0).
        metric_threshold: if given, stop only trials whose value got this good.
        mode: ``"min"`` or ``"max"``; needed with ``metric_threshold``.
    """

    def __init__(self, metric: str, std: float = 0.01, num_results: int = 4, grace_period: int = 4,
                 metric_threshold: Optional[float] = None, mode: Optional[str] = None) -> None:
        owner = "TrialPlateauStopper"
        self._metric = _check_metric(owner, metric)
        self._std = _check_std(owner, std)
        self._num_results = _check_int(owner, "num_results", num_results, 1)
        self._grace_period = _check_int(owner, "grace_period", grace_period, 0)
        self._mode = _check_mode(owner, mode, optional=True)
        self._metric_threshold: Optional[float] = None
        if metric_threshold is not None:
            self._metric_threshold = _finite(metric_threshold)
            if self._metric_threshold is None:
                raise TuneError(f"{owner} needs metric_threshold, a finite number or None, but got "
                                f"metric_threshold={metric_threshold!r}")
            if self._mode is None:
                raise TuneError(f"{owner}: metric_threshold={metric_threshold!r} needs mode='min' (stop only "
                                "at or below it) or mode='max' (stop only at or above it); pass mode=")
        self._iter: dict[str, int] = {}
        self._trial_results: dict[str, deque] = {}

    def __call__(self, trial_id: str, result: dict) -> bool:
        value = _finite(result.get(self._metric))
        window = self._trial_results.setdefault(trial_id, deque(maxlen=self._num_results))
        window.append(value)
        self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        if self._iter[trial_id] < self._grace_period or len(window) < self._num_results:
            return False
        if value is None or any(v is None for v in window):
            return False
        if self._metric_threshold is not None:
            if self._mode == "min" and value > self._metric_threshold:
                return False
            if self._mode == "max" and value < self._metric_threshold:
                return False
        return _std(window) < self._std

    def stop_all(self) -> bool:
        return False


class ExperimentPlateauStopper(Stopper):
    """Ends the experiment when the best values of the metric, over all trials, have plateaued.

    Every result's value goes into the ``top`` best values seen (lowest for ``mode="min"``,
    highest for ``"max"``; several may come from one trial). The top has plateaued when it is
    full and its (population) standard deviation is ``<= std``. As in Ray Tune, each result
    counts the plateaued results in a row (reset by one that is not), and the experiment
    ends, and the reporting trial stops, once the top has plateaued and the count is
    ``>= patience``: ``patience=0`` and ``patience=1`` both stop on the first plateaued result.

    A result without a finite value of ``metric`` (missing, None, NaN, inf) is skipped: it
    changes neither the top nor the count. (Ray Tune raises ``KeyError`` on a missing one.)

    Args:
        metric: the result key to watch.
        std: the top has plateaued when its standard deviation is at most this (> 0).
        top: how many of the best values to consider (an int >= 2).
        mode: ``"min"`` or ``"max"``.
        patience: plateaued results in a row needed to end the experiment (>= 0).
    """

    def __init__(self, metric: str, std: float = 0.001, top: int = 10, mode: str = "min",
                 patience: int = 0) -> None:
        owner = "ExperimentPlateauStopper"
        self._metric = _check_metric(owner, metric)
        self._std = _check_std(owner, std)
        self._top = _check_int(owner, "top", top, 2)
        self._mode = _check_mode(owner, mode, optional=False)
        self._patience = _check_int(owner, "patience", patience, 0)
        self._top_values: list[float] = []
        self._iterations = 0

    def __call__(self, trial_id: str, result: dict) -> bool:
        value = _finite(result.get(self._metric))
        if value is None:
            return self.stop_all()
        values = sorted([*self._top_values, value])
        self._top_values = values[:self._top] if self._mode == "min" else values[-self._top:]
        self._iterations = self._iterations + 1 if self.has_plateaued() else 0
        return self.stop_all()

    def has_plateaued(self) -> bool:
        """True if the top is full and its standard deviation is at most ``std``."""
        return len(self._top_values) == self._top and _std(self._top_values) <= self._std

    def stop_all(self) -> bool:
        return self.has_plateaued() and self._iterations >= self._patience


class TimeoutStopper(Stopper):
    """Ends the experiment once it has run for ``timeout``.

    As in Ray Tune, the clock starts at the first :meth:`stop_all` (so setting up does not
    count) and what it measures is a budget of running time: a pickled stopper carries the
    budget left at pickling, and after a restore its clock starts again at the next
    :meth:`stop_all`, so the time the experiment was not running is not counted. (Unlike Ray
    Tune, the time since the last check is charged when pickling, not lost.) Time is
    measured on a monotonic clock, which wall-clock changes do not move.

    Args:
        timeout: seconds (a number > 0) or a ``datetime.timedelta``.
    """

    def __init__(self, timeout: Union[int, float, datetime.timedelta]) -> None:
        seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else as_float(timeout)
        if seconds is None or not seconds > 0:
            raise TuneError(f"TimeoutStopper needs timeout, a number of seconds > 0 or a datetime.timedelta, "
                            f"but got timeout={timeout!r}")
        self._timeout_seconds = seconds
        self._budget = seconds
        self._last_check: Optional[float] = None

    def _charge(self) -> float:
        """Take the time since the last check from the budget; return the budget left."""
        now = _clock()
        if self._last_check is not None:
            self._budget -= now - self._last_check
        self._last_check = now
        return self._budget

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self._charge() <= 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self._last_check is not None:
            state["_budget"] = self._budget - (_clock() - self._last_check)
        state["_last_check"] = None  # another process's clock: restart at the next check
        return state


class CombinedStopper(Stopper):
    """Stops a trial (or the experiment) when any of the stoppers does.

    Every stopper is asked about every result, also after one said stop (Ray Tune stops
    asking at the first), so stateful stoppers such as :class:`TrialPlateauStopper` see
    each result.

    Args:
        *stoppers: Stoppers; a plain function ``(trial_id, result) -> bool`` is wrapped in a
            :class:`FunctionStopper`.
    """

    def __init__(self, *stoppers: Union[Stopper, Callable[[str, dict], bool]]) -> None:
        for i, stopper in enumerate(stoppers):
            if not callable(stopper):
                raise TuneError(f"CombinedStopper takes Stoppers (or functions (trial_id, result) -> bool), but "
                                f"argument {i} is {stopper!r}. A dict of thresholds is not a stopper: pass "
                                "stop={key: threshold} on its own, or wrap it in a FunctionStopper.")
        self._stoppers = tuple(as_stopper(s) for s in stoppers)

    def __call__(self, trial_id: str, result: dict) -> bool:
        return any([bool(s(trial_id, result)) for s in self._stoppers])

    def stop_all(self) -> bool:
        return any([bool(s.stop_all()) for s in self._stoppers])


class FunctionStopper(Stopper):
    """A function ``(trial_id, result) -> bool`` as a stopper (its :meth:`stop_all` is False).

    Args:
        function: called with each result; True stops the trial.
    """

    def __init__(self, function: Callable[[str, dict], bool]) -> None:
        if not self.is_valid_function(function):
            raise TuneError(f"FunctionStopper needs a function (trial_id, result) -> bool, but got {function!r}. "
                            "A Stopper is a stopper already: pass it as it is.")
        self.function = function

    def __call__(self, trial_id: str, result: dict) -> bool:
        return bool(self.function(trial_id, result))

    def stop_all(self) -> bool:
        return False

    @classmethod
    def is_valid_function(cls, fn: Any) -> bool:
        """True for a callable that is not a Stopper.

        Raises:
            TuneError: ``fn`` has a ``stop_all`` but is no Stopper (its ``stop_all`` would
                never be called).
        """
        is_function = callable(fn) and not isinstance(fn, Stopper)
        if is_function and hasattr(fn, "stop_all"):
            raise TuneError(f"{fn!r} has a stop_all method but is not a tunecore.stopper.Stopper, so stop_all "
                            "would never be called; subclass tunecore.stopper.Stopper.")
        return is_function


def as_stopper(obj: Any) -> Stopper:
    """``obj`` as a Stopper: a Stopper as it is, a function in a :class:`FunctionStopper`,
    None as a :class:`NoopStopper`.

    Raises:
        TuneError: ``obj`` is anything else (a ``{key: threshold}`` dict is not a stopper: the
            trial compares it itself), or has a ``stop_all`` without being a Stopper.
    """
    if isinstance(obj, Stopper):
        return obj
    if obj is None:
        return NoopStopper()
    if callable(obj) and not isinstance(obj, dict):
        return FunctionStopper(obj)
    raise TuneError(f"A stopper must be a tunecore.stopper.Stopper or a function (trial_id, result) -> bool, "
                    f"but got {obj!r}")
