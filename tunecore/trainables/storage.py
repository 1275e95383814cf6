"""A trial's storage: its folder on the driver's node, and how a worker on another node reaches it.

Checkpoints live in the trial's folder on the node of the driver (where the experiment's
results are). A worker on the same node copies a checkpoint into it directly; a worker on
another node packs the directory and has a Ray task pinned to the storage node unpack it
there, and fetches a checkpoint the same way. No file system is assumed to be shared between
nodes. Without Ray (a trial in the driver process), the storage is simply local.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Optional

from tunecore.trainables.folders import delete_directory, pack_directory, persist_directory, unpack_directory

_tasks: Optional[tuple[Any, Any, Any]] = None


def _pack_here(path: str) -> bytes:
    return pack_directory(path)


def _unpack_here(data: bytes, dest: str, extra: Optional[dict]) -> str:
    return unpack_directory(data, dest, extra_files=extra)


def _delete_here(path: str) -> bool:
    return delete_directory(path)


def _remote_tasks() -> tuple[Any, Any, Any]:
    global _tasks
    if _tasks is None:
        import ray

        _tasks = (ray.remote(num_cpus=0, max_retries=3)(_pack_here),
                  ray.remote(num_cpus=0, max_retries=3)(_unpack_here),
                  ray.remote(num_cpus=0, max_retries=3)(_delete_here))
    return _tasks


def current_node_id() -> Optional[str]:
    """The Ray node this process runs on; None without Ray."""
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


class TrialStorage:
    """Where one trial's checkpoints go.

    Args:
        trial_dir: the trial's folder on the storage node.
        node_id: the Ray node whose disk holds ``trial_dir`` (the driver's); None when this
            process's disk is the storage (no Ray, or a worker on the driver's node).
    """

    def __init__(self, trial_dir: str, node_id: Optional[str] = None) -> None:
        self.trial_dir = trial_dir
        self.node_id = node_id
        here = current_node_id()
        self.remote = node_id is not None and here is not None and here != node_id

    def path(self, name: str) -> str:
        return os.path.join(self.trial_dir, name)

    def _on_storage_node(self, task: Any) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        assert self.node_id is not None  # only called when the storage is on another node
        return task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(self.node_id, soft=False))

    def persist(self, local_dir: str, name: str, extra_files: Optional[dict[str, str]] = None) -> str:
        """Copy ``local_dir`` atomically to ``<trial_dir>/<name>`` (plus ``extra_files``); the path."""
        dest = self.path(name)
        if not self.remote:
            return persist_directory(local_dir, dest, extra_files=extra_files)
        import ray

        _, unpack, _ = _remote_tasks()
        ray.get(self._on_storage_node(unpack).remote(pack_directory(local_dir), dest, extra_files))
        return dest

    def fetch(self, path: str) -> tuple[str, Optional[str]]:
        """A local directory holding the checkpoint at ``path`` (in storage), and the scratch
        folder to remove once it is no longer needed (None when ``path`` itself is local)."""
        if not self.remote:
            return path, None
        import ray

        pack, _, _ = _remote_tasks()
        data = ray.get(self._on_storage_node(pack).remote(path))
        scratch = tempfile.mkdtemp(prefix="tunecore-restore-")
        local = unpack_directory(data, os.path.join(scratch, os.path.basename(path.rstrip(os.sep))))
        return local, scratch

    def delete(self, name: str) -> None:
        """Remove ``<trial_dir>/<name>``."""
        if not self.remote:
            delete_directory(self.path(name))
            return
        import ray

        _, _, delete = _remote_tasks()
        ray.get(self._on_storage_node(delete).remote(self.path(name)))

    def scratch_dir(self) -> str:
        """A fresh local folder to save into before :meth:`persist` (the caller removes it)."""
        base = None if self.remote else self.trial_dir
        if base is not None:
            os.makedirs(base, exist_ok=True)
        return tempfile.mkdtemp(prefix=".tmp-save-", dir=base)


def remove_scratch(path: Optional[str]) -> None:
    if path:
        shutil.rmtree(path, ignore_errors=True)
