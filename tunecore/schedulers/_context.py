"""The runner's side of ``SchedulerContext``: what schedulers see, and their queued requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from tunecore.trial import Checkpoint, Trial

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.runner import TrialRunner


class RunnerContext:
    """The scheduler's view of the runner (see ``SchedulerContext``): requests are queued."""

    def __init__(self, runner: "TrialRunner") -> None:
        self._runner = runner

    def get_trials(self) -> list[Trial]:
        return self._runner.get_trials()

    def has_resources(self, resources: Any) -> bool:
        return self._runner.has_resources(resources)

    def stop_trial(self, trial: Trial) -> None:
        self._runner._requests.append(("stop", trial, None))

    def unpause_trial(self, trial: Trial) -> None:
        self._runner._requests.append(("unpause", trial, None))

    def save_trial(self, trial: Trial) -> Checkpoint:
        return self._runner._save_memory(trial)

    def exploit_trial(self, trial: Trial, checkpoint: Checkpoint, config: dict,
                      experiment_tag: Optional[str] = None, record: Optional[dict] = None) -> None:
        self._runner._requests.append(("exploit", trial, (checkpoint, config, experiment_tag, record)))

    # seed-era access used by old schedulers
    @property
    def trial_executor(self) -> Any:
        return self._runner.trial_executor
