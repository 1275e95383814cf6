"""The TensorBoard logger: tensorboardX event files with a scalar per metric and an HParams session."""

from __future__ import annotations

import csv
import decimal
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
from tunecore.util import flatten_dict, plain, to_jsonable

#: Prefix of every scalar tag, as in Ray Tune: ``ray/tune/episode_reward_mean``.
TAG_PREFIX = "ray/tune/"
#: Result keys that are not metrics (``config`` goes to the HParams view instead).
SKIPPED_KEYS = frozenset({"config", "pid", "timestamp"})


def _number(value: Any) -> Optional[float]:
    """``value`` as a float if it is a real number, else None.

    Python and numpy ints and floats of every dtype, and 0-d arrays of them; not
    bools. An int too large for a float (beyond ~1.8e308) is None.
    """
    kind = type(value)
    if kind is float:  # the common case, without ABC checks
        return value
    if kind is not int:
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
            return None
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return None


def _utf8(text: str) -> str:
    """``text`` as protobuf accepts it: a lone surrogate (not UTF-8) written as ``\\udXXX``."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _numeric_array(value: Any) -> Optional[np.ndarray]:
    """The finite values of a numeric array (or a list/tuple of numbers), flattened, else None.

    Arrays of bools, strings or objects, empty ones, and ones without a finite value
    are None; so are lists holding anything but real numbers.
    """
    if isinstance(value, np.ndarray):
        if value.ndim == 0 or value.dtype.kind not in "iuf":
            return None
        array = value.reshape(-1)
    elif isinstance(value, (list, tuple)):
        floats = [_number(v) for v in value]
        if not floats or None in floats:
            return None
        array = np.array(floats, dtype=np.float64)
    else:
        return None
    with np.errstate(all="ignore"):
        array = array.astype(np.float64)
        array = array[np.isfinite(array)]
    return array if array.size else None


def _collect(result: dict, prefix: str, scalars: dict[str, float], arrays: Optional[dict[str, np.ndarray]]) -> None:
    for key, value in result.items():
        if prefix == TAG_PREFIX and key in SKIPPED_KEYS:
            continue
        if isinstance(value, dict):
            _collect(value, f"{prefix}{key}/", scalars, arrays)
            continue
        number = _number(value)
        if number is not None:
            scalars[_utf8(f"{prefix}{key}")] = number
        elif arrays is not None and isinstance(value, (np.ndarray, list, tuple)):
            array = _numeric_array(value)
            if array is not None:
                arrays[_utf8(f"{prefix}{key}")] = array


def scalars_of(result: dict, prefix: str = TAG_PREFIX) -> dict[str, float]:
    """The scalar summaries of one result: ``{"ray/tune/info/loss": 0.5, ...}``.

    Every real number, nested keys flattened with ``/``: Python and numpy numbers of
    every dtype, 0-d arrays, NaN and ±inf (TensorBoard shows them; a float beyond
    float32's range reads back as ±inf). Bools, None, text, datetimes, ints too
    large for a float, lists and arrays are not scalars (numeric arrays and lists of
    numbers become histograms, see :class:`TensorBoardLogger`).
    """
    out: dict[str, float] = {}
    _collect(result, prefix, out, None)
    return out


def _bucket_limits() -> list[float]:
    """TensorFlow's histogram buckets (as tensorboardX's ``add_histogram``), closed by ±DBL_MAX."""
    v, positive = 1e-12, []
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    biggest = float(np.finfo(np.float64).max)
    return [-biggest] + [-b for b in reversed(positive)] + [0.0] + positive + [biggest]


_BUCKETS = np.array(_bucket_limits())


def _histogram(values: np.ndarray) -> Any:
    """A ``HistogramProto`` of finite ``values`` (tensorboardX's ``make_histogram``), or None."""
    from tensorboardX.summary import make_histogram

    try:
        with np.errstate(all="ignore"):  # sum_squares of values near DBL_MAX overflows to inf
            return make_histogram(values, _BUCKETS)
    except (ValueError, TypeError, OverflowError):
        return None


#: The largest step an event holds (a signed 64-bit int).
_MAX_STEP = 2 ** 63


def step_of(result: dict) -> int:
    """The global step: ``timesteps_total`` when set and positive, else ``training_iteration``.

    Either must be a finite number below 2**63 (an event's step is an int64); else 0.
    """
    steps = _number(result.get("timesteps_total"))
    if steps is not None and 0 < steps < _MAX_STEP:
        return int(steps)
    iteration = _number(result.get("training_iteration"))
    return int(iteration) if iteration is not None and -_MAX_STEP <= iteration < _MAX_STEP else 0


def _row_at(logdir: str, iteration: int) -> Optional[dict]:
    """The last row logged for ``iteration`` in ``result.json``, else ``progress.csv``, else None."""
    try:
        with open(os.path.join(logdir, "result.json"), encoding="utf-8", errors="replace") as f:
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
        with open(os.path.join(logdir, "progress.csv"), newline="", encoding="utf-8", errors="replace") as f:
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
    """The trial's config as HParams values: nested keys flattened, odd values as text.

    bools and text are kept, real numbers (numpy ones and 0-d arrays too) become
    floats; lists and arrays become JSON text (``[0.9, 0.99]``), anything else its
    text (None as ``None``, datetimes in ISO 8601, an int too large for a float as
    ``1.2e+400``).
    """
    out: dict[str, Any] = {}
    for key, value in flatten_dict(config if isinstance(config, dict) else {}).items():
        key = _utf8(str(key))
        value = plain(value)
        number = _number(value)
        if isinstance(value, bool):
            out[key] = bool(value)
        elif isinstance(value, str):
            out[key] = _utf8(str(value))
        elif number is not None:
            out[key] = number  # tensorboardX refuses ints beyond int64; HParams numbers are doubles
        else:
            out[key] = _utf8(_text(value))
    return out


def _text(value: Any) -> str:
    """The HParams text of a config value that is not a bool, a string or a number."""
    if isinstance(value, int):
        return f"{decimal.Decimal(value):.6e}"  # too large for a float (and maybe for str)
    value = to_jsonable(value)
    if isinstance(value, (list, dict)):
        try:
            return json.dumps(value, allow_nan=False, ensure_ascii=False)
        except ValueError:  # an int inside with more digits than Python prints
            return f"<{type(value).__name__} holding an int too long to print>"
    return str(value)


class TensorBoardLogger(Logger):
    """Writes ``events.out.tfevents.*`` in the trial folder with tensorboardX.

    Each result becomes one event holding a scalar for every numeric metric (nested
    keys flattened with ``/``, tagged ``ray/tune/<key>``; Python and numpy numbers of
    every dtype, 0-d arrays, NaN and ±inf, see :func:`scalars_of`), at the step given
    by ``timesteps_total`` (else ``training_iteration``). As in Ray Tune's TensorBoard
    logger, a numeric array or a non-empty list of numbers becomes a histogram of its
    finite values under the same tag; bools, None, text, datetimes and other arrays
    are not logged. On close, the trial's
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
        self._events.write_event(self._event_cls(wall_time=time.time(), step=min(step, _MAX_STEP - 1),
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
            scalars: dict[str, float] = {}
            arrays: dict[str, np.ndarray] = {}
            _collect(result, TAG_PREFIX, scalars, arrays)
            if not scalars and not arrays:
                continue
            step = step_of(result)
            if self._purge_pending:
                self._purge(step)
            self._final.update(scalars)
            values = [Summary.Value(tag=tag, simple_value=value) for tag, value in scalars.items()]
            for tag, array in arrays.items():
                histogram = _histogram(array)
                if histogram is not None:
                    values.append(Summary.Value(tag=tag, histo=histogram))
            self._events.write_event(Event(wall_time=now, step=step, summary=Summary(value=values)))
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
