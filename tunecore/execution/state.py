"""``experiment_state.json``: everything needed to see or resume an experiment, written atomically.

The runner calls :func:`write_experiment_state` whenever a trial changes state (at
most once a second) and every few seconds otherwise. Each trial's serialized record
is cached until the trial changes, so finished and waiting trials are not
re-serialized: with 1,000 trials a write costs a string join and one file write,
not 1,000 ``json.dumps`` calls (see ``benchmarks/state_overhead.py``).

On resume, each logger drops what it logged after the checkpoint a trial restarts
from (``Logger.restore_iteration``), so no iteration is ever logged twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from tunecore import result as R
from tunecore._logging import get_logger
from tunecore.errors import TuneError
from tunecore.execution.trial import Checkpoint, Resources, Trial, TrialStatus
from tunecore.objective import Objective
from tunecore.util import atomic_write, from_jsonable, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.runner import TrialRunner
    from tunecore.experiment import Experiment

log = get_logger("tunecore.state")  # a stable name, whatever the module path

STATE_VERSION = 1

_FINISHED = (TrialStatus.TERMINATED, TrialStatus.ERROR)


def _pickled(value: Any) -> Optional[str]:
    """A base64 cloudpickle of ``value`` when JSON would lose something, else None."""
    if to_jsonable(value) == value:
        return None
    try:
        import cloudpickle

        return base64.b64encode(cloudpickle.dumps(value)).decode("ascii")
    except Exception:
        return None


def trial_to_record(trial: Trial) -> dict:
    """The JSON record of one trial (enough to rebuild it with :func:`trial_from_record`)."""
    ckpt = trial.checkpoint
    criterion = trial.stopping_criterion
    return {
        "trial_id": trial.trial_id,
        "trainable_name": trial.trainable_name,
        "experiment_name": trial.experiment_name,
        "experiment_tag": trial.experiment_tag,
        "name": str(trial),
        "config": to_jsonable(trial.config),
        "config_pickle": _pickled(trial.config),
        "status": trial.status.value,
        "last_result": to_jsonable(trial.last_result) if trial.last_result is not None else None,
        "logdir": trial.logdir,
        "local_dir": trial.local_dir,
        "num_failures": trial.num_failures,
        "error_file": trial.error_file,
        "resources": trial.resources.to_json(),
        "stopping_criterion": to_jsonable(criterion) if isinstance(criterion, dict) else None,
        "stopping_criterion_pickle": None if isinstance(criterion, dict) else _pickled(criterion),
        "checkpoint_freq": trial.checkpoint_freq,
        "checkpoint_at_end": trial.checkpoint_at_end,
        "checkpoint_config": trial.checkpoint_config,
        "checkpoint_index": trial.checkpoint_index,
        "checkpoints": trial.checkpoint_manager.to_json() if trial.checkpoint_manager is not None else None,
        "max_failures": trial.max_failures,
        "upload_dir": trial.upload_dir,
        "loggers": [lg if isinstance(lg, str) else getattr(lg, "__name__", str(lg)) for lg in trial.loggers]
        if trial.loggers else trial.loggers,
        "checkpoint": ({"storage": ckpt.storage, "value": ckpt.value, "iteration": ckpt.iteration}
                       if ckpt is not None and ckpt.storage == Checkpoint.DISK and ckpt.value else None),
        "results_seen": trial.results_seen,
        "custom_name": trial.custom_name,
        "custom_dirname": trial.custom_dirname,
    }


def trial_from_record(rec: dict) -> Trial:
    """Inverse of :func:`trial_to_record`."""
    import cloudpickle

    config = rec["config"]
    if rec.get("config_pickle"):
        config = cloudpickle.loads(base64.b64decode(rec["config_pickle"]))
    stop = rec.get("stopping_criterion") or {}
    if rec.get("stopping_criterion_pickle"):
        stop = cloudpickle.loads(base64.b64decode(rec["stopping_criterion_pickle"]))
    trial = Trial(
        trainable_name=rec["trainable_name"], config=config, trial_id=rec["trial_id"],
        local_dir=rec["local_dir"], experiment_tag=rec["experiment_tag"],
        resources=Resources.from_json(rec["resources"]), stopping_criterion=stop,
        checkpoint_freq=rec["checkpoint_freq"], checkpoint_at_end=rec["checkpoint_at_end"],
        upload_dir=rec.get("upload_dir"), max_failures=rec["max_failures"],
        experiment_name=rec["experiment_name"], loggers=rec.get("loggers"),
        checkpoint_config=rec.get("checkpoint_config"), checkpoint_index=rec.get("checkpoint_index", 0),
        custom_name=rec.get("custom_name"), custom_dirname=rec.get("custom_dirname"),
    )
    trial.status = TrialStatus(rec["status"])
    trial.last_result = rec.get("last_result")
    trial.logdir = rec.get("logdir")
    trial.num_failures = rec.get("num_failures", 0)
    trial.error_file = rec.get("error_file")
    trial.results_seen = rec.get("results_seen", 0)
    if rec.get("checkpoint"):
        c = rec["checkpoint"]
        trial.checkpoint = Checkpoint(c["storage"], c["value"], c.get("iteration", 0))
    if rec.get("checkpoints"):
        from tunecore.execution.retention import CheckpointManager

        trial.checkpoint_manager = CheckpointManager.from_json(rec["checkpoints"])
    return trial


def _safe_state(obj: Any) -> Any:
    try:
        return _jsonable_or_none(obj.save_state())
    except Exception:
        return None


def _jsonable_or_none(value: Any) -> Any:
    try:
        state = to_jsonable(value)
        json.dumps(state)
        return state
    except Exception:
        return None


class _RecordCache:
    """Serialized trial records, reused while the trial has not changed.

    The key holds what changes a record: status, results seen (every result), failures,
    the checkpoint, folder, tag and the identity of config and last result (replaced,
    never mutated, by the runner). Finished and never-started trials are therefore
    serialized once; only trials that reported since the last write are redone.
    """

    def __init__(self) -> None:
        self.records: dict[str, tuple[tuple, str]] = {}

    @staticmethod
    def _key(trial: Trial) -> tuple:
        ckpt = trial.checkpoint
        return (trial.status, trial.results_seen, trial.num_failures, id(trial.config), id(trial.last_result),
                trial.logdir, trial.experiment_tag, trial.error_file, trial.local_dir,
                None if ckpt is None else (id(ckpt), ckpt.storage, ckpt.iteration),
                None if trial.checkpoint_manager is None else trial.checkpoint_manager.version)

    def serialized(self, trial: Trial) -> str:
        key = self._key(trial)
        hit = self.records.get(trial.trial_id)
        if hit is not None and hit[0] == key:
            return hit[1]
        text = json.dumps(trial_to_record(trial), sort_keys=True)
        self.records[trial.trial_id] = (key, text)
        return text


def fingerprint(experiment: Experiment) -> str:
    """A digest of what makes an experiment the same one (where it is stored aside)."""
    spec = {k: v for k, v in experiment.spec.items() if k not in ("local_dir", "upload_dir", "sync_period")}
    text = json.dumps({"name": experiment.name, "spec": spec}, sort_keys=True,
                      default=lambda o: getattr(o, "__name__", type(o).__name__))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ExperimentState:
    """``experiment_state.json`` of the experiments of one run: saving it, and resuming from it.

    One file per experiment folder, holding that folder's trials, the search algorithm's
    and the scheduler's state and the spec's fingerprint (a resume refuses another spec's
    folder). The runner calls :meth:`save`; the run's owner
    (:class:`tunecore.execution.lifecycle.ExperimentRun`) calls :meth:`load` and
    :meth:`restore` before the loop starts.
    """

    def __init__(self, experiments: Sequence[Experiment] = (), objective: Optional[Objective] = None) -> None:
        self.fingerprints = {exp.dir: fingerprint(exp) for exp in experiments}
        #: the run's metric, mode and constraints, saved for the readers (``tune ls``, the dashboard)
        self.objective = objective.to_json() if objective is not None else None
        self._records = _RecordCache()

    # -- saving ---------------------------------------------------------------------------
    def save(self, experiment_dirs: Sequence[str], trials: Sequence[Trial], search_alg: Any,
             scheduler: Any, callbacks: Any = None) -> None:
        """Write every folder's file atomically (and durably: it is what a resume reads)."""
        common = {
            "version": STATE_VERSION,
            "timestamp": time.time(),
            "search_alg": {"class": type(search_alg).__name__, "state": _safe_state(search_alg)},
            "scheduler": {"class": type(scheduler).__name__, "state": _safe_state(scheduler)},
            "finished": all(t.status in _FINISHED for t in trials) and bool(search_alg.is_finished()),
        }
        if self.objective is not None:
            common["objective"] = self.objective
        if callbacks:
            common["callbacks"] = _jsonable_or_none(callbacks.get_state())
        by_dir: dict[str, list[str]] = {d: [] for d in experiment_dirs}
        for trial in trials:
            by_dir.setdefault(trial.local_dir, []).append(self._records.serialized(trial))
        for folder, records in by_dir.items():
            head = dict(common, experiment_dir=folder)
            if folder in self.fingerprints:
                head["spec_fingerprint"] = self.fingerprints[folder]
            shared = _shared_stopper([t for t in trials if t.local_dir == folder])
            if shared is not None:
                head["stopper_pickle"] = shared
            text = json.dumps(head, sort_keys=True)
            text = text[:-1] + ', "trials": [' + ", ".join(records) + "]}"
            atomic_write(os.path.join(folder, R.EXPERIMENT_STATE_FILE), text, durable=True)

    # -- resuming -------------------------------------------------------------------------
    def load(self, experiments: Sequence[Experiment]) -> dict[str, dict]:
        """``{experiment_dir: state}`` of the experiments that left one; refuses another spec's."""
        states = {}
        for exp in experiments:
            state = load_experiment_state(exp.dir)
            if state is None:
                continue
            found, expected = state.get("spec_fingerprint"), fingerprint(exp)
            if found != expected:
                raise TuneError(
                    f"Cannot resume experiment {exp.name!r} from {exp.dir}: its experiment_state.json was "
                    f"written for a different spec (fingerprint {found} vs {expected} for this one); "
                    "config, stop, run, num_samples and resources must be the same to resume.\n"
                    "Run the same spec to resume it, or give another name/local_dir (or move the folder "
                    "away) to start a new experiment."
                )
            states[exp.dir] = state
        return states

    @staticmethod
    def finished_trials(experiments: Sequence[Experiment], states: dict[str, dict]) -> Optional[list[Trial]]:
        """The trials, when every experiment's state says it finished; else None."""
        if not experiments or any(exp.dir not in states or not states[exp.dir].get("finished")
                                  for exp in experiments):
            return None
        return [trial_from_record(rec) for exp in experiments for rec in states[exp.dir]["trials"]]

    @staticmethod
    def restore(runner: TrialRunner, experiments: Sequence[Experiment], states: dict[str, dict]) -> bool:
        """Load the trials and the search/scheduler state of ``states`` into ``runner``.

        Finished trials are kept as they were; RUNNING and PAUSED ones restart from their
        last disk checkpoint (from scratch without one); PENDING ones start.

        Returns:
            True if there was an earlier state to resume.
        """
        if not states:
            return False
        first = next(iter(states.values()))
        for exp in experiments:
            state = states.get(exp.dir)
            if state is not None:
                for trial in restored_trials(state, exp.dir):
                    runner.add_trial(trial)
        for kind, component in (("search_alg", runner.search_alg), ("scheduler", runner.scheduler)):
            saved = first.get(kind) or {}
            if saved.get("state") is None:
                continue
            if saved.get("class") != type(component).__name__:
                log.warning("the experiment was run with the %s %s, now %s; its saved state is not used.",
                            kind, saved.get("class"), type(component).__name__)
                continue
            component.restore_state(saved["state"])
        if first.get("callbacks") and runner.callbacks:
            runner.callbacks.set_state(first["callbacks"])
        trials = runner.get_trials()
        log.info("resuming %s: %d of %d trials already finished.", ", ".join(states),
                    sum(t.is_finished() for t in trials), len(trials))
        return True


def apply_resume_policy(states: dict[str, dict], unfinished: bool = True, errored: str = "keep") -> None:
    """Choose which trials of loaded ``states`` run again (``Tuner.restore``'s options), in place.

    ``unfinished``: False ends the trials that had not finished (TERMINATED as they are).
    ``errored``: ``"keep"`` leaves ERROR trials alone, ``"resume"`` reruns them from their latest
    checkpoint, ``"restart"`` from scratch (in their own folder; their old rows are dropped).
    """
    if errored not in ("keep", "resume", "restart"):
        raise TuneError(f"errored must be 'keep', 'resume' or 'restart', but got {errored!r}")
    for state in states.values():
        for rec in state.get("trials") or []:
            status = rec.get("status")
            if status == TrialStatus.ERROR.value and errored != "keep":
                rec["status"] = TrialStatus.PAUSED.value
                rec["num_failures"] = 0
                if errored == "restart":
                    rec["checkpoint"] = None
                    rec["last_result"] = None
                state["finished"] = False
            elif status in ("PENDING", "RUNNING", "PAUSED") and not unfinished:
                rec["status"] = TrialStatus.TERMINATED.value


def _moved(path: Optional[str], old_dir: str, new_dir: str) -> Optional[str]:
    """``path`` under ``old_dir`` re-rooted under ``new_dir`` (the folder was moved)."""
    if not path or old_dir == new_dir or not isinstance(path, str):
        return path
    rel = os.path.relpath(path, old_dir)
    return path if rel.startswith("..") else os.path.join(new_dir, rel)


def _shared_stopper(trials: Sequence[Trial]) -> Optional[str]:
    """The pickle of the one stopper object the trials of a folder share (their ``stop=``), if they do.

    Each trial's record pickles its criterion apart (and finished trials' records are cached),
    which on resume would give each trial a private, stale copy of a stopper that watches them
    all (an :class:`~tunecore.stopper.ExperimentPlateauStopper`). The state file carries the
    shared object once, as of now, and a resume hands that one object to every trial.
    """
    shared = {id(c): c for t in trials if not isinstance(c := t.stopping_criterion, dict)}
    return _pickled(next(iter(shared.values()))) if len(shared) == 1 else None


def restored_trials(state: dict, experiment_dir: str) -> list[Trial]:
    """The trials of ``state`` (read from ``experiment_dir``), the unfinished ones ready to (re)start."""
    trials = []
    shared = None
    if state.get("stopper_pickle"):
        import cloudpickle

        shared = cloudpickle.loads(base64.b64decode(state["stopper_pickle"]))
    for rec in state["trials"]:
        trial = trial_from_record(rec)
        if shared is not None and not isinstance(trial.stopping_criterion, dict):
            trial.stopping_criterion = shared
        old = trial.local_dir
        if os.path.abspath(old) != os.path.abspath(experiment_dir):
            trial.local_dir = experiment_dir
            trial.logdir = _moved(trial.logdir, old, experiment_dir)
            trial.error_file = _moved(trial.error_file, old, experiment_dir)
            if trial.checkpoint is not None:
                trial.checkpoint.value = _moved(trial.checkpoint.value, old, experiment_dir)
        ckpt = trial.checkpoint
        if trial.status in (TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.PENDING):
            if ckpt is not None and trial.has_checkpoint() and isinstance(ckpt.value, str) \
                    and not os.path.exists(ckpt.value):
                log.warning("the checkpoint %s of trial %s is gone; the trial restarts from scratch.",
                            ckpt.value, trial)
                trial.checkpoint = None
            trial.status = TrialStatus.PENDING
            trial.location = None
            if not trial.has_checkpoint():
                trial.last_result = None  # restarts from scratch
        trials.append(trial)
    return trials


def load_experiment_state(experiment_dir: str) -> Optional[dict]:
    """The state written by :func:`write_experiment_state`, or None when there is none.

    Raises:
        TuneError: the file is unreadable or from a newer tunecore.
    """
    path = os.path.join(experiment_dir, R.EXPERIMENT_STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = from_jsonable(json.load(f))  # NaN/inf written as text come back as floats
    except (OSError, ValueError) as exc:
        raise TuneError(f"Cannot resume from {path}: the file cannot be read ({exc}). "
                        "Move it away to start the experiment afresh.") from None
    if not isinstance(state, dict) or not isinstance(state.get("trials"), list):
        raise TuneError(f"Cannot resume from {path}: it is not an experiment state file.")
    if int(state.get("version", 0)) > STATE_VERSION:
        raise TuneError(f"Cannot resume from {path}: written by a newer tunecore (state version "
                        f"{state['version']}, this one reads {STATE_VERSION}). Upgrade tunecore.")
    return state


# -- keeping result.json consistent with the checkpoint a trial restarts from ------------
def restore_iteration(checkpoint: Optional[Checkpoint]) -> int:
    """The training iteration a trial continues from when restored from ``checkpoint``.

    A disk checkpoint's own metadata is authoritative; 0 without a checkpoint.
    """
    if checkpoint is None or checkpoint.value is None:
        return 0
    if checkpoint.storage == Checkpoint.DISK and isinstance(checkpoint.value, str):
        from tunecore.trainables.trainable import METADATA_FILE

        try:
            with open(os.path.join(checkpoint.value, METADATA_FILE), encoding="utf-8") as f:
                return int(json.load(f)["iteration"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return int(checkpoint.iteration or 0)
