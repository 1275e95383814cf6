"""Checkpoint retention: Ray Tune 2.x's ``CheckpointConfig`` and which of a trial's checkpoints stay on disk.

:class:`CheckpointConfig` says how often a trial checkpoints and how many checkpoints it
keeps (:func:`checkpoint_config_from_legacy` maps the 1.x ``tune.run`` arguments onto it).
:class:`CheckpointManager` applies it to one trial: every new checkpoint is registered
with the metrics reported with it, and the checkpoints no longer kept are deleted.

The rules are Ray Tune 2.x's: ``num_to_keep=None`` keeps everything; otherwise the best
``num_to_keep`` by ``checkpoint_score_attribute`` are kept (the most recent ones without a
score attribute), plus always the latest checkpoint, plus every pinned one.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from tunecore.errors import TuneError
from tunecore.trainables.folders import delete_directory
from tunecore.util import as_float, flatten_dict, from_jsonable, to_jsonable

__all__ = [
    "CheckpointConfig",
    "CheckpointConfigError",
    "CheckpointManager",
    "TrackedCheckpoint",
    "checkpoint_config_from_legacy",
    "checkpoint_score",
]

logger = logging.getLogger("tunecore.retention")

_ORDERS = ("max", "min")


class CheckpointConfigError(TuneError, ValueError):
    """A :class:`CheckpointConfig` (or the legacy arguments mapped onto one) has an invalid value.

    A ``ValueError`` too, as Ray raises for an invalid ``CheckpointConfig``.
    """


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_int(name: str, value: Any, minimum: int, none_ok: bool) -> Optional[int]:
    if value is None and none_ok:
        return None
    if _is_int(value) and value >= minimum:
        return int(value)
    allowed = f"None or an integer >= {minimum}" if none_ok else f"an integer >= {minimum}"
    raise CheckpointConfigError(f"{name} must be {allowed}, but got {name}={value!r}")


def _check_bool(name: str, value: Any, none_ok: bool) -> Optional[bool]:
    if value is None and none_ok:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    allowed = "None or a bool" if none_ok else "a bool"
    raise CheckpointConfigError(f"{name} must be {allowed}, but got {name}={value!r}")


def _check_attribute(name: str, value: Any) -> Optional[str]:
    if value is None or (isinstance(value, str) and value):
        return value
    raise CheckpointConfigError(f"{name} must be None or a non-empty str, but got {name}={value!r}")


@dataclass
class CheckpointConfig:
    """How a trial checkpoints and which of its checkpoints are kept (``ray.train.CheckpointConfig``).

    Attributes:
        num_to_keep: how many checkpoints to keep besides the latest; ``None`` keeps all.
        checkpoint_score_attribute: the metric that ranks checkpoints (``"a/b"`` looks into
            nested results); ``None`` ranks them by recency.
        checkpoint_score_order: ``"max"`` (higher scores are better) or ``"min"``.
        checkpoint_frequency: checkpoint every this many iterations; 0 never does.
        checkpoint_at_end: checkpoint when the trial ends; ``None`` leaves it to the default.

    Every field is validated on construction: integers must be ints (numpy integers are
    converted; bools are refused), and an invalid value raises :class:`CheckpointConfigError`.
    """

    num_to_keep: Optional[int] = None
    checkpoint_score_attribute: Optional[str] = None
    checkpoint_score_order: str = "max"
    checkpoint_frequency: int = 0
    checkpoint_at_end: Optional[bool] = None

    def __post_init__(self) -> None:
        """Validate and normalize every field.

        Raises:
            CheckpointConfigError: a field has an invalid value.
        """
        self.num_to_keep = _check_int("num_to_keep", self.num_to_keep, 1, none_ok=True)
        self.checkpoint_score_attribute = _check_attribute("checkpoint_score_attribute",
                                                           self.checkpoint_score_attribute)
        if not isinstance(self.checkpoint_score_order, str) or self.checkpoint_score_order not in _ORDERS:
            raise CheckpointConfigError("checkpoint_score_order must be 'max' or 'min', but got "
                                        f"checkpoint_score_order={self.checkpoint_score_order!r}")
        self.checkpoint_score_order = str(self.checkpoint_score_order)
        frequency = _check_int("checkpoint_frequency", self.checkpoint_frequency, 0, none_ok=False)
        assert frequency is not None
        self.checkpoint_frequency = frequency
        self.checkpoint_at_end = _check_bool("checkpoint_at_end", self.checkpoint_at_end, none_ok=True)

    def to_json(self) -> dict:
        """The fields as a JSON object.

        Returns:
            ``{field name: value}``.
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> CheckpointConfig:
        """The config :meth:`to_json` wrote; missing fields take their defaults.

        Args:
            d: the JSON object.

        Returns:
            The config.

        Raises:
            CheckpointConfigError: ``d`` is not a dict, has unknown keys or invalid values.
        """
        if not isinstance(d, dict):
            raise CheckpointConfigError(f"CheckpointConfig.from_json needs a dict, but got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in names)
        if unknown:
            raise CheckpointConfigError(f"CheckpointConfig.from_json got unknown keys {unknown}; "
                                        f"the fields are {sorted(names)}")
        return cls(**d)


def checkpoint_config_from_legacy(checkpoint_freq: int = 0, checkpoint_at_end: bool = False,
                                  keep_checkpoints_num: Optional[int] = None,
                                  checkpoint_score_attr: Optional[str] = None) -> CheckpointConfig:
    """The :class:`CheckpointConfig` of the 1.x ``tune.run`` checkpoint arguments.

    Args:
        checkpoint_freq: checkpoint every this many iterations (0: never).
        checkpoint_at_end: checkpoint when the trial ends.
        keep_checkpoints_num: how many checkpoints to keep (None: all).
        checkpoint_score_attr: the metric that ranks checkpoints, higher is better; a
            ``"min-"`` prefix (``"min-loss"``) means lower is better (Ray 1.x's convention).

    Returns:
        The equivalent config.

    Raises:
        CheckpointConfigError: an argument is invalid (the message names the legacy argument).
    """
    frequency = _check_int("checkpoint_freq", checkpoint_freq, 0, none_ok=False)
    at_end = _check_bool("checkpoint_at_end", checkpoint_at_end, none_ok=False)
    keep = _check_int("keep_checkpoints_num", keep_checkpoints_num, 1, none_ok=True)
    attribute = _check_attribute("checkpoint_score_attr", checkpoint_score_attr)
    order = "max"
    if attribute is not None and attribute.startswith("min-"):
        attribute, order = attribute[len("min-"):], "min"
        if not attribute:
            raise CheckpointConfigError("checkpoint_score_attr must name a metric after 'min-', but got "
                                        f"checkpoint_score_attr={checkpoint_score_attr!r}")
    assert frequency is not None
    return CheckpointConfig(num_to_keep=keep, checkpoint_score_attribute=attribute, checkpoint_score_order=order,
                            checkpoint_frequency=frequency, checkpoint_at_end=at_end)


def checkpoint_score(metrics: Optional[dict], attribute: Optional[str]) -> Optional[float]:
    """The score of a checkpoint: ``metrics[attribute]`` as a float.

    Args:
        metrics: the metrics reported with the checkpoint (None: none).
        attribute: the metric; ``"a/b"`` is ``metrics["a"]["b"]`` unless ``"a/b"`` is a key itself.

    Returns:
        The value as a float (infinities included), or None when there is no attribute, the
        metric is missing, not a real number (bools are not), or NaN.
    """
    if attribute is None or not isinstance(metrics, dict):
        return None
    if attribute in metrics:
        value = metrics[attribute]
    else:
        value = flatten_dict(metrics).get(attribute)
    score = as_float(value)
    return None if score is None or math.isnan(score) else score


def _check_path(path: Any, what: str) -> str:
    if not isinstance(path, str) or not path:
        raise TuneError(f"{what} needs a checkpoint path (a non-empty str), but got path={path!r}")
    return path


@dataclass(frozen=True)
class TrackedCheckpoint:
    """One checkpoint of a trial, as the :class:`CheckpointManager` knows it.

    Attributes:
        path: where the checkpoint is (what the manager's ``delete`` is given).
        iteration: the training iteration it was taken at.
        score: its :func:`checkpoint_score` (None: unscored; NaN is stored as None).
    """

    path: str
    iteration: int
    score: Optional[float] = None

    def __post_init__(self) -> None:
        """Validate the fields; the score becomes a float, NaN becomes None.

        Raises:
            TuneError: a field has an invalid value.
        """
        _check_path(self.path, "TrackedCheckpoint")
        if not _is_int(self.iteration) or self.iteration < 0:
            raise TuneError(f"iteration must be an integer >= 0, but got iteration={self.iteration!r}")
        object.__setattr__(self, "iteration", int(self.iteration))
        if self.score is not None:
            score = as_float(self.score)
            if score is None:
                raise TuneError(f"score must be None or a real number, but got score={self.score!r}")
            object.__setattr__(self, "score", None if math.isnan(score) else score)

    def to_json(self) -> dict:
        """The checkpoint as a JSON object (infinite scores as ``"Infinity"``/``"-Infinity"``).

        Returns:
            ``{"path", "iteration", "score"}``.
        """
        return {"path": self.path, "iteration": self.iteration, "score": to_jsonable(self.score)}

    @classmethod
    def from_json(cls, d: dict) -> TrackedCheckpoint:
        """The checkpoint :meth:`to_json` wrote.

        Args:
            d: the JSON object.

        Returns:
            The checkpoint.

        Raises:
            TuneError: ``d`` is not such an object.
        """
        if not isinstance(d, dict) or "path" not in d or "iteration" not in d:
            raise TuneError(f"TrackedCheckpoint.from_json needs a dict with path and iteration, but got {d!r}")
        return cls(path=d["path"], iteration=d["iteration"], score=from_jsonable(d.get("score")))


class CheckpointManager:
    """Which of one trial's checkpoints stay on disk.

    Every checkpoint the trial takes is :meth:`register`-ed; the ones no longer kept are
    deleted through ``delete`` at once. Kept are: all of them when ``num_to_keep`` is None;
    otherwise the best ``num_to_keep`` by score (unscored ones rank below every scored one,
    and among equals the more recent ranks higher; without a score attribute: the most
    recent), plus the latest checkpoint, plus every pinned one.

    A ``delete`` that raises ``OSError`` is logged as a warning; the checkpoint is no longer
    kept (it is never kept again, since part of it may be gone) and its deletion is retried
    after the next :meth:`register` or :meth:`unpin`.
    """

    def __init__(self, config: CheckpointConfig, delete: Callable[[str], object] = delete_directory) -> None:
        """Start with no checkpoints.

        Args:
            config: the retention rules.
            delete: removes one checkpoint, given its path (default: :func:`delete_directory`).

        Raises:
            TuneError: ``config`` is not a :class:`CheckpointConfig` or ``delete`` is not callable.
        """
        if not isinstance(config, CheckpointConfig):
            raise TuneError(f"CheckpointManager needs a CheckpointConfig, but got {type(config).__name__}")
        if not callable(delete):
            raise TuneError(f"CheckpointManager's delete must be callable, but got {delete!r}")
        self._config = config
        self._delete = delete
        self._kept: list[TrackedCheckpoint] = []  # in the order registered: oldest first
        self._pending: list[str] = []  # dropped, not yet deleted (a delete failed, or it is pinned)
        self._pins: collections.Counter[str] = collections.Counter()

    @property
    def config(self) -> CheckpointConfig:
        """The retention rules."""
        return self._config

    @property
    def latest(self) -> Optional[TrackedCheckpoint]:
        """The checkpoint registered last (None before the first)."""
        return self._kept[-1] if self._kept else None

    @property
    def best(self) -> Optional[TrackedCheckpoint]:
        """The best kept checkpoint by score in the configured order (ties: the more recent).

        Without a score attribute, the latest.
        """
        if not self._kept:
            return None
        return self._kept[max(range(len(self._kept)), key=self._rank)]

    @property
    def checkpoints(self) -> list[TrackedCheckpoint]:
        """The kept checkpoints, oldest first (a new list)."""
        return list(self._kept)

    @property
    def pending_deletion(self) -> list[str]:
        """The paths dropped but not deleted yet (a delete failed): retried on the next register."""
        return list(self._pending)

    @property
    def version(self) -> tuple:
        """Changes whenever what is kept or pending deletion changes (for caching a saved state)."""
        return tuple(c.path for c in self._kept), tuple(self._pending)

    def register(self, path: str, iteration: int, metrics: Optional[dict] = None) -> list[str]:
        """Record a new checkpoint (it becomes the latest) and delete those no longer kept.

        Registering a path again (a checkpoint rewritten in place) replaces its entry, which
        becomes the latest: it is never deleted by its own registration.

        Args:
            path: the checkpoint.
            iteration: the training iteration it was taken at.
            metrics: the metrics reported with it (its score is read from them).

        Returns:
            The paths deleted, oldest first.

        Raises:
            TuneError: an argument is invalid.
        """
        _check_path(path, "CheckpointManager.register")
        if metrics is not None and not isinstance(metrics, dict):
            raise TuneError(f"CheckpointManager.register needs metrics as a dict or None, but got {metrics!r}")
        tracked = TrackedCheckpoint(path, iteration, checkpoint_score(metrics, self._config.checkpoint_score_attribute))
        self._kept = [c for c in self._kept if c.path != path]
        self._pending = [p for p in self._pending if p != path]  # written anew: no longer to delete
        self._kept.append(tracked)
        return self._collect()

    def pin(self, path: str) -> None:
        """Keep ``path`` on disk until a matching :meth:`unpin` (pins are counted).

        For a paused trial, a restore in flight or a PBT exploit. The path need not be
        registered yet.

        Args:
            path: the checkpoint.

        Raises:
            TuneError: ``path`` is not a path.
        """
        self._pins[_check_path(path, "CheckpointManager.pin")] += 1

    def unpin(self, path: str) -> list[str]:
        """Drop one pin of ``path``; delete now what was kept only for it.

        Args:
            path: the checkpoint.

        Returns:
            The paths deleted, oldest first.

        Raises:
            TuneError: ``path`` is not pinned.
        """
        _check_path(path, "CheckpointManager.unpin")
        if self._pins.get(path, 0) <= 0:
            raise TuneError(f"CheckpointManager.unpin({path!r}): the checkpoint is not pinned")
        self._pins[path] -= 1
        if self._pins[path] == 0:
            del self._pins[path]
        return self._collect()

    def _rank(self, index: int) -> tuple:
        """Sort key of ``self._kept[index]``: larger ranks higher."""
        if self._config.checkpoint_score_attribute is None:
            return (index,)
        score = self._kept[index].score
        if score is None:
            return (False, 0.0, index)
        return (True, score if self._config.checkpoint_score_order == "max" else -score, index)

    def _kept_paths(self) -> set[str]:
        if self._config.num_to_keep is None:
            return {c.path for c in self._kept}
        ranked = sorted(range(len(self._kept)), key=self._rank, reverse=True)
        keep = {self._kept[i].path for i in ranked[:self._config.num_to_keep]}
        if self._kept:
            keep.add(self._kept[-1].path)
        keep.update(p for p, n in self._pins.items() if n > 0)
        return keep

    def _collect(self) -> list[str]:
        """Drop what is no longer kept, then delete every dropped path that is not pinned."""
        keep = self._kept_paths()
        self._pending.extend(c.path for c in self._kept if c.path not in keep)
        self._kept = [c for c in self._kept if c.path in keep]
        deleted = []
        for path in list(self._pending):
            if self._pins.get(path):
                continue
            try:
                self._delete(path)
            except OSError as e:
                logger.warning("Could not delete checkpoint %s (it is no longer kept; the deletion is retried "
                               "after the next checkpoint): %s", path, e)
                continue
            self._pending.remove(path)
            deleted.append(path)
        return deleted

    def to_json(self) -> dict:
        """The manager's state as a JSON object, for the experiment state (pins are not saved).

        Returns:
            ``{"config", "checkpoints", "pending_deletion"}``.
        """
        return {"config": self._config.to_json(), "checkpoints": [c.to_json() for c in self._kept],
                "pending_deletion": list(self._pending)}

    @classmethod
    def from_json(cls, d: dict, delete: Callable[[str], object] = delete_directory) -> CheckpointManager:
        """The manager :meth:`to_json` saved, with no pins; nothing is deleted until the next register.

        Args:
            d: the JSON object.
            delete: as for the constructor.

        Returns:
            The manager.

        Raises:
            TuneError: ``d`` is not such an object (:class:`CheckpointConfigError` for its config).
        """
        if not isinstance(d, dict) or not isinstance(d.get("checkpoints", []), list) or not isinstance(
                d.get("pending_deletion", []), list):
            raise TuneError(f"CheckpointManager.from_json needs the dict to_json wrote, but got {d!r}")
        manager = cls(CheckpointConfig.from_json(d.get("config", {})), delete)
        manager._kept = [TrackedCheckpoint.from_json(c) for c in d.get("checkpoints", [])]
        manager._pending = [_check_path(p, "CheckpointManager.from_json") for p in d.get("pending_deletion", [])]
        paths = [c.path for c in manager._kept]
        if len(set(paths)) != len(paths) or set(paths) & set(manager._pending):
            raise TuneError("CheckpointManager.from_json: a checkpoint path appears twice")
        return manager


def spec_checkpoint_config(spec: Mapping) -> CheckpointConfig:
    """The :class:`CheckpointConfig` of an experiment spec.

    ``checkpoint_config`` (a CheckpointConfig or its dict) and the older keys
    ``checkpoint_freq``, ``checkpoint_at_end``, ``keep_checkpoints_num`` and
    ``checkpoint_score_attr`` may be mixed; a setting given both ways must agree.

    Raises:
        CheckpointConfigError: an invalid value, or two that disagree.
    """
    legacy = checkpoint_config_from_legacy(spec.get("checkpoint_freq") or 0, bool(spec.get("checkpoint_at_end")),
                                           spec.get("keep_checkpoints_num"), spec.get("checkpoint_score_attr"))
    given = spec.get("checkpoint_config")
    if given is None:
        return legacy
    config = given if isinstance(given, CheckpointConfig) else CheckpointConfig.from_json(dict(given))
    merged = dataclasses.replace(config)
    pairs = (("checkpoint_frequency", "checkpoint_freq", 0), ("checkpoint_at_end", "checkpoint_at_end", False),
             ("num_to_keep", "keep_checkpoints_num", None),
             ("checkpoint_score_attribute", "checkpoint_score_attr", None))
    for name, old, unset in pairs:
        new_value, old_value = getattr(config, name), getattr(legacy, name)
        if old_value in (unset, None):
            continue
        if new_value in (unset, None):
            setattr(merged, name, old_value)
            if name == "checkpoint_score_attribute":
                merged.checkpoint_score_order = legacy.checkpoint_score_order
        elif new_value != old_value:
            raise CheckpointConfigError(f"checkpoint_config.{name}={new_value!r} and {old}={spec.get(old)!r} "
                                        "disagree: give one of them.")
    return merged
