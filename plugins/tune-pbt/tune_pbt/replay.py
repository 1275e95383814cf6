"""Reading a PBT run's recorded schedule back, and replaying it for one trial."""

from __future__ import annotations

import copy
import json
import math
import os
from typing import Optional

from tune_pbt.pbt import EXPLOIT_EVENT
from tunecore.errors import TuneError
from tunecore.execution.trial import Trial
from tunecore.schedulers import Decision, SchedulerContext, TrialScheduler
from tunecore.util import from_jsonable, is_number, plain, read_json_lines, to_jsonable

EVENTS_FILE = "events.jsonl"
PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
REPLAY_EVENT = "pbt_replay"


def _read_events(path: str) -> list[dict]:
    records = []
    for rec in read_json_lines(path):  # a torn last line of a run that was killed is skipped
        if isinstance(rec.get("record"), dict) and "event" not in rec:
            rec = {**rec["record"], **{k: v for k, v in rec.items() if k != "record"}}
        records.append(rec)
    return records


def _trial_dirs(experiment_dir: str) -> list[str]:
    if not os.path.isdir(experiment_dir):
        raise TuneError(f"experiment_dir must be an experiment's folder, but got experiment_dir={experiment_dir!r} "
                        "(no such directory)")
    return sorted(os.path.join(experiment_dir, d) for d in os.listdir(experiment_dir)
                  if os.path.isdir(os.path.join(experiment_dir, d)))


def load_schedule(experiment_dir: str) -> list[dict]:
    """Every PBT exploit recorded under ``experiment_dir``, oldest first.

    Each record is a dict with ``trial_id``, ``iteration`` and ``time`` (when the trial
    was replaced), ``source_trial`` and ``source_iteration`` (whose state it got, from
    which iteration), ``old_config``, ``new_config``, ``operations``,
    ``experiment_tag``, ``score``/``source_score``, plus ``logdir`` (the trial's folder).

    Args:
        experiment_dir: ``<local_dir>/<experiment name>``.
    """
    out = []
    for d in _trial_dirs(experiment_dir):
        path = os.path.join(d, EVENTS_FILE)
        if not os.path.exists(path):
            continue
        for rec in _read_events(path):
            if rec.get("event") == EXPLOIT_EVENT:
                out.append({**rec, "logdir": d})
    out.sort(key=lambda r: (r.get("seq") or 0, r.get("timestamp") or 0.0, r.get("trial_id") or ""))
    return out


def _initial_configs(experiment_dir: str, trial_ids: set) -> dict:
    """trial_id -> params.json config, for trials that were never exploited."""
    configs = {}
    for d in _trial_dirs(experiment_dir):
        params = os.path.join(d, PARAMS_FILE)
        if not os.path.exists(params):
            continue
        tid = next((t for t in trial_ids if os.path.basename(d).endswith("_" + t)), None)
        if tid is None:
            tid = _trial_id_from_results(d)
        if tid in trial_ids:
            with open(params, encoding="utf-8") as f:
                configs[tid] = json.load(f)
    return configs


def _trial_id_from_results(d: str) -> Optional[str]:
    path = os.path.join(d, RESULT_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        return json.loads(first).get("trial_id")
    except (json.JSONDecodeError, AttributeError):
        return None


def trial_lineage(records: list[dict], trial_id: str, initial_configs: Optional[dict] = None) -> list[dict]:
    """The config schedule that produced ``trial_id``'s final state.

    Follows the chain of donors back: the trial's last exploit came from a donor's
    checkpoint at ``source_iteration``; that donor's state came from its own history up
    to that checkpoint, and so on to a trial that started from its initial config.

    Args:
        records: exploit records, as :func:`load_schedule` returns them.
        trial_id: the trial whose schedule to rebuild.
        initial_configs: ``trial_id -> config`` for trials never exploited (their
            params.json); trials that were exploited use their first ``old_config``.

    Returns:
        ``[{"iteration": 0, "config": c0}, {"iteration": i1, "config": c1}, ...]``: train
        with ``c0`` from the start, switch to ``c1`` once ``i1`` iterations are done, ...
    """
    by_trial: dict[str, list[dict]] = {}
    for i, rec in enumerate(records):
        by_trial.setdefault(rec["trial_id"], []).append({**rec, "_order": rec.get("seq") or i})
    initial_configs = initial_configs or {}

    def initial(tid: str) -> dict:
        events = by_trial.get(tid)
        if events:
            return events[0]["old_config"]
        if tid not in initial_configs:
            raise TuneError(f"No config recorded for trial {tid!r}: its params.json was not found")
        return initial_configs[tid]

    def lineage(tid: str, before: float, depth: int) -> list[dict]:
        if depth > 10_000:
            raise TuneError("The recorded PBT schedule has a cycle; the events files are inconsistent")
        events = [e for e in by_trial.get(tid, []) if e["_order"] < before]
        if not events:
            return [{"iteration": 0, "config": copy.deepcopy(initial(tid))}]
        last = events[-1]
        src_before = last.get("source_checkpoint_seq")
        prefix = lineage(last["source_trial"], src_before if src_before is not None else last["_order"],
                         depth + 1)
        return prefix + [{"iteration": last.get("source_iteration") or 0,
                          "config": copy.deepcopy(last["new_config"])}]

    schedule = lineage(trial_id, math.inf, 0)
    # Drop switches that a later one at the same iteration overrides.
    cleaned: list[dict] = []
    for step in schedule:
        if cleaned and cleaned[-1]["iteration"] == step["iteration"]:
            cleaned[-1] = step
        else:
            cleaned.append(step)
    return cleaned


def replay_schedule(experiment_dir: str, trial_id: str) -> list[dict]:
    """:func:`trial_lineage` of ``trial_id`` read from an experiment folder."""
    records = load_schedule(experiment_dir)
    ids = {r["trial_id"] for r in records} | {r["source_trial"] for r in records} | {trial_id}
    return trial_lineage(records, trial_id, _initial_configs(experiment_dir, ids))


class PopulationBasedTrainingReplay(TrialScheduler):
    """Replays the config schedule a PBT run found for one trial, on a single trial.

    The one trial of the experiment starts with the schedule's first config (set on
    ``on_trial_add``) and switches config in place (keeping its own state) at each
    recorded iteration. Each switch is recorded in the trial's ``events.jsonl``.

    Args:
        experiment_dir: the folder of the PBT run to replay (with ``trial_id``).
        trial_id: the trial whose final state's lineage to replay.
        schedule: instead of the two above, a schedule as :func:`trial_lineage` returns.
        verbose: print each switch.
    """

    requires_checkpointing = True

    def __init__(self, experiment_dir: Optional[str] = None, trial_id: Optional[str] = None,
                 schedule: Optional[list] = None, verbose: bool = True) -> None:
        if schedule is None:
            if experiment_dir is None or trial_id is None:
                raise TuneError("PopulationBasedTrainingReplay needs experiment_dir and trial_id, or schedule, "
                                f"but got experiment_dir={experiment_dir!r}, trial_id={trial_id!r}")
            schedule = replay_schedule(experiment_dir, trial_id)
        if not isinstance(schedule, list) or not schedule or not all(
                isinstance(s, dict) and "iteration" in s and isinstance(s.get("config"), dict) for s in schedule):
            raise TuneError("schedule must be a non-empty list of {'iteration': int, 'config': dict}, "
                            f"but got schedule={schedule!r}")
        self._schedule = sorted(schedule, key=lambda s: s["iteration"])
        self._next = 1
        self._trial: Optional[str] = None
        self._verbose = verbose

    @property
    def config(self) -> dict:
        """The config the replayed trial starts with."""
        return copy.deepcopy(self._schedule[0]["config"])

    @property
    def schedule(self) -> list[dict]:
        return copy.deepcopy(self._schedule)

    def on_trial_add(self, runner: SchedulerContext, trial: Trial) -> None:
        if self._trial is not None and self._trial != trial.trial_id:
            raise TuneError("PopulationBasedTrainingReplay replays one trial, but a second trial was added; "
                            "run the experiment with one sample and no grid search")
        self._trial = trial.trial_id
        trial.config = self.config

    def on_trial_result(self, runner: SchedulerContext, trial: Trial, result: dict) -> Decision:
        iteration = plain(result.get("training_iteration", 0))
        if not is_number(iteration) or iteration != iteration:
            return Decision.CONTINUE  # no usable training_iteration (None, NaN, text): no switch is due
        due = None
        while self._next < len(self._schedule) and self._schedule[self._next]["iteration"] <= iteration:
            due = self._schedule[self._next]
            self._next += 1
        if due is not None:
            new_config = copy.deepcopy(due["config"])
            record = {"event": REPLAY_EVENT, "trial_id": trial.trial_id, "iteration": iteration,
                      "old_config": trial.config, "new_config": new_config}
            if self._verbose:
                print(f"PopulationBasedTrainingReplay: {trial} switches config at iteration {iteration}")
            checkpoint = runner.save_trial(trial)
            if checkpoint is None:  # a function trainable that has reported no checkpoint yet
                self._next -= 1  # switch at its next result
                return Decision.CONTINUE
            runner.exploit_trial(trial, checkpoint, new_config, record=from_jsonable(to_jsonable(record)))
        return Decision.CONTINUE

    def debug_string(self) -> str:
        return (f"PopulationBasedTrainingReplay: {self._next - 1} of {len(self._schedule) - 1} "
                "config changes applied")
