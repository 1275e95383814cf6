"""Runs trials as Ray actors: placement, the resource ledger, reusable workers, checkpoints."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Optional

from tunecore import result as R
from tunecore import settings
from tunecore._logging import get_logger
from tunecore.errors import TrialError, TuneError
from tunecore.execution.executor import WaitItem
from tunecore.execution.ledger import ClusterResources, ResourceLedger
from tunecore.execution.trial import Checkpoint, Trial
from tunecore.execution.worker import _Worker, trial_info
from tunecore.util import describe_error

log = get_logger("tunecore.executor")  # a stable name, whatever the module path

_ray_started_here = False


def ensure_ray(address: Optional[str] = None, num_cpus: Optional[int] = None,
               num_gpus: Optional[int] = None) -> bool:
    """Use the Ray this process already has, join ``address``/``RAY_ADDRESS``, or start one.

    Returns True when this call started Ray (so the caller may shut it down).
    """
    import ray

    global _ray_started_here
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"include_dashboard": False, "configure_logging": False,
                              "log_to_driver": True}
    if address:
        ray.init(address=address, **kwargs)
    else:
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        _share_sys_path_with_workers()
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, **kwargs)
    _ray_started_here = True
    return True


def _share_sys_path_with_workers() -> None:
    """Let workers import what the driver imports from its own folders (scripts, tests).

    A local Ray's workers inherit this process's environment, so the driver's
    non-installed ``sys.path`` entries go on ``PYTHONPATH``.
    """
    import site

    installed = set(site.getsitepackages() + [site.getusersitepackages()])
    extra = [p for p in sys.path if p and os.path.isdir(p) and p not in installed
             and "site-packages" not in p and not p.startswith(sys.base_prefix)]
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    merged = current + [p for p in extra if p not in current]
    if merged:
        os.environ["PYTHONPATH"] = os.pathsep.join(merged)


@dataclass
class _Running:
    trial: Trial
    actor: Any
    key: tuple
    future: Any = None
    reused: bool = False  # the worker came from the idle pool
    started: bool = False  # a first result (or error) came back
    restore: tuple = (None, None)
    started_at: float = 0.0


class RayTrialExecutor(ResourceLedger):
    """Starts, feeds, pauses and stops trial actors, within a resource ledger.

    One actor per running trial, created with the trial's ``cpu``/``gpu``; extras are
    reserved in the ledger only. Actors of finished trials are kept for the next
    trial with the same resources (``reuse_actors``), so a trial's start is a few
    actor calls, not a process. Keeps the :class:`tunecore.execution.executor.TrialExecutor`
    contract; the actors run :class:`tunecore.execution.worker._Worker`.
    """

    def __init__(self, queue_trials: bool = False, reuse_actors: bool = True) -> None:
        super().__init__(queue_trials)
        self.reuse_actors = reuse_actors
        #: seconds to wait for a worker to take a trial (placement + setup + restore)
        self.start_timeout = settings.number("TUNECORE_START_TIMEOUT")
        self._running: dict[str, _Running] = {}
        self._by_future: dict[Any, str] = {}
        self._idle: dict[tuple, list] = {}
        self._cluster_read_at = 0.0
        self._actor_cls: Any = None
        self._class_refs: dict[str, Any] = {}
        self.driver_host = socket.gethostname()
        self._driver_node: Optional[str] = None

    # -- resources ---------------------------------------------------------------
    def refresh_cluster(self, force: bool = False) -> None:
        import ray

        now = time.monotonic()
        if force or now - self._cluster_read_at > 2.0:
            total = ray.cluster_resources()
            self._cluster = ClusterResources(total.get("CPU", 0.0), total.get("GPU", 0.0))
            self._cluster_read_at = now

    # -- actors ------------------------------------------------------------------
    def _remote_cls(self) -> Any:
        import ray

        if self._actor_cls is None:
            self._actor_cls = ray.remote(_Worker)
        return self._actor_cls

    def _class_ref(self, trial: Trial) -> Any:
        import ray

        from tunecore.trainables.registry import get_trainable_cls

        cls = get_trainable_cls(trial.trainable_name)
        cached = self._class_refs.get(trial.trainable_name)
        if cached is None or cached[0] is not cls:
            cached = (cls, ray.put(cls))
            self._class_refs[trial.trainable_name] = cached
        return cached[1]

    def _get_actor(self, key: tuple) -> tuple[Any, bool]:
        """A worker for resources ``key``: an idle one that stopped cleanly, else a new one."""
        import ray

        pool = self._idle.get(key)
        while pool:
            actor, stopped = pool.pop()
            try:
                if ray.get(stopped, timeout=10):  # done long ago in practice
                    return actor, True
            except Exception:
                pass
            self._kill(actor)
        # free resources held by idle workers of other shapes before creating one
        for other in list(self._idle):
            for actor, _ in self._idle.pop(other):
                self._kill(actor)
        cpu, gpu = key
        return self._remote_cls().options(num_cpus=cpu, num_gpus=gpu, max_restarts=0,
                                          max_concurrency=1).remote(), False

    @staticmethod
    def _kill(actor: Any) -> None:
        import ray

        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # pragma: no cover - already dead
            pass

    def start_trial(self, trial: Trial, checkpoint: Optional[Checkpoint] = None) -> None:
        """Give the trial a worker (reused or new) and queue its setup, restore and first fetch.

        Nothing waits here: the calls run in order on the actor, and a failure in setup
        comes back as the first fetch's error (``TrialError: Trial failed to start``).
        Raises TrialError only when no worker can be had at all.
        """
        key = (trial.resources.cpu, trial.resources.gpu)
        ckpt = checkpoint or (trial.checkpoint if trial.has_checkpoint() else None)
        restore = (ckpt.storage, ckpt.value) if ckpt is not None else (None, None)
        self._commit(trial.resources, +1)
        try:
            actor, reused = self._get_actor(key)
        except Exception as exc:
            self._commit(trial.resources, -1)
            why = describe_error(exc, limit=4000, one_line=False)
            raise TrialError(f"Trial {trial} failed to start: {why}") from exc
        running = _Running(trial, actor, key, reused=reused, restore=restore, started_at=time.monotonic())
        self._running[trial.trial_id] = running
        self._setup(running)

    def _setup(self, running: _Running) -> None:
        trial = running.trial
        running.actor.setup.remote(self._class_ref(trial), trial.config, trial.logdir, trial.trial_id,
                                   *running.restore, trial_info=trial_info(trial, self._storage_node()))
        self._launch(running)

    def _storage_node(self) -> Optional[str]:
        """The driver's node: trials keep their checkpoints in their folder on its disk."""
        if self._driver_node is None:
            from tunecore.trainables.storage import current_node_id

            self._driver_node = current_node_id()
        return self._driver_node

    def _replace_dead_worker(self, running: _Running) -> None:
        """A pooled worker died while idle (e.g. its node left): start over on a new one."""
        self._kill(running.actor)
        running.actor, running.reused = self._get_actor(running.key)
        self._setup(running)

    def _launch(self, running: _Running) -> None:
        running.future = running.actor.fetch.remote()
        self._by_future[running.future] = running.trial.trial_id

    def continue_training(self, trial: Trial) -> None:
        self._launch(self._running[trial.trial_id])

    def get_running_trials(self) -> list[Trial]:
        return [r.trial for r in self._running.values()]

    def is_running(self, trial: Trial) -> bool:
        return trial.trial_id in self._running

    def wait(self, timeout: float) -> list[WaitItem]:
        """Results ready within ``timeout``: ``(trial, (results, finished), error)`` each."""
        import ray

        futures = list(self._by_future)
        if not futures:
            return []
        late = self._not_started_in_time()
        if late:
            return late
        ready, rest = ray.wait(futures, num_returns=1, timeout=timeout)
        if not ready:
            return []
        if rest:  # whatever else is ready too, without waiting
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        out: list[WaitItem] = []
        for fut in ready:
            trial_id = self._by_future.pop(fut)
            running = self._running.get(trial_id)
            if running is None or running.future is not fut:
                continue
            running.future = None
            try:
                payload = ray.get(fut)
            except ray.exceptions.RayActorError as exc:
                if running.reused and not running.started:
                    self._replace_dead_worker(running)
                    continue
                out.append((running.trial, None, exc))
                continue
            except Exception as exc:  # the trainable raised
                out.append((running.trial, None, exc))
                continue
            running.started = True
            out.append((running.trial, payload, None))
        return out

    def _not_started_in_time(self) -> list[WaitItem]:
        """Trials whose worker has not answered within ``start_timeout`` (e.g. unplaceable)."""
        now = time.monotonic()
        out: list[WaitItem] = []
        for running in list(self._running.values()):
            if not running.started and now - running.started_at > self.start_timeout:
                if running.future is not None:
                    self._by_future.pop(running.future, None)
                    running.future = None
                out.append((running.trial, None, TrialError(
                    f"Trial {running.trial} did not start within {self.start_timeout:.0f} s (no worker could "
                    "be placed, or its setup hangs); raise TUNECORE_START_TIMEOUT if that is expected.")))
        return out

    def save(self, trial: Trial, storage: str = Checkpoint.DISK) -> Checkpoint:
        """Checkpoint a running trial (blocking for disk; an ObjectRef for memory)."""
        import ray

        running = self._running[trial.trial_id]
        iteration = (trial.last_result or {}).get(R.TRAINING_ITERATION, 0)
        if storage == Checkpoint.MEMORY:
            return Checkpoint(Checkpoint.MEMORY, running.actor.save_to_object.remote(), iteration)
        return Checkpoint(Checkpoint.DISK, ray.get(running.actor.save.remote()), iteration)

    def pack(self, checkpoint: Checkpoint) -> Checkpoint:
        import ray

        from tunecore.trainables.folders import pack_directory

        return Checkpoint(Checkpoint.MEMORY, ray.put(pack_directory(checkpoint.value)), checkpoint.iteration)

    def exploit(self, trial: Trial, checkpoint: Checkpoint) -> bool:
        import ray

        running = self._running[trial.trial_id]
        if checkpoint.storage != Checkpoint.MEMORY:
            raise TuneError("exploit_trial needs a memory checkpoint from save_trial()")
        return ray.get(running.actor.exploit.remote(self._class_ref(trial), checkpoint.value,
                                                    trial.config, trial.logdir, trial.trial_id))

    def _release(self, trial: Trial) -> Optional[_Running]:
        """Forget a running trial: resources back to the ledger, its in-flight call dropped."""
        running = self._running.pop(trial.trial_id, None)
        if running is not None:
            self._commit(trial.resources, -1)
            if running.future is not None:
                self._by_future.pop(running.future, None)
        return running

    def stop_trial(self, trial: Trial, reusable: bool = True) -> None:
        """Stop the trial's actor (returning it to the pool when healthy) and free resources."""
        import ray

        running = self._release(trial)
        if running is None:
            return
        if running.future is not None:  # a call is in flight: don't wait for it
            self._kill(running.actor)
            return
        if reusable and self.reuse_actors:
            # the stop runs while the worker waits in the pool; _get_actor checks its answer
            self._idle.setdefault(running.key, []).append((running.actor, running.actor.stop.remote()))
        else:
            try:
                ray.get(running.actor.stop.remote(), timeout=10)
            except Exception:
                pass
            self._kill(running.actor)

    def kill_trial(self, trial: Trial) -> None:
        """Drop a failed trial's actor without asking it anything."""
        running = self._release(trial)
        if running is not None:
            self._kill(running.actor)

    def cleanup(self) -> None:
        for running in list(self._running.values()):
            self._kill(running.actor)
        self._running.clear()
        self._by_future.clear()
        import ray

        stopping = [stopped for pool in self._idle.values() for _, stopped in pool]
        if stopping:  # let the trainables' stop() finish (it may clean up files) before the kill
            with contextlib.suppress(Exception):
                ray.wait(stopping, num_returns=len(stopping), timeout=10)
        for pool in self._idle.values():
            for actor, _ in pool:
                self._kill(actor)
        self._idle.clear()
        self._committed = ClusterResources()
