"""Median stopping: stop a trial whose best result is below the median of completed trials."""

from __future__ import annotations

import collections
from typing import Optional

import numpy as np

from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.schedulers._base import Decision, SchedulerContext, TrialScheduler


class MedianStoppingRule(TrialScheduler):
    """The median stopping rule (Golovin et al. 2017, Google Vizier).

    A trial is stopped at time ``t`` when its best score so far is below the median,
    over completed trials, of each one's running-average score up to ``t``, and
    ``t > grace_period``. With ``hard_stop=False`` it is paused instead and resumes
    when nothing else is pending.

    Args:
        time_attr: the result key measuring progress.
        metric, mode: what to compare (``reward_attr`` is the 2018 Tune's name, maximised).
        grace_period: no stopping at or before this time.
        min_samples_required: completed trials needed before any stopping.
        hard_stop: STOP (True) or PAUSE (False) the losers.
        verbose: print each comparison.
    """

    def __init__(self, time_attr: str = "time_total_s", reward_attr: Optional[str] = None,
                 grace_period: float = 60.0, min_samples_required: int = 3, hard_stop: bool = True,
                 verbose: bool = True, metric: Optional[str] = None, mode: Optional[str] = None) -> None:
        if grace_period < 0:
            raise TuneError(f"grace_period must be >= 0, but got grace_period={grace_period}")
        if not isinstance(min_samples_required, int) or min_samples_required < 1:
            raise TuneError(
                f"min_samples_required must be an int >= 1, but got min_samples_required={min_samples_required!r}"
            )
        self._init_metric(metric, mode, reward_attr)
        self._metric_given = metric is not None or reward_attr is not None
        self.requires_checkpointing = not hard_stop
        self._time_attr = time_attr
        self._grace_period = grace_period
        self._min_samples_required = min_samples_required
        self._hard_stop = hard_stop
        self._verbose = verbose
        self._results: dict[str, list] = collections.defaultdict(list)  # trial_id -> [(t, score)]
        self._completed: set = set()
        self._stopped: set = set()

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        if trial.trial_id in self._stopped:
            return Decision.CONTINUE  # paused earlier and resumed: let it finish
        t = result[self._time_attr]
        score = self.score(result)
        if score is None:
            return Decision.CONTINUE
        self._results[trial.trial_id].append((t, score))
        median = self._median_at(t)
        best = max(s for _, s in self._results[trial.trial_id])
        if self._verbose:
            print(f"Trial {trial} best res={best} vs median res={median} at t={t}")
        if best < median and t > self._grace_period:
            if self._verbose:
                print(f"MedianStoppingRule: early stopping {trial}")
            self._stopped.add(trial.trial_id)
            return Decision.STOP if self._hard_stop else Decision.PAUSE
        return Decision.CONTINUE

    def on_trial_complete(self, runner: SchedulerContext, trial: Trial, result: Optional[dict]) -> None:
        if result is not None:
            score = self.score(result)
            if score is not None and self._time_attr in result:
                self._results[trial.trial_id].append((result[self._time_attr], score))
        self._completed.add(trial.trial_id)

    def on_trial_remove(self, runner: SchedulerContext, trial: Trial) -> None:
        from tunecore.execution.trial import TrialStatus

        if trial.status == TrialStatus.PAUSED and self._results.get(trial.trial_id):
            self._completed.add(trial.trial_id)

    def _median_at(self, t: float) -> float:
        averages = []
        for trial_id in self._completed:
            scores = [s for (rt, s) in self._results.get(trial_id, ()) if rt <= t]
            if scores:
                with np.errstate(invalid="ignore"):  # +inf and -inf (a diverged trial) average to NaN
                    averages.append(float(np.mean(scores)))
        if len(self._completed) < self._min_samples_required or not averages:
            return float("-inf")
        return float(np.median(averages))

    def debug_string(self) -> str:
        return f"Using MedianStoppingRule: num_stopped={len(self._stopped)}."

    def save_state(self) -> dict:
        return {"results": dict(self._results), "completed": sorted(self._completed),
                "stopped": sorted(self._stopped)}

    def restore_state(self, state: dict) -> None:
        self._results = collections.defaultdict(list, {k: [tuple(x) for x in v] for k, v in state["results"].items()})
        self._completed, self._stopped = set(state["completed"]), set(state["stopped"])
