"""Function trainables: ``def train(config)`` with ``tunecore.report`` (Ray Tune 2.x), or
``def train(config, reporter)`` (2018), run on a thread of the trial's worker.

The function starts at the first fetch, after any restore, so ``tunecore.get_checkpoint()``
returns the checkpoint it resumes from. Every reported result reaches the driver in order;
a checkpoint reported with a result is copied into the trial's storage before ``report``
returns, and its folder name travels with the result (``checkpoint_dir_name``), so the
runner knows which checkpoint each result has.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback
from typing import Any, Callable, Optional

from tunecore import result as R
from tunecore.errors import TrialError, TuneError
from tunecore.trainables import session as S
from tunecore.trainables.checkpoint import (
    Checkpoint,
    checkpoint_dirname,
    checkpoint_number,
    pack_directory,
    unpack_directory,
)
from tunecore.trainables.storage import remove_scratch
from tunecore.trainables.trainable import METADATA_FILE, Trainable

__all__ = ["FunctionRunner", "StatusReporter", "is_function_trainable", "takes_reporter", "wrap_function"]



class StatusReporter:
    """The ``reporter`` a 2018-style function trainable calls: ``reporter(**metrics)``.

    Results are queued, never sampled: every call reaches the driver, in order. A
    call blocks only when ``maxsize`` results are waiting unread.
    """

    def __init__(self, maxsize: int = 256, on_report: Optional[Callable[[dict, Any], None]] = None) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stopped = threading.Event()
        self._on_report = on_report

    def __call__(self, **metrics: Any) -> None:
        if self._on_report is not None:
            self._on_report(dict(metrics), None)
        else:
            self._put(("result", dict(metrics), None))

    report = __call__

    def _put(self, item: tuple) -> None:
        if self._stopped.is_set():
            raise SystemExit("trial stopped")  # ends the user's thread quietly
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if self._stopped.is_set():
                    raise SystemExit("trial stopped") from None

    def _finish(self, kind: str, payload: Any = None) -> None:
        self._queue.put((kind, payload, None))

    def _stop(self) -> None:
        self._stopped.set()


class FunctionRunner(Trainable):
    """Runs the function on a daemon thread; :meth:`fetch` drains its results."""

    _function: Callable = None  # type: ignore[assignment]
    _takes_reporter: bool = True

    def _setup(self, config: dict) -> None:
        self._reporter = StatusReporter(on_report=self._report)
        self._finished = False
        self._pending_error: Optional[str] = None
        self._last_timesteps: Optional[int] = None
        self._fn_config = config
        self._thread: Optional[threading.Thread] = None
        self._resume_from: Optional[Checkpoint] = None
        self._scratch: list[str] = []
        #: the storage path of the latest checkpoint the function reported (or resumed from)
        self.latest_checkpoint: Optional[str] = None
        # counters of what the function has reported (its thread runs ahead of the fetches)
        self._reported = 0
        self._reported_time = 0.0
        self._reported_timesteps: Optional[int] = None
        self._last_report = time.time()
        self._next_index = int(self._trial_info.get("checkpoint_index") or 1)
        self._go_on = threading.Event()
        #: checkpoints persisted whose result no fetch has handed over yet
        self._undelivered: set[str] = set()

    # -- the function's thread -------------------------------------------------------
    def _start_thread(self) -> None:
        fn = type(self)._function
        info = self._trial_info
        context = S.TrainContext(self._trial_id or "", info.get("trial_name") or self._trial_id or "",
                                 self.logdir, info.get("experiment_name") or "", info.get("resources"))
        session = S.Session(context, self._report_and_wait, self._resume_from)
        takes_reporter = type(self)._takes_reporter

        def entry() -> None:
            S.enter(session)
            try:
                fn(self._fn_config, self._reporter) if takes_reporter else fn(self._fn_config)
            except SystemExit:
                S.leave(session)
            except BaseException as exc:  # noqa: BLE001 - reported to the driver
                S.leave(session, exc)
                self._reporter._finish("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                return
            else:
                S.leave(session)
            self._reporter._finish("end")

        self._last_report = time.time()
        self._thread = threading.Thread(target=entry, daemon=True, name=f"tunecore-trial-{fn.__name__}")
        self._thread.start()

    def _report_and_wait(self, metrics: dict, checkpoint: Optional[Checkpoint]) -> None:
        """``tunecore.report``: as in Ray Tune 2.x, the function waits until the runner has taken
        this result and asks for the next, so it never runs ahead of the scheduler's decisions
        (a pause, a stop or an exploit applies to the state of the result it was made on)."""
        self._report(metrics, checkpoint)
        while not self._go_on.wait(timeout=0.5):
            if self._reporter._stopped.is_set():
                raise SystemExit("trial stopped")
        self._go_on.clear()
        if self._reporter._stopped.is_set():
            raise SystemExit("trial stopped")

    def _report(self, metrics: dict, checkpoint: Optional[Checkpoint]) -> None:
        """``tunecore.report`` / ``reporter(...)``, on the function's thread."""
        if self._reporter._stopped.is_set():
            raise SystemExit("trial stopped")
        now = time.time()
        metrics.setdefault(R.TIME_THIS_ITER_S, now - self._last_report)
        self._last_report = now
        self._reported += 1
        self._reported_time += float(metrics.get(R.TIME_THIS_ITER_S) or 0.0)
        if metrics.get(R.TIMESTEPS_TOTAL) is not None:
            self._reported_timesteps = metrics[R.TIMESTEPS_TOTAL]
        elif metrics.get(R.TIMESTEPS_THIS_ITER) is not None:
            self._reported_timesteps = (self._reported_timesteps or 0) + metrics[R.TIMESTEPS_THIS_ITER]
        name = None
        if checkpoint is not None:
            iteration = self._restored_at[0] + self._reported
            # named by iteration, but never a name the trial used before (a restored or
            # exploited run goes back in iterations; its folders must not replace older ones)
            index = max(iteration, self._next_index)
            self._next_index = index + 1
            name = checkpoint_dirname(index)
            meta = {"kind": "function", "experiment_id": self._experiment_id, "iteration": iteration,
                    "time_total": self._restored_at[1] + self._reported_time,
                    "timesteps_total": self._reported_timesteps}
            with checkpoint.as_directory() as local:
                self._storage.persist(local, name, extra_files={METADATA_FILE: json.dumps(meta)})
            self._undelivered.add(name)
        self._reporter._put(("result", metrics, name))

    # -- what the worker calls ---------------------------------------------------------
    def fetch(self, timeout: Optional[float] = None, max_results: int = 1000) -> tuple[list, bool]:
        """Block for at least one event; return ``(results, finished)``.

        Raises TrialError if the function raised.
        """
        if self._finished:
            return [], True
        if self._thread is None:
            self._start_thread()
        else:
            self._go_on.set()  # a tunecore.report waiting for this fetch goes on
        assert self._thread is not None
        results: list = []
        finished = joined = False
        item = self._reporter._queue.get(timeout=timeout)
        while True:
            kind, payload, name = item
            if kind == "result":
                results.append(self._function_result(payload, name))
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

    def _function_result(self, metrics: dict, checkpoint_name: Optional[str]) -> dict:
        ts = metrics.get(R.TIMESTEPS_TOTAL)
        if ts is not None and R.TIMESTEPS_THIS_ITER not in metrics:
            metrics[R.TIMESTEPS_THIS_ITER] = ts - (self._last_timesteps or 0)
            self._last_timesteps = ts
        result = self._finish_result(metrics, metrics.get(R.TIME_THIS_ITER_S) or 0.0)
        if checkpoint_name is not None:
            self._undelivered.discard(checkpoint_name)
            result[R.CHECKPOINT_DIR_NAME] = checkpoint_name
            self.latest_checkpoint = self._storage.path(checkpoint_name)
        return result

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

    # -- checkpoints: the function reports its own ----------------------------------------
    @classmethod
    def is_checkpointable(cls) -> bool:
        """Always: it resumes from the latest checkpoint it reported, or from scratch."""
        return True

    def save(self, checkpoint_dir: Optional[str] = None) -> str:
        """The latest reported checkpoint (in the trial's storage); a marker to start from
        scratch when the function has reported none."""
        if self.latest_checkpoint is not None:
            return self.latest_checkpoint
        marker = os.path.join(self.logdir, "checkpoint_scratch")
        os.makedirs(marker, exist_ok=True)
        with open(os.path.join(marker, METADATA_FILE), "w", encoding="utf-8") as f:
            json.dump({"kind": "function", "scratch": True, "iteration": 0}, f)
        return marker

    def save_to_object(self) -> bytes:
        path = self.save()
        local, scratch = self._storage.fetch(path)
        try:
            return pack_directory(local)
        finally:
            remove_scratch(scratch)

    def restore_from_object(self, blob: bytes) -> None:
        folder = tempfile.mkdtemp(prefix=".restored-", dir=self.logdir)
        self._scratch.append(folder)
        self._resume(unpack_directory(blob, os.path.join(folder, "checkpoint")), None)

    def restore(self, checkpoint_path: str) -> None:
        """Resume from a checkpoint the function reported (or any directory: ``restore=``)."""
        local, scratch = self._storage.fetch(checkpoint_path)
        if scratch:
            self._scratch.append(scratch)
        self._resume(local, checkpoint_path)

    def _resume(self, local: str, storage_path: Optional[str]) -> None:
        if self._thread is not None:
            raise TuneError("a function trainable can only be restored before it starts")
        meta: dict = {}
        try:
            with open(os.path.join(local, METADATA_FILE), encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            meta = {"iteration": checkpoint_number(local) or 0}
        if meta.get("scratch"):
            return
        self._resume_from = Checkpoint(local)
        self.latest_checkpoint = storage_path
        self._iteration = int(meta.get("iteration") or 0)
        self._time_total = float(meta.get("time_total") or 0.0)
        self._timesteps_total = meta.get("timesteps_total")
        self._last_timesteps = self._timesteps_total
        self._experiment_id = meta.get("experiment_id") or self._experiment_id
        self._restored_at = (self._iteration, self._time_total, self._timesteps_total or 0)
        self._reported_time = 0.0
        self._reported_timesteps = self._timesteps_total

    # -- the end -------------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop the function's thread; True if it ended (else the process is not reused)."""
        super().stop()
        alive = False
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            alive = self._thread.is_alive()
        if not alive:
            for folder in self._scratch:
                shutil.rmtree(folder, ignore_errors=True)
            if self._trial_info.get("drop_unused_checkpoints"):
                # under a retention policy: what it reported after the last result it handed over
                # was never seen by the runner, and no later run reuses the names
                for name in sorted(self._undelivered):
                    with contextlib.suppress(OSError, TuneError):
                        self._storage.delete(name)
        return not alive

    def _stop(self) -> None:
        self._reporter._stop()
        self._go_on.set()  # a tunecore.report waiting for the next fetch sees the stop
        # unblock a reporter waiting on a full queue
        try:
            while True:
                self._reporter._queue.get_nowait()
        except queue.Empty:
            pass


def takes_reporter(fn: Callable) -> bool:
    """True for ``f(config, reporter)`` (2018), False for ``f(config)`` (Ray Tune 2.x)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    required = [p for p in positional if p.default is p.empty]
    return len(required) >= 2 or (len(required) < 2 and len(positional) >= 2 and positional[1].name == "reporter")


def wrap_function(fn: Callable, name: Optional[str] = None) -> type:
    """A Trainable subclass running ``fn(config)`` or ``fn(config, reporter)``."""
    cls = type(name or fn.__name__, (FunctionRunner,),
               {"_function": staticmethod(fn), "_takes_reporter": takes_reporter(fn)})
    cls.__module__ = getattr(fn, "__module__", __name__)
    return cls


def is_function_trainable(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, FunctionRunner)
