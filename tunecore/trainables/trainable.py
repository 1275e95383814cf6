"""Trainables: the class API (``_setup/_train/_save/_restore/_stop``) and the function adapter."""

from __future__ import annotations

import copy
import datetime
import inspect
import io
import json
import os
import pickle
import platform
import queue
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import uuid
from typing import Any, Callable, Optional

from tunecore import result as R
from tunecore.errors import TrialError, TuneError
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


class Trainable:
    """Subclass and override ``_train`` (and ``_save``/``_restore`` to be checkpointable).

    tunecore calls only the public wrappers (``train``, ``save``, ``restore``,
    ``stop``), which fill in the auto result fields and keep the
    iteration/time/timestep counters across save and restore.

    ``_setup`` may take the config as an argument (``_setup(self, config)``) or not
    (``_setup(self)``, reading ``self.config``); both are accepted.
    """

    def __init__(self, config: Optional[dict] = None, logger_creator: Optional[Callable] = None,
                 logdir: Optional[str] = None, trial_id: Optional[str] = None) -> None:
        self.config = config or {}
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
        self._iteration = 0
        self._time_total = 0.0
        self._timesteps_total: Optional[int] = None
        self._restored_at = (0, 0.0, 0)
        self._hostname = platform.node() or socket.gethostname()
        self._node_ip = _node_ip()
        self._call_setup(self.config)

    def _call_setup(self, config: dict) -> None:
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
        """True when the subclass implements ``_save`` and ``_restore``."""
        return cls._save is not Trainable._save and cls._restore is not Trainable._restore

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
        final = checkpoint_dir or os.path.join(self.logdir, f"checkpoint_{self._iteration:06d}")
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
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final

    def restore(self, checkpoint_path: str) -> None:
        """Restore from a folder written by :meth:`save` (counters continue)."""
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
            self.restore(os.path.join(tmp, "ckpt"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def reset_config(self, new_config: dict) -> bool:
        """Take ``new_config`` in place; return True if supported (default: not)."""
        return False

    def stop(self) -> bool:
        """Release resources (calls ``_stop``); True if the process is left fit to host another trial."""
        self._stop()
        return True

    # -- user hooks ---------------------------------------------------------------------
    def _setup(self, *args: Any) -> None:
        """Set up state; ``self.config`` holds the hyperparameters."""

    def _train(self) -> dict:
        """One iteration; return a dict of metrics."""
        raise NotImplementedError(f"{type(self).__name__} must implement _train()")

    def _save(self, checkpoint_dir: str) -> Any:
        """Write state into ``checkpoint_dir``; return a path inside it, or a dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _save(); it cannot be checkpointed")

    def _restore(self, checkpoint: Any) -> None:
        """Load state from what ``_save`` returned."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _restore(); it cannot be restored")

    def _stop(self) -> None:
        """Clean up."""


class StatusReporter:
    """The ``reporter`` a function trainable calls: ``reporter(**metrics)``.

    Results are queued, never sampled: every call reaches the driver, in order. A
    call blocks only when ``maxsize`` results are waiting unread.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stopped = threading.Event()
        self._last_report = time.time()

    def __call__(self, **metrics: Any) -> None:
        if self._stopped.is_set():
            raise SystemExit("trial stopped")  # ends the user's thread quietly
        now = time.time()
        metrics = dict(metrics)
        metrics.setdefault(R.TIME_THIS_ITER_S, now - self._last_report)
        self._last_report = now
        while True:
            try:
                self._queue.put(("result", metrics), timeout=0.5)
                return
            except queue.Full:
                if self._stopped.is_set():
                    raise SystemExit("trial stopped") from None

    report = __call__

    def _finish(self, kind: str, payload: Any = None) -> None:
        self._queue.put((kind, payload))

    def _stop(self) -> None:
        self._stopped.set()


class FunctionRunner(Trainable):
    """Runs ``f(config, reporter)`` on a daemon thread; :meth:`fetch` drains its results."""

    _function: Callable = None  # type: ignore[assignment]

    def _setup(self, config: dict) -> None:
        self._reporter = StatusReporter()
        self._finished = False
        self._pending_error: Optional[str] = None
        self._last_timesteps: Optional[int] = None
        fn = type(self)._function

        def entry() -> None:
            try:
                fn(config, self._reporter)
            except SystemExit:
                self._reporter._finish("end")
                return
            except BaseException as exc:  # noqa: BLE001 - reported to the driver
                self._reporter._finish("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                return
            self._reporter._finish("end")

        self._thread = threading.Thread(target=entry, daemon=True, name=f"tunecore-trial-{fn.__name__}")
        self._thread.start()

    def fetch(self, timeout: Optional[float] = None, max_results: int = 1000) -> tuple[list, bool]:
        """Block for at least one event; return ``(results, finished)``.

        Raises TrialError if the function raised.
        """
        if self._finished:
            return [], True
        results: list = []
        finished = joined = False
        item = self._reporter._queue.get(timeout=timeout)
        while True:
            kind, payload = item
            if kind == "result":
                results.append(self._function_result(payload))
            elif kind == "error":
                self._finished = True
                if results:
                    # deliver what came before the error; raise on the next fetch
                    self._pending_error = payload
                    return results, False
                raise TrialError(f"Error running trial: {payload}")
            else:
                self._finished = finished = True
                break
            if len(results) >= max_results:
                break
            try:
                item = self._reporter._queue.get_nowait()
            except queue.Empty:
                if joined:
                    break
                # a function that just returned: take its end in this call, not the next
                self._thread.join(timeout=0.002)
                joined = True
                try:
                    item = self._reporter._queue.get_nowait()
                except queue.Empty:
                    break
        return results, finished

    def _function_result(self, metrics: dict) -> dict:
        ts = metrics.get(R.TIMESTEPS_TOTAL)
        if ts is not None and R.TIMESTEPS_THIS_ITER not in metrics:
            metrics[R.TIMESTEPS_THIS_ITER] = ts - (self._last_timesteps or 0)
            self._last_timesteps = ts
        return self._finish_result(metrics, metrics.get(R.TIME_THIS_ITER_S) or 0.0)

    def train_results(self) -> tuple[list[dict], bool]:
        if self._pending_error:
            raise TrialError(f"Error running trial: {self._pending_error}")
        return self.fetch()

    def train(self) -> dict:
        """Standalone use: the next reported result."""
        results, _ = self.train_results()
        if not results:
            raise TuneError("Trial finished without reporting result!")
        return results[0]

    def stop(self) -> bool:
        """Stop the function's thread; True if it ended (else the process is not reused)."""
        super().stop()
        self._thread.join(timeout=1.0)
        return not self._thread.is_alive()

    def _stop(self) -> None:
        self._reporter._stop()
        # unblock a reporter waiting on a full queue
        try:
            while True:
                self._reporter._queue.get_nowait()
        except queue.Empty:
            pass


def wrap_function(fn: Callable, name: Optional[str] = None) -> type:
    """A Trainable subclass running ``fn(config, reporter)``."""
    cls = type(name or fn.__name__, (FunctionRunner,), {"_function": staticmethod(fn)})
    cls.__module__ = getattr(fn, "__module__", __name__)
    return cls


def is_function_trainable(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, FunctionRunner)
