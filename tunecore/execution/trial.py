"""A trial: one configuration of one trainable, and everything the runner knows of it."""

from __future__ import annotations

import enum
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.util import as_float, format_number


class TrialStatus(str, enum.Enum):
    """The states A str subclass so ``trial.status == "RUNNING"`` works."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


RESOURCE_KEYS = ("cpu", "gpu", "extra_cpu", "extra_gpu")


@dataclass(frozen=True)
class Resources:
    """What one trial reserves. Extras are reserved for actors the trainable starts itself."""

    cpu: float = 1
    gpu: float = 0
    extra_cpu: float = 0
    extra_gpu: float = 0

    def __post_init__(self) -> None:
        for key in RESOURCE_KEYS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
                raise TuneError(
                    f"trial_resources.{key} must be a number >= 0, but got {key}={value!r}. "
                    'Write e.g. "trial_resources": {"cpu": 1, "gpu": 0.5}.'
                )
        if self.gpu > 1 and self.gpu != int(self.gpu):
            raise TuneError(
                f"trial_resources.gpu above 1 must be a whole number, but got gpu={self.gpu}. "
                "Fractions are for sharing one GPU (e.g. 0.5)."
            )

    @classmethod
    def from_json(cls, value: Any) -> Resources:
        """Parse ``{"cpu": 1, "gpu": 0, ...}``; unknown names are a clear error."""
        if value is None:
            return cls()
        if isinstance(value, Resources):
            return value
        if not isinstance(value, dict):
            raise TuneError(
                f"trial_resources must be a dict like {{'cpu': 1, 'gpu': 0}}, but got {value!r}."
            )
        legacy = {"driver_cpu_limit": "extra_cpu", "driver_gpu_limit": "extra_gpu"}
        for key in value:
            if key in legacy:
                raise TuneError(
                    f"trial_resources.{key} is no longer supported; use {legacy[key]!r} to reserve "
                    "resources for actors the trainable starts."
                )
            if key not in RESOURCE_KEYS:
                raise TuneError(
                    f"Unknown resource type {key!r} in trial_resources, must be one of {RESOURCE_KEYS}."
                )
        return cls(**{k: value[k] for k in RESOURCE_KEYS if k in value})

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    def cpu_total(self) -> float:
        return self.cpu + self.extra_cpu

    def gpu_total(self) -> float:
        return self.gpu + self.extra_gpu

    def summary_string(self) -> str:
        return f"{format_number(self.cpu_total())} CPUs, {format_number(self.gpu_total())} GPUs"


@dataclass
class Checkpoint:
    """Where a trial's latest saved state is.

    ``storage`` is ``"disk"`` (``value`` is a path on the node that wrote it) or
    ``"memory"`` (``value`` is a Ray ObjectRef to the tar bytes of
    ``Trainable.save_to_object``; it crosses nodes through the object store).
    """

    storage: str
    value: Any
    iteration: int = 0

    MEMORY = "memory"
    DISK = "disk"


_UNSAFE = re.compile(r"[^\w\-.=,+@\[\]]")


def safe_dirname(name: str, limit: int = 130) -> str:
    """A folder-safe version of a trial name, cut to ``limit`` characters."""
    return _UNSAFE.sub("_", name)[:limit].strip(".") or "trial"


@dataclass
class Trial:
    """One run of a trainable with one config. The runner owns its state transitions.

    Attributes:
        trainable_name: name in the trainable registry.
        config: the resolved hyperparameters handed to the trainable.
        trial_id: unique id (8 hex chars unless given).
        local_dir: the experiment directory the trial's folder lives in.
        experiment_tag: ``<counter>_<formatted vars>``.
        resources: what the trial reserves.
        stopping_criterion: ``{key: threshold}`` (``>=`` on any key) or a callable
            ``stop(trial_id, result) -> bool``.
    """

    trainable_name: str
    config: dict = field(default_factory=dict)
    trial_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    local_dir: str = R.DEFAULT_RESULTS_DIR
    experiment_tag: str = ""
    resources: Resources = field(default_factory=Resources)
    stopping_criterion: Any = field(default_factory=dict)
    checkpoint_freq: int = 0
    checkpoint_at_end: bool = False
    #: which checkpoints are kept: a CheckpointConfig as JSON (None keeps all)
    checkpoint_config: Optional[dict] = None
    #: the highest N of the ``checkpoint_N`` folders it has registered (names never repeat)
    checkpoint_index: int = 0
    restore_path: Optional[str] = None
    upload_dir: Optional[str] = None
    max_failures: int = 0
    experiment_name: str = ""
    loggers: Optional[list] = None
    #: the name shown for the trial (``trial_name_creator``); None: ``<trainable>_<tag>``
    custom_name: Optional[str] = None
    #: the trial folder's name (``trial_dirname_creator``); None: ``<name>_<trial id>``
    custom_dirname: Optional[str] = None

    status: TrialStatus = TrialStatus.PENDING
    last_result: Optional[dict] = None
    logdir: Optional[str] = None
    num_failures: int = 0
    error_file: Optional[str] = None
    error_msg: Optional[str] = None
    checkpoint: Optional[Checkpoint] = None
    location: Optional[tuple] = None  # (hostname, pid)
    results_seen: int = 0
    # Scheduler-visible history of perturbations, pauses etc. (free-form records).
    events: list = field(default_factory=list)
    #: the trial's CheckpointManager (tunecore.execution.retention), made by the runner
    checkpoint_manager: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.checkpoint is None and self.restore_path:
            self.checkpoint = Checkpoint(Checkpoint.DISK, self.restore_path)
        if self.stopping_criterion is None:
            self.stopping_criterion = {}

    # -- predicates -----------------------------------------------------------------
    def should_stop(self, result: dict) -> bool:
        """True if the result is ``done`` or meets any stopping criterion."""
        if result.get(R.DONE):
            return True
        crit = self.stopping_criterion
        if callable(crit):
            return bool(crit(self.trial_id, result))
        for key, threshold in crit.items():
            if key not in result:
                raise TuneError(
                    f"Stopping criterion {key!r} was not in the trial's result; the result had "
                    f"{sorted(k for k in result if k != 'config')}. Report {key!r} from the "
                    "trainable or change 'stop'."
                )
            value = result[key]
            if value is None:
                continue
            number = as_float(value)
            if number is None:
                raise TuneError(
                    f"Stopping criterion {key!r} needs a number, but the trial reported {key}={value!r}. "
                    f"Report a number for {key!r}, or stop on another key."
                )
            if number >= threshold:  # NaN meets no threshold
                return True
        return False

    def should_checkpoint(self, result: dict) -> bool:
        if result.get(R.DONE) and self.checkpoint_at_end:
            return True
        if not self.checkpoint_freq:
            return False
        return result.get(R.TRAINING_ITERATION, 0) % self.checkpoint_freq == 0

    def has_checkpoint(self) -> bool:
        return self.checkpoint is not None and self.checkpoint.value is not None

    def is_finished(self) -> bool:
        return self.status in (TrialStatus.TERMINATED, TrialStatus.ERROR)

    # -- naming -------------------------------------------------------------------
    def __str__(self) -> str:
        if self.custom_name:
            return self.custom_name
        name = self.trainable_name
        if isinstance(self.config, dict) and "env" in self.config:
            name += f"_{self.config['env']}"
        if self.experiment_tag:
            name += f"_{self.experiment_tag}"
        return name

    def __hash__(self) -> int:
        return hash(self.trial_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trial) and other.trial_id == self.trial_id

    def dirname(self) -> str:
        if self.custom_dirname:
            return safe_dirname(self.custom_dirname, limit=200)
        return f"{safe_dirname(str(self))}_{self.trial_id}"

    @property
    def path(self) -> Optional[str]:
        """The trial's folder (Ray Tune 2.x's name; None before the trial first starts)."""
        return self.logdir

    local_path = path

    def progress_string(self, driver_host: Optional[str] = None) -> str:
        """The per-trial status line"""
        status = self.status.value
        if self.error_file and os.path.exists(self.error_file):
            status += f", {self.num_failures} failures: {self.error_file}"
        if self.location and self.status == TrialStatus.RUNNING:
            host, pid = self.location
            status += f" [pid={pid}]" if host == driver_host or driver_host is None else f" [{host} pid={pid}]"
        res = self.last_result
        if res is None:
            return status
        pieces = [status, f"{int(res.get(R.TIME_TOTAL_S, 0) or 0)} s"]
        if res.get(R.TIMESTEPS_TOTAL) is not None:
            pieces.append(f"{res[R.TIMESTEPS_TOTAL]} ts")
        for key, label in ((R.EPISODE_REWARD_MEAN, "rew"), (R.MEAN_LOSS, "loss"), (R.MEAN_ACCURACY, "acc")):
            if isinstance(res.get(key), (int, float)):
                pieces.append(f"{res[key]:.3g} {label}")
        return ", ".join(pieces)
