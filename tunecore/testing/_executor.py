"""An executor that runs trials in the driver process, for tests of the runner without Ray.

:class:`InProcessExecutor` keeps the :class:`tunecore.execution.executor.TrialExecutor`
contract with the same worker body the Ray actors run
(:class:`tunecore.execution.worker._Worker`) and the same resource ledger
(:class:`tunecore.execution.ledger.ResourceLedger`), so a test of the
:class:`~tunecore.execution.runner.TrialRunner` drives real trainables, real checkpoints and real
files, deterministically and in seconds::

    runner = TrialRunner(search_alg, scheduler, trial_executor=InProcessExecutor(cpus=2), verbose=0)
    while not runner.is_finished():
        runner.step()
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.execution.executor import WaitItem
from tunecore.execution.ledger import ClusterResources, ResourceLedger
from tunecore.execution.trial import Checkpoint, Trial
from tunecore.execution.worker import _Worker, trial_info


@dataclass
class _Hosted:
    trial: Trial
    worker: _Worker
    fetch_queued: bool = True  # start_trial queues the first fetch, continue_training the next


class InProcessExecutor(ResourceLedger):
    """Runs each trial's trainable in this process, one fetch at a time, in a fixed order.

    A cluster of ``cpus`` CPUs and ``gpus`` GPUs admits trials like Ray's executor does
    (extras included, ``queue_trials`` the same). Each trial gets its own worker, which
    leaves this process's environment alone (no ``CUDA_VISIBLE_DEVICES``, no change of
    working directory) and never touches Ray.

    Checkpoints: memory ones hold the bytes of ``Trainable.save_to_object`` (where Ray's
    hold an ObjectRef to them), disk ones the folder the trainable saved into. Failures
    come back through :meth:`wait` as with Ray: what the trainable raised, or
    ``TrialError: Trial failed to start: ...`` when its setup or restore failed.

    Deterministic: each :meth:`wait` runs one fetch, of the trial with a fetch queued that
    was served least recently (those never served in the order they started), so trials
    take turns. The fetch runs to its end, whatever the timeout (a function trainable's
    fetch blocks until it reports).

    Args:
        cpus, gpus: the size of the fake cluster.
        queue_trials: as for :class:`tunecore.execution.ray_executor.RayTrialExecutor`.
    """

    def __init__(self, cpus: float = 1, gpus: float = 0, queue_trials: bool = False) -> None:
        super().__init__(queue_trials)
        self._cluster = ClusterResources(float(cpus), float(gpus))
        self._hosted: dict[str, _Hosted] = {}
        #: trial ids in the order their next fetch is due: served from the front, then sent to the back
        self._turns: list[str] = []
        self.driver_host = socket.gethostname()

    # -- the ledger ----------------------------------------------------------------------
    def refresh_cluster(self, force: bool = False) -> None:
        """The fake cluster keeps the size it was given."""

    # -- trials --------------------------------------------------------------------------
    def get_running_trials(self) -> list[Trial]:
        return [h.trial for h in self._hosted.values()]

    def is_running(self, trial: Trial) -> bool:
        return trial.trial_id in self._hosted

    def start_trial(self, trial: Trial, checkpoint: Optional[Checkpoint] = None) -> None:
        """Set the trainable up (and restore it) now; a failure waits for the first fetch."""
        from tunecore.trainables.registry import get_trainable_cls

        cls = get_trainable_cls(trial.trainable_name)
        ckpt = checkpoint or (trial.checkpoint if trial.has_checkpoint() else None)
        restore = (ckpt.storage, ckpt.value) if ckpt is not None else (None, None)
        self._commit(trial.resources, +1)
        worker = _Worker(own_process=False)
        self._hosted[trial.trial_id] = _Hosted(trial, worker)
        self._turns.append(trial.trial_id)
        try:
            worker.setup(cls, trial.config, trial.logdir or "", trial.trial_id, restore_kind=restore[0],
                         restore_value=restore[1], trial_info=trial_info(trial, None))
        except Exception:  # the worker keeps it: its first fetch raises "Trial failed to start"
            pass

    def continue_training(self, trial: Trial) -> None:
        self._hosted[trial.trial_id].fetch_queued = True

    def wait(self, timeout: float) -> list[WaitItem]:
        """The next fetch: ``[(trial, (results, finished), None)]`` or ``[(trial, None, error)]``;
        ``[]`` when no trial has a fetch queued."""
        due = next((trial_id for trial_id in self._turns if self._hosted[trial_id].fetch_queued), None)
        if due is None:
            return []
        self._turns.remove(due)
        self._turns.append(due)
        hosted = self._hosted[due]
        hosted.fetch_queued = False
        try:
            payload = hosted.worker.fetch()
        except Exception as exc:  # the trainable raised, or it failed to start
            return [(hosted.trial, None, exc)]
        return [(hosted.trial, payload, None)]

    def save(self, trial: Trial, storage: str = Checkpoint.DISK) -> Checkpoint:
        worker = self._hosted[trial.trial_id].worker
        iteration = (trial.last_result or {}).get(R.TRAINING_ITERATION, 0)
        if storage == Checkpoint.MEMORY:
            return Checkpoint(Checkpoint.MEMORY, worker.save_to_object(), iteration)
        return Checkpoint(Checkpoint.DISK, worker.save(), iteration)

    def pack(self, checkpoint: Checkpoint) -> Checkpoint:
        from tunecore.trainables.folders import pack_directory

        return Checkpoint(Checkpoint.MEMORY, pack_directory(checkpoint.value), checkpoint.iteration)

    def exploit(self, trial: Trial, checkpoint: Checkpoint) -> bool:
        from tunecore.trainables.registry import get_trainable_cls

        if checkpoint.storage != Checkpoint.MEMORY:
            raise TuneError("exploit_trial needs a memory checkpoint from save_trial()")
        worker = self._hosted[trial.trial_id].worker
        return worker.exploit(get_trainable_cls(trial.trainable_name), checkpoint.value, trial.config,
                              trial.logdir or "", trial.trial_id)

    def _release(self, trial: Trial) -> Optional[_Hosted]:
        hosted = self._hosted.pop(trial.trial_id, None)
        if hosted is not None:
            self._turns.remove(trial.trial_id)
            self._commit(trial.resources, -1)
        return hosted

    def stop_trial(self, trial: Trial, reusable: bool = True) -> None:
        """Stop the trainable (``Trainable.stop``); like a Ray worker's, whatever it raises is ignored."""
        hosted = self._release(trial)
        if hosted is not None:
            try:
                hosted.worker.stop()
            except Exception:
                pass

    def kill_trial(self, trial: Trial) -> None:
        """Drop the trial's worker without calling its trainable."""
        self._release(trial)

    def cleanup(self) -> None:
        for trial in self.get_running_trials():
            self.stop_trial(trial)
        self._committed = ClusterResources()
