"""The TensorBoard logger: tensorboardX event files with a scalar per metric and an HParams session."""

from __future__ import annotations

import csv
import glob
import json
import math
import numbers
import os
import time
import uuid
from typing import Any, Optional

import numpy as np

from tunecore.loggers import Logger
from tunecore.util import flatten_dict, to_jsonable

#: Prefix of every scalar tag, as in Ray Tune: ``ray/tune/episode_reward_mean``.
TAG_PREFIX = "ray/tune/"
#: Result keys that are not metrics (``config`` goes to the HParams view instead).
SKIPPED_KEYS = frozenset({"config", "pid", "timestamp"})


def _number(value: Any) -> Optional[float]:
    """``value`` as a float if it is a real number (not a bool), else None."""
    kind = type(value)
    if kind is float or kind is int:  # the common case, without ABC checks
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        return None
    return float(value)


def scalars_of(result: dict, prefix: str = TAG_PREFIX) -> dict[str, float]:
    """The scalar summaries of one result: ``{"ray/tune/info/loss": 0.5, ...}``."""
    out: dict[str, float] = {}
    for key, value in result.items():
        if key in SKIPPED_KEYS and prefix == TAG_PREFIX:
            continue
        if isinstance(value, dict):
            out.update(scalars_of(value, f"{prefix}{key}/"))
            continue
        number = _number(value)
        if number is not None:
            out[f"{prefix}{key}"] = number
    return out


def step_of(result: dict) -> int:
    """The global step: ``timesteps_total`` when set and positive, else ``training_iteration``."""
    steps = _number(result.get("timesteps_total"))
    if steps is not None and math.isfinite(steps) and steps > 0:
        return int(steps)
    iteration = _number(result.get("training_iteration"))
    return int(iteration) if iteration is not None and math.isfinite(iteration) else 0


def _row_at(logdir: str, iteration: int) -> Optional[dict]:
    """The last row logged for ``iteration`` in ``result.json``, else ``progress.csv``, else None."""
    try:
        with open(os.path.join(logdir, "result.json"), encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        lines = []
    for line in reversed(lines):  # the rows after a restore point are the last ones
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and _number(row.get("training_iteration")) == iteration:
            return row
    try:
        with open(os.path.join(logdir, "progress.csv"), newline="", encoding="utf-8") as f:
            found = None
            for row in csv.DictReader(f):
                try:
                    if float(row.get("training_iteration") or "nan") == iteration:
                        found = row
                except ValueError:
                    continue
    except OSError:
        return None
    if found is None:
        return None
    out: dict[str, float] = {}
    for key in ("timesteps_total", "training_iteration"):
        try:
            out[key] = float(found.get(key) or "nan")
        except ValueError:
            pass
    return out


def purge_step_of(logdir: str, iteration: int) -> Optional[int]:
    """The first step that a trial restarting from ``iteration`` may log again.

    ``0`` for a start from scratch; else one past the step of the row logged at
    ``iteration`` (read from ``result.json`` or ``progress.csv``); None when no such
    row is found.
    """
    if iteration <= 0:
        return 0
    row = _row_at(logdir, iteration)
    return None if row is None else step_of(row) + 1


def hparams_of(config: dict) -> dict[str, Any]:
    """The trial's config as HParams values: nested keys flattened, odd values as text."""
    out: dict[str, Any] = {}
    for key, value in flatten_dict(config if isinstance(config, dict) else {}).items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, str)):
            out[key] = value
        elif isinstance(value, (int, float)):
            out[key] = value
        else:
            out[key] = str(to_jsonable(value))
    return out


class TensorBoardLogger(Logger):
    """Writes ``events.out.tfevents.*`` in the trial folder with tensorboardX.

    Each result becomes one event holding a scalar for every numeric metric (nested
    keys flattened with ``/``, tagged ``ray/tune/<key>``), at the step given by
    ``timesteps_total`` (else ``training_iteration``). On close, the trial's
    hyperparameters and the tags of its final metrics are written as an HParams
    session, so TensorBoard's HParams view compares trials by their last values
    (not when the trial closes only to restart after a failure: TensorBoard keeps
    the first session of a folder, so the restarted logger writes it).

    A trial that restarts from a checkpoint at iteration ``k`` (``restore_iteration``)
    writes a new event file starting with a ``SessionLog.START`` event at the first
    step after ``k`` (tensorboardX's ``purge_step``): TensorBoard then discards the
    events of earlier files at that step or later, so the replayed iterations are
    not shown twice and the new values win. The step after ``k`` is one past the
    step of row ``k`` in ``result.json``/``progress.csv``; without either, the step of
    the first new result. Event file names sort in the order they were opened
    (TensorBoard reads a folder's files in name order).
    """

    default_enabled = True
    flush_interval = 1.0

    def _init(self) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog
        from tensorboardX.proto.summary_pb2 import Summary

        self._event_cls, self._summary_cls, self._session_log_cls = Event, Summary, SessionLog
        os.makedirs(self.logdir, exist_ok=True)
        earlier = glob.glob(os.path.join(glob.escape(self.logdir), "events.out.tfevents.*"))
        # Synchronous writes (tensorboardX's SummaryWriter queues events through a
        # multiprocessing queue and its flush() does not wait for them). The file name is
        # events.out.tfevents.<seconds>.<host><suffix>: a suffix starting with the time in
        # ns keeps two writers opened in the same second apart and in opening order.
        suffix = f".{time.time_ns():020d}.{uuid.uuid4().hex[:6]}"
        self._events = EventsWriter(os.path.join(self.logdir, "events"), suffix)
        self._final: dict[str, float] = {}
        self._closed = False
        self._last_flush = time.monotonic()
        #: True until the START event of a restart is written (its step comes from the first result).
        self._purge_pending = False
        if self.restore_iteration is not None and earlier:
            step = purge_step_of(self.logdir, self.restore_iteration)
            if step is None:
                self._purge_pending = True
            else:
                self._purge(step)

    def _purge(self, step: int) -> None:
        """Tell TensorBoard to forget the earlier files' events at ``step`` or later."""
        SessionLog = self._session_log_cls
        self._events.write_event(self._event_cls(wall_time=time.time(), step=step,
                                                 session_log=SessionLog(status=SessionLog.START)))
        self._purge_pending = False

    def on_result(self, result: dict) -> None:
        self.on_results([result])

    def on_results(self, results: list[dict]) -> None:
        if self._closed:
            return
        Event, Summary = self._event_cls, self._summary_cls
        now = time.time()
        for result in results:
            scalars = scalars_of(result)
            if not scalars:
                continue
            if self._purge_pending:
                self._purge(step_of(result))
            self._final.update(scalars)
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)
                                     for tag, value in scalars.items()])
            self._events.write_event(Event(wall_time=now, step=step_of(result), summary=summary))
        if time.monotonic() - self._last_flush > self.flush_interval:
            self.flush()

    def _write_hparams(self) -> None:
        from tensorboardX.summary import hparams

        params = hparams_of(self.config)
        metrics = {tag: value for tag, value in self._final.items() if math.isfinite(value)}
        if not params and not metrics:
            return
        now = time.time()
        for summary in hparams(params, metrics):
            self._events.write_event(self._event_cls(wall_time=now, summary=summary))

    def flush(self) -> None:
        if not self._closed:
            self._events.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # TensorBoard keeps the first HParams session a folder holds: a logger closed for
            # a restart leaves it to the next one, which knows the trial's final metrics.
            if not self.restarting:
                self._write_hparams()
        finally:
            self._events.close()
