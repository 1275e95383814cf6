"""How each trial ended: recorded by the runner, read back by the dashboard and ``tune ls``.

When a trial ends the runner appends one record to ``trial.events`` and to the trial's
``events.jsonl`` (:func:`ended_record`)::

    {"event": "ended", "how": HOW, "iteration": 7, "time": 1700000000.0, ...}

``HOW`` is one of :data:`HOWS`:

- ``stop_criterion``: a result met the experiment's ``stop`` (``criterion``: the keys met,
  with their thresholds; absent for a callable ``stop``);
- ``returned``: the trainable ended by itself (a function returned, or a result said ``done``);
- ``scheduler``: the scheduler stopped it (``scheduler``: its class name);
- ``user``: stopped by a user or a client (``TrialRunner.stop_trial``: the HTTP API, the dashboard);
- ``error``: it failed for good (``error``: the first line of the error, ``failures``);
- ``experiment``: the experiment ended while the trial had not (``reason``: ``stopper`` when a
  stopper's ``stop_all()`` said so, ``time_budget_s`` when the run's time budget ran out,
  ``fail_fast`` when another trial failed and ``fail_fast`` was set).

A scheduler's pause (``{"event": "paused", "by": "scheduler"}``) and a PBT exploit are
decisions, not ends; they are recorded as well. :func:`trial_ending` turns a trial's status
and records into what it shows. Folders written before endings were recorded have none:
their ending is inferred from the last result and says so (``"inferred": True``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from typing import Any, Optional

from tunecore import result as R
from tunecore.util import as_float, read_json_lines, to_jsonable

#: Where the runner appends a trial's records, in the trial's folder.
EVENTS_FILE = "events.jsonl"
#: The ``event`` of the record written when a trial ends.
ENDED = "ended"
#: The recorded ways a trial ends.
HOWS = ("stop_criterion", "returned", "scheduler", "user", "error", "experiment")
#: Why the experiment ended early, for ``how == "experiment"``.
EXPERIMENT_REASONS = {"stopper": "a stopper ended the experiment", "time_budget_s": "the time budget ran out",
                      "fail_fast": "fail_fast: another trial failed"}
#: Longest error line kept in a record.
MAX_ERROR = 300


def met_criterion(criterion: Any, result: Optional[dict]) -> Optional[dict]:
    """The ``{key: threshold}`` items of a dict criterion that ``result`` meets (None if none or not a dict)."""
    if not isinstance(criterion, dict) or not isinstance(result, dict):
        return None
    met = {}
    for key, threshold in criterion.items():
        value, limit = as_float(result.get(key)), as_float(threshold)
        if value is not None and limit is not None and value >= limit:
            met[key] = threshold
    return met or None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(\([\w.]*\))?(: |$)")
_WRAPPERS = ("tunecore.errors.TrialError: ", "TrialError: ", "Error running trial: ")


def error_headline(message: Any) -> Optional[str]:
    """The first line of an error: for a traceback, the line naming the exception (the cause a
    ``TrialError`` carries, when the runner added one); else the message's first line."""
    if not message:
        return None
    lines = [line.rstrip() for line in _ANSI.sub("", str(message)).splitlines() if line.strip()]
    if not lines:
        return None
    line = next((ln[len("Caused by: "):] for ln in reversed(lines) if ln.startswith("Caused by: ")), None)
    if line is None and lines[0].startswith("Traceback (most recent call last)"):
        named = [ln for ln in lines[1:] if _EXCEPTION_LINE.match(ln)
                 and not ln.startswith(("Traceback", "During handling", "The above exception"))]
        line = named[-1] if named else None
    line = line or lines[0]
    for prefix in _WRAPPERS:
        if line.startswith(prefix):
            line = line[len(prefix):]
    return line[:MAX_ERROR]


def append_event(logdir: str, record: dict) -> None:
    """Append ``record`` (a scheduler decision, a trial's end) to ``<logdir>/events.jsonl``."""
    with open(os.path.join(logdir, EVENTS_FILE), "a", encoding="utf-8") as f:
        f.write(json.dumps(to_jsonable(record), sort_keys=True) + "\n")


def ended_record(trial: Any, how: str, **detail: Any) -> dict:
    """The record of ``trial``'s end (``how`` one of :data:`HOWS`), from what the trial holds now."""
    last = trial.last_result if isinstance(trial.last_result, dict) else {}
    record = {"event": ENDED, "how": how, "iteration": last.get(R.TRAINING_ITERATION), "time": time.time()}
    if how == "stop_criterion":
        met = met_criterion(trial.stopping_criterion, last)
        if met:
            record["criterion"] = met
    elif how == "error":
        record["error"] = error_headline(trial.error_msg)
        record["failures"] = trial.num_failures
    record.update(detail)
    return record


def _kind(event: Any) -> Optional[str]:
    return (event.get("event") or event.get("type")) if isinstance(event, dict) else None


def is_exploit(event: Any) -> bool:
    return "exploit" in str(_kind(event) or "")


def exploit_count(events: Iterable) -> int:
    return sum(bool(is_exploit(e)) for e in events or ())


def trial_ending(status: Any, events: Iterable = (), last_result: Optional[dict] = None,
                 criterion: Any = None, error: Any = None) -> Optional[dict]:
    """How a trial ended (or why it is paused), for display; None while it is pending or running.

    Returns ``{"how", "iteration", "inferred", "index", ...}``: ``how`` is one of :data:`HOWS`,
    ``"paused"``, or for a folder without a recorded ending ``"early"`` (ended before its stop
    criterion) or ``"unknown"``; ``index`` is the position in ``events`` of the record it
    comes from (None when it comes from the status or is inferred). The record's own fields
    (``scheduler``, ``error``, ``criterion``...) are kept.
    """
    status = str(getattr(status, "value", status))
    events = list(events or ())
    last = last_result if isinstance(last_result, dict) else {}
    iteration = last.get(R.TRAINING_ITERATION)
    if status in ("TERMINATED", "ERROR"):
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            kind = _kind(event)
            if kind == ENDED and event.get("how") in HOWS:
                how = event["how"]
            elif kind == "stopped" and event.get("by") == "scheduler":  # written before "ended" records
                how = "scheduler"
            else:
                continue
            if (how == "error") != (status == "ERROR"):
                break  # an end from before a restart: the status says otherwise
            ending = {k: v for k, v in event.items() if k not in ("event", "by", "t", "s")}
            ending.update(how=how, inferred=False, index=index)
            ending.setdefault("iteration", iteration)
            return ending
        if status == "ERROR":
            return {"how": "error", "iteration": iteration, "error": error_headline(error), "inferred": False,
                    "index": None}
        if not last:
            return {"how": "unknown", "iteration": iteration, "inferred": True, "index": None}
        met = met_criterion(criterion, last)
        if met:
            return {"how": "stop_criterion", "criterion": met, "iteration": iteration, "inferred": True,
                    "index": None}
        how = "early" if isinstance(criterion, dict) and criterion else "unknown"
        return {"how": how, "iteration": iteration, "inferred": True, "index": None}
    if status == "PAUSED":
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if _kind(event) == "paused" and event.get("by") == "scheduler":
                if event.get("iteration") != iteration:
                    break  # it ran on after that pause: paused since by something else (e.g. Ctrl-C)
                return {"how": "paused", "iteration": iteration, "scheduler": event.get("scheduler"),
                        "inferred": False, "index": index}
        return {"how": "paused", "iteration": iteration, "scheduler": None, "inferred": False, "index": None}
    return None


def ending_label(ending: Optional[dict], exploits: int = 0) -> str:
    """A short text of an ending for ``tune ls`` (``-`` while the trial is pending or running)."""
    if not ending:
        text = "-"
    else:
        how = ending.get("how")
        at = f" @{ending['iteration']}" if ending.get("iteration") is not None else ""
        if how == "stop_criterion":
            text = "stop criterion" + (" " + ",".join(f"{k}>={v}" for k, v in ending["criterion"].items())
                                       if ending.get("criterion") else "") + at
        elif how == "returned":
            text = f"returned{at}"
        elif how == "scheduler":
            text = f"stopped by {ending.get('scheduler') or 'the scheduler'}{at}"
        elif how == "user":
            text = f"stopped by user{at}"
        elif how == "experiment":
            text = f"stopped{at}: {EXPERIMENT_REASONS.get(str(ending.get('reason')), 'the experiment ended')}"
        elif how == "error":
            error = str(ending.get("error") or "")
            text = f"error{at}" + (f": {error[:57] + '...' if len(error) > 60 else error}" if error else "")
        elif how == "paused":
            text = f"paused{' by ' + ending['scheduler'] if ending.get('scheduler') else ''}{at}"
        elif how == "early":
            text = f"stopped early?{at}"
        else:
            text = f"ended{at}"
        if ending.get("inferred"):
            text += " (inferred)"
    if exploits:
        text += f", exploited x{exploits}"
    return text


def last_error(logdir: Optional[str]) -> Optional[str]:
    """The last failure appended to ``<logdir>/error.txt`` (None without one)."""
    if not logdir:
        return None
    try:
        with open(os.path.join(logdir, R.ERROR_FILE), encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    block = text.rsplit("=== failure ", 1)[-1]
    return block.split("\n", 1)[1] if block.startswith(tuple("0123456789")) and "\n" in block else block


def folder_ending(logdir: Optional[str], status: Any, last_result: Optional[dict] = None,
                  criterion: Any = None) -> tuple[Optional[dict], int]:
    """A trial's ending and its number of exploits, from its folder's ``events.jsonl`` (``tune ls``)."""
    events = read_json_lines(os.path.join(logdir, EVENTS_FILE)) if logdir else []
    error = last_error(logdir) if str(getattr(status, "value", status)) == "ERROR" else None
    ending = trial_ending(status, events, last_result, criterion, error)
    if ending is not None:
        ending.pop("index", None)
    return ending, exploit_count(events)
