"""``experiment_state.json``: everything needed to see or resume an experiment, written atomically."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import TYPE_CHECKING, Any, Optional

from tunecore import result as R
from tunecore.trial import Checkpoint, Resources, Trial, TrialStatus
from tunecore.util import atomic_write, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.runner import TrialRunner

STATE_VERSION = 1


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
        state = obj.save_state()
        json.dumps(to_jsonable(state))
        return to_jsonable(state)
    except Exception:
        return None


def write_experiment_state(runner: "TrialRunner") -> None:
    """One state file per experiment folder, holding that experiment's trials."""
    common = {
        "version": STATE_VERSION,
        "timestamp": time.time(),
        "search_alg": {"class": type(runner.search_alg).__name__, "state": _safe_state(runner.search_alg)},
        "scheduler": {"class": type(runner.scheduler).__name__, "state": _safe_state(runner.scheduler)},
        "finished": runner.is_finished(),
        **runner.state_extra,
    }
    by_dir: dict[str, list] = {d: [] for d in runner.experiment_dirs}
    for trial in runner.get_trials():
        by_dir.setdefault(trial.local_dir, []).append(trial_to_record(trial))
    for folder, records in by_dir.items():
        state = dict(common, experiment_dir=folder, trials=records)
        atomic_write(os.path.join(folder, R.EXPERIMENT_STATE_FILE), json.dumps(state, sort_keys=True))


def load_experiment_state(experiment_dir: str) -> Optional[dict]:
    path = os.path.join(experiment_dir, R.EXPERIMENT_STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)
