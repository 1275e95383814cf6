"""The class trainable API: Ray Tune 2.x's ``setup/step/save_checkpoint/load_checkpoint/cleanup``
and the 2018 names ``_setup/_train/_save/_restore/_stop`` (one or the other in a class).

Function trainables are in :mod:`tunecore.trainables.function`.
"""

from __future__ import annotations

import copy
import datetime
import inspect
import io
import json
import os
import pickle
import platform
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import uuid
from typing import Any, Callable, Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.execution.trial import Resources
from tunecore.util import plain

METADATA_FILE = ".tune_metadata"
_DICT_CHECKPOINT = "checkpoint.pkl"


def _node_ip() -> str:
    ray = sys.modules.get("ray")  # a process that never imported Ray (a trial in the driver) is not on a node
    try:
        if ray is not None and ray.is_initialized():
            return ray.util.get_node_ip_address()
    except Exception:  # pragma: no cover - best effort
        pass
    return "127.0.0.1"


#: Ray Tune 2.x's name of each 2018 hook.
API_NAMES = {"_setup": "setup", "_train": "step", "_save": "save_checkpoint", "_restore": "load_checkpoint",
             "_stop": "cleanup"}


class Trainable:
    """Subclass and override ``step`` (and ``save_checkpoint``/``load_checkpoint`` to be
    checkpointable), as in Ray Tune 2.x; or the 2018 names ``_train`` (``_save``/``_restore``).

    * ``setup(config)`` / ``_setup(config)``: set up state (``self.config`` holds the config).
    * ``step()`` / ``_train()``: one iteration; return a dict of metrics.
    * ``save_checkpoint(checkpoint_dir)`` / ``_save``: write state into ``checkpoint_dir``;
      return None, a dict (pickled for you) or a path inside ``checkpoint_dir``.
    * ``load_checkpoint(checkpoint)`` / ``_restore``: load what was saved: the dict, or the
      path (``checkpoint_dir`` when ``save_checkpoint`` returned None).
    * ``cleanup()`` / ``_stop()``: release resources; ``reset_config(new_config)``: take a new
      config in place (return True) so the worker is reused.

    tunecore calls only the public wrappers (``train``, ``save``, ``restore``, ``stop``),
    which fill in the auto result fields and keep the iteration/time/timestep counters
    across save and restore. A class that defines a hook under both names is refused.
    """

    def __init__(self, config: Optional[dict] = None, logger_creator: Optional[Callable] = None,
                 logdir: Optional[str] = None, trial_id: Optional[str] = None,
                 trial_info: Optional[dict] = None) -> None:
        from tunecore.trainables.storage import TrialStorage

        self.config = config or {}
        self._trial_info = dict(trial_info or {})
        self._experiment_id = uuid.uuid4().hex
        self._trial_id = trial_id
        if logdir is None:
            if logger_creator is not None:
                logger = logger_creator(self.config)
                logdir = getattr(logger, "logdir", None)
            if logdir is None:
                stamp = datetime.datetime.today().strftime("%Y-%m-%d_%H-%M-%S")
                os.makedirs(R.DEFAULT_RESULTS_DIR, exist_ok=True)
                logdir = tempfile.mkdtemp(prefix=f"{type(self).__name__}_{stamp}", dir=R.DEFAULT_RESULTS_DIR)
        os.makedirs(logdir, exist_ok=True)
        self.logdir = logdir
        #: where checkpoints are kept: the trial's folder on the driver's node
        self._storage = TrialStorage(logdir, self._trial_info.get("storage_node"))
        self._iteration = 0
        self._time_total = 0.0
        self._timesteps_total: Optional[int] = None
        self._restored_at = (0, 0.0, 0)
        self._hostname = platform.node() or socket.gethostname()
        self._node_ip = _node_ip()
        self._call_setup(self.config)

    def _call_setup(self, config: dict) -> None:
        if _overrides(type(self), "setup"):
            self.setup(copy.deepcopy(config))
            return
        try:
            takes_config = len(inspect.signature(self._setup).parameters) >= 1
        except (TypeError, ValueError):  # pragma: no cover
            takes_config = False
        if takes_config:
            self._setup(copy.deepcopy(config))
        else:
            self._setup()

    # -- class-level hooks -----------------------------------------------------------
    @classmethod
    def default_resource_request(cls, config: dict) -> Resources:
        """Resources when the experiment gives no ``trial_resources`` (1 CPU)."""
        return Resources(cpu=1, gpu=0)

    @classmethod
    def resource_help(cls, config: dict) -> str:
        """Text added to the "insufficient resources" error."""
        return ""

    @classmethod
    def is_checkpointable(cls) -> bool:
        """True when the subclass implements ``save_checkpoint``/``load_checkpoint`` (or ``_save``/``_restore``)."""
        return ((_overrides(cls, "_save") and _overrides(cls, "_restore"))
                or (_overrides(cls, "save_checkpoint") and _overrides(cls, "load_checkpoint")))

    @classmethod
    def check_api(cls) -> None:
        """Refuse a class that defines a hook under both its 2018 and its Ray Tune 2.x name."""
        both = [(old, new) for old, new in API_NAMES.items() if _overrides(cls, old) and _overrides(cls, new)]
        if both:
            pairs = ", ".join(f"{new}() and {old}()" for old, new in both)
            raise TuneError(f"{cls.__name__} defines both {pairs}: use the Ray Tune 2.x names (setup, step, "
                            "save_checkpoint, load_checkpoint, cleanup) or the 2018 ones (_setup, _train, _save, "
                            "_restore, _stop), not both.")

    @property
    def trial_id(self) -> Optional[str]:
        return self._trial_id

    @property
    def trial_name(self) -> str:
        return str(self._trial_info.get("trial_name") or self._trial_id or "")

    @property
    def training_iteration(self) -> int:
        return self._iteration

    # -- public API used by the runner -----------------------------------------------
    @property
    def iteration(self) -> int:
        return self._iteration

    def train_results(self) -> tuple[list[dict], bool]:
        """Run until at least one result is ready; return ``(results, finished)``.

        What an executor calls: one iteration (``[self.train()], False``) for a class;
        every result reported since the last call, and whether the function returned,
        for a function trainable. Raises what the trainable raised.
        """
        return [self.train()], False

    def train(self) -> dict:
        """Run one iteration and return its result with every auto field filled."""
        start = time.time()
        result = self._train()
        if not isinstance(result, dict):
            raise TuneError(f"{type(self).__name__}._train must return a dict, but returned {result!r}")
        return self._finish_result(dict(result), time.time() - start)

    def _finish_result(self, result: dict, elapsed: float) -> dict:
        result = plain(result)  # numpy scalars to Python numbers, before anything compares them
        self._iteration += 1
        time_this_iter = result.get(R.TIME_THIS_ITER_S)
        if time_this_iter is None:
            time_this_iter = elapsed
        self._time_total += time_this_iter
        if R.TIMESTEPS_THIS_ITER in result and result[R.TIMESTEPS_THIS_ITER] is not None:
            self._timesteps_total = (self._timesteps_total or 0) + result[R.TIMESTEPS_THIS_ITER]
        result.setdefault(R.DONE, False)
        if R.TIMESTEPS_TOTAL not in result or result[R.TIMESTEPS_TOTAL] is None:
            result[R.TIMESTEPS_TOTAL] = self._timesteps_total
        else:
            self._timesteps_total = result[R.TIMESTEPS_TOTAL]
        if result.get(R.MEAN_LOSS) is not None and R.NEG_MEAN_LOSS not in result:
            result[R.NEG_MEAN_LOSS] = -result[R.MEAN_LOSS]
        now = datetime.datetime.now()
        it0, t0, ts0 = self._restored_at
        result.update({
            R.EXPERIMENT_ID: self._experiment_id,
            "date": now.strftime("%Y-%m-%d_%H-%M-%S"),
            "timestamp": int(time.time()),
            R.TRAINING_ITERATION: self._iteration,
            R.TIME_THIS_ITER_S: time_this_iter,
            R.TIME_TOTAL_S: self._time_total,
            R.TIME_SINCE_RESTORE: self._time_total - t0,
            R.ITERATIONS_SINCE_RESTORE: self._iteration - it0,
            R.TIMESTEPS_SINCE_RESTORE: (self._timesteps_total or 0) - ts0,
            "pid": os.getpid(),
            "hostname": self._hostname,
            "node_ip": self._node_ip,
            "config": self.config,
        })
        if self._trial_id is not None:
            result[R.TRIAL_ID] = self._trial_id
        return result

    def save(self, checkpoint_dir: Optional[str] = None) -> str:
        """Save into ``checkpoint_dir`` (default ``<logdir>/checkpoint_<iteration>``); return it.

        The folder appears complete or not at all (written under a temporary name,
        then renamed).
        """
        name = f"checkpoint_{self._iteration:06d}"
        if checkpoint_dir is None and self._storage.remote:
            # on another node than the trial's storage: save here, then copy it there
            scratch = self._storage.scratch_dir()
            try:
                return self._storage.persist(self.save(os.path.join(scratch, name)), name)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        final = checkpoint_dir or os.path.join(self.logdir, name)
        parent = os.path.dirname(os.path.abspath(final))
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(final), dir=parent)
        saved = self._save(tmp)
        meta = {
            "experiment_id": self._experiment_id,
            "iteration": self._iteration,
            "timesteps_total": self._timesteps_total,
            "time_total": self._time_total,
        }
        if isinstance(saved, dict):
            with open(os.path.join(tmp, _DICT_CHECKPOINT), "wb") as f:
                pickle.dump(saved, f)
            meta["kind"], meta["relpath"] = "dict", _DICT_CHECKPOINT
        elif isinstance(saved, (str, os.PathLike)):
            saved = os.path.abspath(str(saved))
            rel = os.path.relpath(saved, tmp)
            if rel.startswith(".."):
                raise TuneError(
                    f"{type(self).__name__}._save must write inside the checkpoint_dir it is given "
                    f"({tmp}) and return a path in it, but returned {saved!r}."
                )
            meta["kind"], meta["relpath"] = "path", rel
        else:
            raise TuneError(
                f"{type(self).__name__}._save must return a path inside checkpoint_dir or a dict, "
                f"but returned {saved!r}."
            )
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(meta, f)
        from tunecore.trainables.folders import _install

        _install(tmp, final)
        return final

    def restore(self, checkpoint_path: str) -> None:
        """Restore from a folder written by :meth:`save` (counters continue)."""
        from tunecore.trainables.storage import remove_scratch

        local, scratch = self._storage.fetch(checkpoint_path)
        try:
            self._restore_local(local)
        finally:
            remove_scratch(scratch)

    def _restore_local(self, checkpoint_path: str) -> None:
        meta_path = os.path.join(checkpoint_path, METADATA_FILE)
        if not os.path.exists(meta_path):
            raise TuneError(
                f"{checkpoint_path!r} is not a tunecore checkpoint folder (no {METADATA_FILE}); "
                "give a folder written by Trainable.save()."
            )
        with open(meta_path) as f:
            meta = json.load(f)
        target = os.path.join(checkpoint_path, meta["relpath"])
        if meta["kind"] == "dict":
            with open(target, "rb") as f:
                self._restore(pickle.load(f))
        else:
            self._restore(target)
        self._experiment_id = meta["experiment_id"]
        self._iteration = meta["iteration"]
        self._timesteps_total = meta["timesteps_total"]
        self._time_total = meta["time_total"]
        self._restored_at = (self._iteration, self._time_total, self._timesteps_total or 0)

    def save_to_object(self) -> bytes:
        """The checkpoint as tar bytes, to move through the object store."""
        tmp = tempfile.mkdtemp(prefix="save_to_object", dir=self.logdir)
        try:
            path = self.save(os.path.join(tmp, "ckpt"))
            buf = io.BytesIO()
            # plain tar: model weights barely compress, and gzip costs ~0.3 s per 10 MB
            with tarfile.open(fileobj=buf, mode="w") as tar:
                tar.add(path, arcname="ckpt")
            return buf.getvalue()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def restore_from_object(self, blob: bytes) -> None:
        """Inverse of :meth:`save_to_object`."""
        tmp = tempfile.mkdtemp(prefix="restore_from_object", dir=self.logdir)
        try:
            with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
                tar.extractall(tmp, filter="data")
            self._restore_local(os.path.join(tmp, "ckpt"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def reset_config(self, new_config: dict) -> bool:
        """Take ``new_config`` in place; return True if supported (default: not)."""
        return False

    def stop(self) -> bool:
        """Release resources (calls ``cleanup``/``_stop``); True if the process is left fit to host another trial."""
        self._stop()
        return True

    # -- user hooks (2018 names; each defaults to its Ray Tune 2.x name) ---------------
    def _setup(self, *args: Any) -> None:
        """Set up state; ``self.config`` holds the hyperparameters."""

    def _train(self) -> dict:
        """One iteration; return a dict of metrics."""
        if _overrides(type(self), "step"):
            return self.step()
        raise NotImplementedError(f"{type(self).__name__} must implement step() (or the 2018 _train())")

    def _save(self, checkpoint_dir: str) -> Any:
        """Write state into ``checkpoint_dir``; return a path inside it, or a dict."""
        if _overrides(type(self), "save_checkpoint"):
            saved = self.save_checkpoint(checkpoint_dir)
            return checkpoint_dir if saved is None else saved
        raise NotImplementedError(f"{type(self).__name__} does not implement save_checkpoint(); "
                                  "it cannot be checkpointed")

    def _restore(self, checkpoint: Any) -> None:
        """Load state from what ``_save`` returned."""
        if _overrides(type(self), "load_checkpoint"):
            self.load_checkpoint(checkpoint)
            return
        raise NotImplementedError(f"{type(self).__name__} does not implement load_checkpoint(); "
                                  "it cannot be restored")

    def _stop(self) -> None:
        """Clean up."""
        if _overrides(type(self), "cleanup"):
            self.cleanup()

    # -- user hooks, Ray Tune 2.x names -------------------------------------------------
    def setup(self, config: dict) -> None:
        """Set up state from ``config`` (also in ``self.config``)."""

    def step(self) -> dict:
        """One iteration; return a dict of metrics."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def save_checkpoint(self, checkpoint_dir: str) -> Optional[Any]:
        """Write state into ``checkpoint_dir``; return None, a dict, or a path inside it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement save_checkpoint()")

    def load_checkpoint(self, checkpoint: Any) -> None:
        """Load what :meth:`save_checkpoint` wrote: its dict, or the path (``checkpoint_dir``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement load_checkpoint()")

    def cleanup(self) -> None:
        """Release resources when the trial stops."""


def _overrides(cls: type, name: str) -> bool:
    """``cls`` (a Trainable subclass) defines ``name`` itself, not as Trainable's default."""
    return getattr(cls, name, None) is not getattr(Trainable, name, None)


_MOVED = ("FunctionRunner", "StatusReporter", "wrap_function", "is_function_trainable")


def __getattr__(name: str) -> Any:
    # the function adapter lives in tunecore.trainables.function (which imports this module)
    if name in _MOVED:
        from tunecore.trainables import function

        return getattr(function, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
