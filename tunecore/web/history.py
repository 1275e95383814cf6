"""The dashboard's data: trials' learning curves, scheduler events and endings, read incrementally.

Both data sources (a live runner and an experiment folder on disk) feed the same
:class:`HistoryStore`, which tails each trial's ``result.json`` and ``events.jsonl``
from the byte offset it reached last time and hands clients only what is new
(``since`` a sequence number). Each trial's ending comes from the records the runner
wrote (:mod:`tunecore.execution.endings`), so the live view and the folder view tell the same.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tunecore.execution.endings import trial_ending
from tunecore.records import TrialRecord
from tunecore.util import to_jsonable

#: Result keys never plotted (identifiers, clocks, the config copy).
_SKIP_KEYS = ("config", "timestamp", "pid", "experiment_id", "trial_id", "date", "hostname", "node_ip", "done")
#: At most this many metrics are kept per result row.
MAX_METRICS = 64
#: Polls closer together than this reuse the last scan of the files.
MIN_SCAN_INTERVAL = 0.25
#: Lines longer than this in result.json are skipped (bytes).
MAX_LINE = 1 << 20


def numeric_metrics(result: Optional[dict]) -> dict:
    """The finite numbers of a result, nested dicts flattened with ``/``, identifiers left out."""
    out: dict = {}
    if not isinstance(result, dict):
        return out

    def visit(prefix: str, value: Any, depth: int) -> None:
        if len(out) >= MAX_METRICS or depth > 4:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                visit(f"{prefix}/{key}" if prefix else str(key), item, depth + 1)
        elif isinstance(value, bool):
            return
        elif isinstance(value, (int, float)) and math.isfinite(value):
            out[prefix] = value
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            try:
                number = value.item()
            except (TypeError, ValueError):
                return
            if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number):
                out[prefix] = number

    for key, value in result.items():
        if key not in _SKIP_KEYS:
            visit(str(key), value, 0)
    return out


def trial_summary(rec: TrialRecord, events: Optional[list] = None, seqs: Optional[list] = None) -> dict:
    """The row of the trial table for ``rec`` (JSON-safe).

    ``events``: the trial's records (default: ``rec.events``); ``seqs``: their sequence
    numbers, given as the ending's ``s`` so a client can tell which record it came from.
    """
    last = rec.last_result if isinstance(rec.last_result, dict) else None
    ending = trial_ending(rec.status, rec.events if events is None else events, last,
                          rec.stopping_criterion, rec.error)
    if ending is not None:
        index = ending.pop("index")
        ending["s"] = seqs[index] if index is not None and seqs else None
    return {
        "id": rec.trial_id,
        "name": rec.name,
        "trainable_name": rec.trainable_name,
        "experiment_tag": rec.experiment_tag,
        "status": rec.status,
        "config": to_jsonable(rec.config),
        "metrics": numeric_metrics(last),
        "num_failures": rec.num_failures,
        "error": (rec.error or None) and str(rec.error)[:500],
        "ending": to_jsonable(ending),
    }


@dataclass
class _Tail:
    """Read position in one JSON-lines file."""

    offset: int = 0
    inode: Optional[int] = None


@dataclass
class _TrialState:
    results: _Tail = field(default_factory=_Tail)
    events: _Tail = field(default_factory=_Tail)
    iterations: set = field(default_factory=set)
    status: Optional[str] = None
    last_iteration: Optional[int] = None
    memory_events: int = 0
    seen_events: set = field(default_factory=set)
    #: the trial's records (from events.jsonl and memory, each once) as (sequence number, record)
    log: list = field(default_factory=list)


def _read_new_lines(path: str, tail: _Tail) -> list[dict]:
    """JSON objects appended to ``path`` since ``tail``; only complete lines are consumed."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    if tail.inode is not None and (st.st_ino != tail.inode or st.st_size < tail.offset):
        tail.offset = 0  # the file was replaced or truncated
    tail.inode = st.st_ino
    if st.st_size <= tail.offset:
        return []
    out: list[dict] = []
    with open(path, "rb") as f:
        f.seek(tail.offset)
        data = f.read(min(st.st_size - tail.offset, 64 << 20))
    end = data.rfind(b"\n")
    if end < 0:
        return []
    tail.offset += end + 1
    for line in data[:end].split(b"\n"):
        if not line.strip() or len(line) > MAX_LINE:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


class HistoryStore:
    """Learning curves and events of every trial, numbered so clients fetch only what is new.

    Args:
        source: returns the current list of :class:`TrialRecord`.
        live_results: when True, a trial's in-memory ``last_result`` is added as soon
            as it is seen (the files may lag by a flush interval).
    """

    def __init__(self, source: Callable[[], list], live_results: bool) -> None:
        self._source = source
        self._live = live_results
        self._lock = threading.Lock()
        self._states: dict[str, _TrialState] = {}
        self._rows: list[tuple[int, str, dict]] = []
        self._events: list[tuple[int, str, dict]] = []
        self._seq = 0
        self._records: list[TrialRecord] = []
        self._scanned_at = 0.0
        self.generation = secrets.token_hex(6)

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _add_row(self, trial_id: str, state: _TrialState, result: dict) -> None:
        it = result.get("training_iteration")
        key = it if isinstance(it, int) and not isinstance(it, bool) else None
        if key is not None:
            if key in state.iterations:
                return
            state.iterations.add(key)
            state.last_iteration = key
        row = numeric_metrics(result)
        if key is None:
            row.setdefault("training_iteration", len(state.iterations) + 1)
            state.iterations.add(("line", len(state.iterations)))
        self._rows.append((self._next(), trial_id, row))

    def _add_event(self, trial_id: str, event: dict, state: Optional[_TrialState] = None) -> None:
        event = to_jsonable(event)
        if state is not None:  # the runner keeps a record both in memory and in events.jsonl
            key = json.dumps(event, sort_keys=True)
            if key in state.seen_events:
                return
            state.seen_events.add(key)
        seq = self._next()
        if state is not None:
            state.log.append((seq, event))
        self._events.append((seq, trial_id, event))

    def _summary(self, rec: TrialRecord) -> dict:
        log = self._states[rec.trial_id].log if rec.trial_id in self._states else []
        return trial_summary(rec, [event for _, event in log], [seq for seq, _ in log])

    def scan(self) -> None:
        """Pick up new trials, results, events and status changes."""
        records = self._source()
        for rec in records:
            state = self._states.get(rec.trial_id)
            if state is None:
                state = self._states[rec.trial_id] = _TrialState()
            if rec.logdir:
                for result in _read_new_lines(os.path.join(rec.logdir, "result.json"), state.results):
                    self._add_row(rec.trial_id, state, result)
                for event in _read_new_lines(os.path.join(rec.logdir, "events.jsonl"), state.events):
                    self._add_event(rec.trial_id, event, state)
            if self._live and isinstance(rec.last_result, dict):
                self._add_row(rec.trial_id, state, rec.last_result)
            for event in rec.events[state.memory_events:]:
                if isinstance(event, dict):
                    self._add_event(rec.trial_id, event, state)
            state.memory_events = len(rec.events)
            if state.status is not None and state.status != rec.status:
                self._add_event(rec.trial_id, {"type": "status", "from": state.status, "to": rec.status,
                                               "iteration": state.last_iteration, "time": time.time()})
            state.status = rec.status
        self._records = records

    def since(self, since: int, generation: Optional[str]) -> dict:
        """Everything after sequence number ``since`` (all of it for another generation)."""
        with self._lock:
            now = time.monotonic()
            if now - self._scanned_at >= MIN_SCAN_INTERVAL:
                self.scan()
                self._scanned_at = now
            reset = generation != self.generation or since > self._seq or since < 0
            if reset:
                since = 0
            rows = [{"t": tid, "r": row} for seq, tid, row in self._rows[self._index(self._rows, since):]]
            events = [{**ev, "t": tid, "s": seq} for seq, tid, ev in self._events[self._index(self._events, since):]]
            return {
                "generation": self.generation,
                "cursor": self._seq,
                "reset": reset,
                "trials": [self._summary(rec) for rec in self._records],
                "results": rows,
                "events": events,
            }

    @staticmethod
    def _index(items: list, since: int) -> int:
        """Position of the first item with a sequence number above ``since`` (binary search)."""
        lo, hi = 0, len(items)
        while lo < hi:
            mid = (lo + hi) // 2
            if items[mid][0] <= since:
                lo = mid + 1
            else:
                hi = mid
        return lo
