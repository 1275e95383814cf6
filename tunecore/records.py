"""A trial as read back: from a live runner, or from an experiment folder's ``experiment_state.json``.

One record type serves every reader (``tunecore.Analysis``, ``tune ls``, the dashboard and the
HTTP API), and :func:`read_records` is the one place that turns a state file into records,
including the fix-ups a folder that was moved or copied since needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from tunecore import result as R
from tunecore.objective import Objective
from tunecore.util import read_json_lines


@dataclass
class TrialRecord:
    """What a reader knows of one trial. The first seven fields keep their positional order."""

    trial_id: str
    name: str
    status: str
    config: Any
    logdir: Optional[str] = None
    last_result: Optional[dict] = None
    num_failures: int = 0
    trainable_name: str = ""
    experiment_tag: str = ""
    error: Optional[str] = None
    stopping_criterion: Any = None
    events: list = field(default_factory=list)
    _results: Optional[list] = field(default=None, repr=False, compare=False)

    def results(self) -> list[dict]:
        """Every row of the trial's ``result.json`` (read once, then cached)."""
        if self._results is None:
            self._results = read_json_lines(os.path.join(self.logdir, R.RESULT_FILE)) if self.logdir else []
        return self._results

    @classmethod
    def from_trial(cls, trial: Any) -> TrialRecord:
        """A record of a live :class:`tunecore.execution.trial.Trial` (safe to build from another thread)."""
        last = trial.last_result
        return cls(
            trial_id=trial.trial_id,
            name=str(trial),
            status=str(getattr(trial.status, "value", trial.status)),
            config=trial.config,
            logdir=trial.logdir,
            last_result=dict(last) if isinstance(last, dict) else None,
            num_failures=trial.num_failures,
            trainable_name=trial.trainable_name,
            experiment_tag=trial.experiment_tag or "",
            error=trial.error_msg,
            stopping_criterion=trial.stopping_criterion,
            events=list(getattr(trial, "events", None) or []),
        )

    @classmethod
    def from_state(cls, entry: dict, experiment_dir: Optional[str] = None) -> Optional[TrialRecord]:
        """A record of one entry of ``experiment_state.json``; None for an entry without a trial id.

        With ``experiment_dir``, a relative ``logdir`` is taken relative to it, and a trial
        folder that is no longer where the state says (the experiment was moved or copied)
        is looked for beside the state file.
        """
        trial_id = entry.get("trial_id")
        if not isinstance(trial_id, str):
            return None
        tag = str(entry.get("experiment_tag") or "")
        trainable = str(entry.get("trainable_name") or "")
        logdir = entry.get("logdir") if isinstance(entry.get("logdir"), str) else None
        if logdir and experiment_dir:
            logdir = _locate(logdir, experiment_dir)
        return cls(
            trial_id=trial_id,
            name=str(entry.get("name") or (f"{trainable}_{tag}" if tag else trainable) or trial_id),
            status=str(entry.get("status") or "PENDING"),
            config=entry.get("config") or {},
            logdir=logdir,
            last_result=entry.get("last_result") if isinstance(entry.get("last_result"), dict) else None,
            num_failures=int(entry.get("num_failures") or 0),
            trainable_name=trainable,
            experiment_tag=tag,
            error=entry.get("error_msg"),
            stopping_criterion=entry.get("stopping_criterion"),
            events=[e for e in entry.get("events") or [] if isinstance(e, dict)],
        )


def _locate(logdir: str, experiment_dir: str) -> str:
    if not os.path.isabs(logdir):
        logdir = os.path.join(experiment_dir, logdir)
    if not os.path.isdir(logdir):
        beside = os.path.join(experiment_dir, os.path.basename(logdir.rstrip(os.sep)))
        if os.path.isdir(beside):
            return beside
    return logdir


def read_records(experiment_dir: str) -> Optional[list[TrialRecord]]:
    """The trials of an experiment folder's state file, or None when the folder has none.

    Raises:
        TuneError: the state file is unreadable or from a newer tunecore.
    """
    return read_experiment(experiment_dir)[0]


def read_experiment(experiment_dir: str) -> tuple[Optional[list[TrialRecord]], Objective]:
    """The trials of an experiment folder's state file (None when it has none) and the objective
    the run was given (``Objective()`` when none, or for a folder without a state file).

    Raises:
        TuneError: the state file is unreadable or from a newer tunecore.
    """
    from tunecore.execution.endings import last_error
    from tunecore.execution.state import load_experiment_state

    state = load_experiment_state(experiment_dir)
    if state is None:
        return None, Objective()
    records = [r for r in (TrialRecord.from_state(e, experiment_dir) for e in state["trials"] if isinstance(e, dict))
               if r is not None]
    for record in records:
        if record.status == "ERROR" and not record.error:  # the state file does not hold the message
            record.error = last_error(record.logdir)
    return records, Objective.from_json(state.get("objective"))
