"""The body of a trial's worker: hosts one trainable at a time and calls only its public methods.

:class:`tunecore.execution.ray_executor.RayTrialExecutor` runs it as a Ray actor (one process, trials one
after another); :class:`tunecore.testing.InProcessExecutor` runs the very same body in the
driver process, with ``own_process=False``.
"""

from __future__ import annotations

import os
import socket
import traceback
from typing import Any, Optional

from tunecore.errors import TrialError
from tunecore.execution.trial import Checkpoint, Trial


def trial_info(trial: Trial, storage_node: Optional[str]) -> dict:
    """What a trainable is told of its trial (``tunecore.get_context()``) and where its storage is."""
    return {"trial_name": str(trial), "experiment_name": trial.experiment_name, "resources": trial.resources,
            "storage_node": storage_node, "checkpoint_index": trial.checkpoint_index + 1,
            "drop_unused_checkpoints": bool((trial.checkpoint_config or {}).get("num_to_keep"))}


class _Worker:
    """The body of every trial actor; one process can host trials one after another.

    Args:
        own_process: True (a Ray actor) when the worker is alone in its process, so it may
            change the process's environment: it hides the GPUs Ray did not assign to it
            (``CUDA_VISIBLE_DEVICES``) and works in the trial's folder (``os.chdir``). False
            for a worker hosted in the driver, which leaves both alone and never needs Ray.
    """

    def __init__(self, own_process: bool = True) -> None:
        self.trainable: Any = None
        self.trial_info: dict = {}
        self.setup_error: Optional[str] = None
        self.own_process = own_process
        if own_process:
            self._no_gpu_env()

    def _no_gpu_env(self) -> None:
        import ray

        if not ray.get_gpu_ids():
            os.environ["CUDA_VISIBLE_DEVICES"] = ""

    def setup(self, cls: type, config: dict, logdir: str, trial_id: str,
              restore_kind: Optional[str] = None, restore_value: Any = None,
              trial_info: Optional[dict] = None) -> dict:
        """Host a new trainable; ``restore_value`` (an ObjectRef for memory checkpoints)
        is a top-level argument so Ray resolves it to the bytes. ``trial_info``: the trial's
        name, experiment, resources and storage node (see :func:`trial_info`)."""
        self.trainable, self.setup_error = None, None
        self.trial_info = trial_info or {}
        try:
            os.makedirs(logdir, exist_ok=True)
            if self.own_process:
                os.chdir(logdir)
            self.trainable = cls(config=config, logdir=logdir, trial_id=trial_id, trial_info=self.trial_info)
            if restore_kind is not None:
                self._restore(restore_kind, restore_value)
        except BaseException as exc:  # reported by the fetch queued behind this call
            self.setup_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            raise
        return {"hostname": socket.gethostname(), "pid": os.getpid(),
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}

    def _restore(self, kind: str, value: Any) -> None:
        if kind == Checkpoint.MEMORY:
            self.trainable.restore_from_object(value)
        else:
            self.trainable.restore(value)

    def fetch(self) -> tuple[list, bool]:
        if self.setup_error is not None:
            raise TrialError(f"Trial failed to start: {self.setup_error}")
        if self.trainable is None:  # setup never ran: Ray could not even pass it its arguments
            raise TrialError(
                "Trial failed to start: the worker never set the trainable up, most likely because its arguments "
                "(the trainable class, its config or a checkpoint) could not be unpickled on the worker, e.g. a "
                "module the driver imports that the workers cannot (Ray's log above names it). Make the module "
                "importable on every node (install it, or put it on PYTHONPATH), or define the trainable in the "
                "driver script.")
        return self.trainable.train_results()

    def save(self) -> str:
        return self.trainable.save()

    def save_to_object(self) -> bytes:
        return self.trainable.save_to_object()

    def exploit(self, cls: type, blob: bytes, config: dict, logdir: str, trial_id: str) -> bool:
        """Continue from another trial's state with ``config``; True if done in place."""
        in_place = bool(self.trainable.reset_config(config))
        if in_place:
            self.trainable.config = config
        else:
            self.trainable.stop()
            self.trainable = cls(config=config, logdir=logdir, trial_id=trial_id, trial_info=self.trial_info)
        self.trainable.restore_from_object(blob)
        return in_place

    def stop(self) -> bool:
        """Stop the hosted trainable; True if this worker can host another trial."""
        reusable = True
        if self.trainable is not None:
            try:
                reusable = self.trainable.stop() is not False  # a user's stop() returning None is fine
            finally:
                self.trainable = None
        return reusable
