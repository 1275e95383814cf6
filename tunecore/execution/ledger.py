"""The resource ledger every executor keeps: what the cluster has, what running trials hold.

:class:`ResourceLedger` is the shared base of :class:`tunecore.execution.ray_executor.RayTrialExecutor`
(which reads the cluster's size from Ray) and :class:`tunecore.testing.InProcessExecutor`
(a fixed size given to it). It never needs Ray.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunecore._logging import get_logger
from tunecore.errors import TuneError
from tunecore.execution.trial import Resources, Trial
from tunecore.util import format_number

log = get_logger("tunecore.ledger")  # a stable name, whatever the module path


@dataclass
class ClusterResources:
    cpu: float = 0.0
    gpu: float = 0.0


class ResourceLedger:
    """Admission of trials against a cluster's CPUs and GPUs, extras included.

    Subclasses set ``_cluster`` (what the cluster has) and call :meth:`_commit` when a
    trial starts (``+1``) and when it releases its resources (``-1``).

    Attributes:
        queue_trials: admit a trial the cluster cannot fit now while some of each kind of
            resource it asks for is free (an autoscaling cluster may grow to fit it).
    """

    def __init__(self, queue_trials: bool = False) -> None:
        self.queue_trials = queue_trials
        self._committed = ClusterResources()
        self._cluster = ClusterResources()
        self._warned_queue = False

    def has_resources(self, resources: Resources) -> bool:
        free_cpu = self._cluster.cpu - self._committed.cpu
        free_gpu = self._cluster.gpu - self._committed.gpu
        eps = 1e-9
        if resources.cpu_total() <= free_cpu + eps and resources.gpu_total() <= free_gpu + eps:
            return True
        if self.queue_trials:
            if (resources.cpu_total() > 0 and free_cpu <= 0) or (resources.gpu_total() > 0 and free_gpu <= 0):
                return False
            if not self._warned_queue:
                log.warning("queue_trials=True: starting a trial the cluster cannot fit now; it waits "
                            "until the cluster grows (autoscaling).")
                self._warned_queue = True
            return True
        return False

    def fits_cluster(self, resources: Resources) -> bool:
        """Could this trial ever run on the cluster as it is now?"""
        return resources.cpu_total() <= self._cluster.cpu + 1e-9 and resources.gpu_total() <= self._cluster.gpu + 1e-9

    def refuse_unplaceable(self, trial: Trial) -> None:
        """Raise a TuneError saying how to fix it if ``trial`` can never run on this cluster.

        Never with ``queue_trials`` (an autoscaling cluster may grow to fit it).
        """
        if self.queue_trials or self.fits_cluster(trial.resources):
            return
        from tunecore.trainables.registry import get_trainable_cls

        helptext = ""
        try:
            helptext = get_trainable_cls(trial.trainable_name).resource_help(trial.config) or ""
        except Exception:
            pass
        c = self._cluster
        raise TuneError(
            f"Insufficient cluster resources to launch trial {trial}: it requests "
            f"{trial.resources.summary_string()} (including extras) but the cluster has "
            f"{c.cpu:g} CPUs, {c.gpu:g} GPUs. Lower trial_resources, join a bigger cluster with "
            f"address=..., or pass queue_trials=True on an autoscaling cluster. {helptext}".strip()
        )

    def resource_string(self) -> str:
        fmt = format_number
        return (f"Resources requested: {fmt(self._committed.cpu)}/{fmt(self._cluster.cpu)} CPUs, "
                f"{fmt(self._committed.gpu)}/{fmt(self._cluster.gpu)} GPUs")

    def _commit(self, r: Resources, sign: int) -> None:
        self._committed.cpu = max(0.0, self._committed.cpu + sign * r.cpu_total())
        self._committed.gpu = max(0.0, self._committed.gpu + sign * r.gpu_total())
