"""``TrialExecutor``: what the runner needs of whatever runs trials.

The :class:`~tunecore.execution.runner.TrialRunner` (and, through it, the scheduler context and
:class:`~tunecore.execution.lifecycle.ExperimentRun`) use an executor only through these
methods. Two implementations keep the contract: :class:`tunecore.execution.ray_executor.RayTrialExecutor`
(trials as Ray actors, the default) and :class:`tunecore.testing.InProcessExecutor` (trials
in the driver process, for tests of the runner without Ray).

Division of labour: the executor hosts trainables, keeps the resource ledger and hands back
what trainables produced or raised; it never changes a trial's status, location, checkpoint
or failure count. The runner does, from what the executor returns.
"""

from __future__ import annotations

from typing import Optional, Protocol, runtime_checkable

from tunecore.execution.trial import Checkpoint, Resources, Trial

#: One item of :meth:`TrialExecutor.wait`: ``(trial, (results, finished), None)`` when the
#: trial's trainable produced results, ``(trial, None, error)`` when it failed.
WaitItem = tuple[Trial, Optional[tuple[list[dict], bool]], Optional[BaseException]]


@runtime_checkable
class TrialExecutor(Protocol):
    """Runs trials' trainables within a resource ledger. Called from the runner's loop thread only.

    Attributes:
        driver_host: the driver's host name (the status table names the host of a trial
            only when it is another one).
        queue_trials: trials the cluster cannot fit yet are started anyway (an autoscaling
            cluster may grow); the runner then never declares the experiment stalled.
    """

    driver_host: str
    queue_trials: bool

    # -- the ledger ----------------------------------------------------------------------
    def refresh_cluster(self, force: bool = False) -> None:
        """Re-read what the cluster has (rate-limited; at once with ``force``)."""
        ...

    def has_resources(self, resources: Resources) -> bool:
        """True if a trial reserving ``resources`` (extras included) can start now, next to
        the trials already started."""
        ...

    def refuse_unplaceable(self, trial: Trial) -> None:
        """Raise a :class:`~tunecore.errors.TuneError` saying how to fix it if ``trial`` can
        never run on this cluster; return otherwise (always with ``queue_trials``)."""
        ...

    def resource_string(self) -> str:
        """The ledger for the status table: ``"Resources requested: 1/4 CPUs, 0/0 GPUs"``."""
        ...

    # -- trials --------------------------------------------------------------------------
    def get_running_trials(self) -> list[Trial]:
        """The trials started and not yet stopped or killed, in the order they started."""
        ...

    def is_running(self, trial: Trial) -> bool:
        """True between :meth:`start_trial` and :meth:`stop_trial` / :meth:`kill_trial`."""
        ...

    def start_trial(self, trial: Trial, checkpoint: Optional[Checkpoint] = None) -> None:
        """Reserve the trial's resources, host its trainable (``trial.config`` in
        ``trial.logdir``), restore ``checkpoint`` (default: the trial's own, if any) and
        queue its first fetch of results.

        Does not wait for the trainable: a failure to set it up or restore it comes back
        from :meth:`wait` as the trial's error (``TrialError: Trial failed to start: ...``).
        Raises :class:`~tunecore.errors.TrialError` only when no worker can be had at all,
        with the resources released again.
        """
        ...

    def continue_training(self, trial: Trial) -> None:
        """Queue the next fetch of a running trial whose last results :meth:`wait` returned."""
        ...

    def wait(self, timeout: float) -> list[WaitItem]:
        """The fetches that completed within ``timeout`` seconds (possibly none).

        Each item is ``(trial, (results, finished), None)``: ``results`` the trainable's
        result dicts in order (every auto field filled), ``finished`` True when the
        trainable ended by itself; or ``(trial, None, error)``: the trainable raised, its
        setup or restore failed, its worker died or did not start in time. Errors are only
        ever reported here, never raised. A trial's fetch is returned once; the next one is
        queued by :meth:`continue_training`.
        """
        ...

    def save(self, trial: Trial, storage: str = Checkpoint.DISK) -> Checkpoint:
        """Checkpoint a running trial now, at ``trial.last_result``'s iteration.

        ``Checkpoint.DISK``: the value is the path of the folder the trainable saved into
        (on the node it runs on). ``Checkpoint.MEMORY``: the value holds the bytes of
        ``Trainable.save_to_object`` (a Ray ObjectRef to them with Ray, the bytes in
        process), which :meth:`start_trial` and :meth:`exploit` restore from on any node.
        Raises what the trainable raised.
        """
        ...

    def pack(self, checkpoint: Checkpoint) -> Checkpoint:
        """A memory copy of a disk checkpoint in a trial's storage (the driver's disk): what
        :meth:`start_trial` and :meth:`exploit` restore a function trainable from on any node."""
        ...

    def exploit(self, trial: Trial, checkpoint: Checkpoint) -> bool:
        """Continue a running trial from ``checkpoint`` (a memory one, of any trial) with
        ``trial.config``; True if the trainable took the config in place (``reset_config``),
        False if it was rebuilt. Raises TuneError for a disk checkpoint."""
        ...

    def stop_trial(self, trial: Trial, reusable: bool = True) -> None:
        """Stop a trial's trainable (``Trainable.stop``) and release its resources; its
        worker may host another trial when ``reusable``. No-op for a trial not running."""
        ...

    def kill_trial(self, trial: Trial) -> None:
        """Drop a failed trial's worker without asking its trainable anything, and release
        its resources. No-op for a trial not running."""
        ...

    def cleanup(self) -> None:
        """The run has ended: every worker gone, the ledger empty."""
        ...
