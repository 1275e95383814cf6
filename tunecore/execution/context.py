"""The runner's side of ``SchedulerContext``: what a scheduler sees of the runner.

Belongs to the runner (:class:`tunecore.execution.runner.TrialRunner` makes one); requests are
queued through the runner's public :meth:`~tunecore.execution.runner.TrialRunner.queue_request` and
carried out by its loop once the scheduler's callback has returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from tunecore.execution.trial import Checkpoint, Trial

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.executor import TrialExecutor
    from tunecore.execution.runner import TrialRunner


class RunnerContext:
    """The scheduler's view of the runner (see ``SchedulerContext``): requests are queued."""

    def __init__(self, runner: TrialRunner) -> None:
        self._runner = runner

    def get_trials(self) -> list[Trial]:
        return self._runner.get_trials()

    def has_resources(self, resources: Any) -> bool:
        return self._runner.has_resources(resources)

    def stop_trial(self, trial: Trial) -> None:
        self._runner.queue_request("stop", trial)

    def unpause_trial(self, trial: Trial) -> None:
        self._runner.queue_request("unpause", trial)

    def save_trial(self, trial: Trial) -> Optional[Checkpoint]:
        return self._runner.save_to_memory(trial)

    def exploit_trial(self, trial: Trial, checkpoint: Checkpoint, config: dict,
                      experiment_tag: Optional[str] = None, record: Optional[dict] = None) -> None:
        self._runner.queue_request("exploit", trial, (checkpoint, config, experiment_tag, record))

    # seed-era access used by old schedulers
    @property
    def trial_executor(self) -> TrialExecutor:
        return self._runner.trial_executor
