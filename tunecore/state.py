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
import json
import os
import time
import weakref
from typing import TYPE_CHECKING, Any, Optional

from tunecore import result as R
from tunecore.trial import Checkpoint, Resources, Trial, TrialStatus
from tunecore.util import atomic_write, from_jsonable, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.runner import TrialRunner

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
        "stopping_criterion": to_jsonable(trial.stopping_criterion) if isinstance(trial.stopping_criterion, dict) else None,
        "stopping_criterion_pickle": None if isinstance(trial.stopping_criterion, dict) else _pickled(trial.stopping_criterion),
        "checkpoint_freq": trial.checkpoint_freq,
        "checkpoint_at_end": trial.checkpoint_at_end,
        "max_failures": trial.max_failures,
        "upload_dir": trial.upload_dir,
        "loggers": [l if isinstance(l, str) else getattr(l, "__name__", str(l)) for l in trial.loggers] if trial.loggers else trial.loggers,
        "checkpoint": ({"storage": ckpt.storage, "value": ckpt.value, "iteration": ckpt.iteration}
                       if ckpt is not None and ckpt.storage == Checkpoint.DISK and ckpt.value else None),
        "results_seen": trial.results_seen,
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
    return trial


def _safe_state(obj: Any) -> Any:
    try:
        state = to_jsonable(obj.save_state())
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
                None if ckpt is None else (id(ckpt), ckpt.storage, ckpt.iteration))

    def serialized(self, trial: Trial) -> str:
        key = self._key(trial)
        hit = self.records.get(trial.trial_id)
        if hit is not None and hit[0] == key:
            return hit[1]
        text = json.dumps(trial_to_record(trial), sort_keys=True)
        self.records[trial.trial_id] = (key, text)
        return text


_caches: "weakref.WeakKeyDictionary[Any, _RecordCache]" = weakref.WeakKeyDictionary()


def _cache_for(runner: Any) -> _RecordCache:
    try:
        cache = _caches.get(runner)
        if cache is None:
            cache = _caches[runner] = _RecordCache()
        return cache
    except TypeError:  # not weak-referenceable: no caching
        return _RecordCache()


def experiment_finished(runner: "TrialRunner") -> bool:
    """Every trial ended and the search algorithm has nothing more (a Ctrl-C is not an end)."""
    trials = runner.get_trials()
    return all(t.status in _FINISHED for t in trials) and bool(runner.search_alg.is_finished())


def write_experiment_state(runner: "TrialRunner") -> None:
    """One state file per experiment folder, holding that experiment's trials.

    ``runner.state_extra`` is merged into every file; its ``spec_fingerprints``
    (``{experiment_dir: fingerprint}``) becomes each file's ``spec_fingerprint``.
    """
    extra = dict(runner.state_extra)
    fingerprints = extra.pop("spec_fingerprints", None) or {}
    common = {
        "version": STATE_VERSION,
        "timestamp": time.time(),
        "search_alg": {"class": type(runner.search_alg).__name__, "state": _safe_state(runner.search_alg)},
        "scheduler": {"class": type(runner.scheduler).__name__, "state": _safe_state(runner.scheduler)},
        "finished": experiment_finished(runner),
        **extra,
    }
    cache = _cache_for(runner)
    by_dir: dict[str, list[str]] = {d: [] for d in runner.experiment_dirs}
    for trial in runner.get_trials():
        by_dir.setdefault(trial.local_dir, []).append(cache.serialized(trial))
    for folder, records in by_dir.items():
        head = dict(common, experiment_dir=folder)
        if folder in fingerprints:
            head["spec_fingerprint"] = fingerprints[folder]
        text = json.dumps(head, sort_keys=True)
        text = text[:-1] + ', "trials": [' + ", ".join(records) + "]}"
        atomic_write(os.path.join(folder, R.EXPERIMENT_STATE_FILE), text, durable=True)


def load_experiment_state(experiment_dir: str) -> Optional[dict]:
    """The state written by :func:`write_experiment_state`, or None when there is none.

    Raises:
        TuneError: the file is unreadable or from a newer tunecore.
    """
    from tunecore.errors import TuneError

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
        from tunecore.trainable import METADATA_FILE

        try:
            with open(os.path.join(checkpoint.value, METADATA_FILE), encoding="utf-8") as f:
                return int(json.load(f)["iteration"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return int(checkpoint.iteration or 0)
