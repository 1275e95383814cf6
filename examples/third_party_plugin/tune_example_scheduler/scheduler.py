"""``NoImprovementStopper``: STOP a trial after ``patience`` results without a new best."""

from __future__ import annotations

from typing import Any, Optional

from tunecore import TuneError
from tunecore.schedulers import Decision, TrialScheduler


class NoImprovementStopper(TrialScheduler):
    """Stop each trial once ``patience`` consecutive results failed to beat its best.

    A result improves on the best when its score (``metric`` signed by ``mode``, larger
    is better) exceeds the best by more than ``min_delta``. Trials are judged on their
    own history only, so the rule needs no completed trials and never pauses.

    Args:
        patience: results without improvement after which the trial is stopped.
        metric: the result key to watch (default ``episode_reward_mean``).
        mode: ``"max"`` or ``"min"``.
        min_delta: how much better a result must be to count as an improvement.
        reward_attr: the 2018 Tune's name for ``metric`` (always maximised).
    """

    def __init__(self, patience: int = 5, metric: Optional[str] = None, mode: Optional[str] = None,
                 min_delta: float = 0.0, reward_attr: Optional[str] = None) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise TuneError(f"patience must be an int >= 1, but got patience={patience!r}")
        if min_delta < 0:
            raise TuneError(f"min_delta must be >= 0, but got min_delta={min_delta!r}")
        self._init_metric(metric, mode, reward_attr)
        self._metric_given = metric is not None or reward_attr is not None
        self.patience = patience
        self.min_delta = float(min_delta)
        self._best: dict[str, float] = {}
        self._stale: dict[str, int] = {}
        self._num_stopped = 0

    def on_trial_result(self, runner: Any, trial: Any, result: dict) -> Decision:
        score = self.score(result)
        if score is None:
            return Decision.CONTINUE
        best = self._best.get(trial.trial_id)
        if best is None or score > best + self.min_delta:
            self._best[trial.trial_id] = score
            self._stale[trial.trial_id] = 0
            return Decision.CONTINUE
        self._stale[trial.trial_id] = self._stale.get(trial.trial_id, 0) + 1
        if self._stale[trial.trial_id] >= self.patience:
            self._forget(trial)
            self._num_stopped += 1
            return Decision.STOP
        return Decision.CONTINUE

    def on_trial_complete(self, runner: Any, trial: Any, result: Optional[dict]) -> None:
        self._forget(trial)

    def on_trial_error(self, runner: Any, trial: Any) -> None:
        self._forget(trial)

    def on_trial_remove(self, runner: Any, trial: Any) -> None:
        self._forget(trial)

    def _forget(self, trial: Any) -> None:
        self._best.pop(trial.trial_id, None)
        self._stale.pop(trial.trial_id, None)

    def debug_string(self) -> str:
        return (f"Using NoImprovementStopper: patience={self.patience}, watching {self.metric} "
                f"({self.mode}), num_stopped={self._num_stopped}.")

    def save_state(self) -> dict:
        return {"best": dict(self._best), "stale": dict(self._stale), "num_stopped": self._num_stopped}

    def restore_state(self, state: dict) -> None:
        self._best = {k: float(v) for k, v in state["best"].items()}
        self._stale = {k: int(v) for k, v in state["stale"].items()}
        self._num_stopped = int(state["num_stopped"])
