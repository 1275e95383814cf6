"""Experiments: the user's description of what to run, validated before anything starts."""

from __future__ import annotations

import os
import types
import warnings
from typing import Any, Optional

from tunecore import result as R
from tunecore import spec as _spec
from tunecore.errors import TuneError
from tunecore.execution.trial import Resources, Trial
from tunecore.trainables.registry import trainable_name

#: Every key an experiment spec may have, with its default (from the table in tunecore.spec).
SPEC_DEFAULTS: dict[str, Any] = _spec.spec_defaults()
#: Every key, then the aliases ``repeat`` and ``env``.
SPEC_KEYS = _spec.spec_keys()


def validate_spec_values(spec: dict, where: str = "") -> None:
    """Type-check the resolved or partly resolved keys of one experiment spec (see tunecore.spec)."""
    _spec.validate_values(spec, where)


class Experiment:
    """One named experiment: a trainable, a search space, stopping rules and resources.

    Args mirror the spec keys, which ``tunecore.spec.SPEC_FIELDS`` defines (``tune schema``
    prints them); ``repeat`` is the 2018 Tune's name for ``num_samples``, and ``None`` means a key's
    default. ``run`` is a registered name, a function ``f(config, reporter)`` or a Trainable
    subclass (functions and classes are registered under their ``__name__``).
    """

    def __init__(self, name: str, run: Any, stop: Any = None, config: Optional[dict] = None,
                 trial_resources: Optional[dict] = None, repeat: Optional[int] = None,
                 num_samples: Optional[int] = None, local_dir: Optional[str] = None,
                 upload_dir: Optional[str] = SPEC_DEFAULTS["upload_dir"],
                 checkpoint_config: Any = None, keep_checkpoints_num: Optional[int] = None,
                 checkpoint_score_attr: Optional[str] = None,
                 checkpoint_freq: int = SPEC_DEFAULTS["checkpoint_freq"],
                 checkpoint_at_end: bool = SPEC_DEFAULTS["checkpoint_at_end"],
                 max_failures: int = SPEC_DEFAULTS["max_failures"],
                 restore: Optional[str] = None, loggers: Optional[list] = None,
                 sync_period: float = SPEC_DEFAULTS["sync_period"], seed: Optional[int] = None) -> None:
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise TuneError(f"An experiment name must be a non-empty string without '/', but got {name!r}")
        if run is None:
            raise TuneError(f"Experiment {name!r}: no trainable specified; set 'run'.")
        given = {"run": run, "stop": stop, "config": config, "trial_resources": trial_resources,
                 "num_samples": num_samples, "local_dir": local_dir, "upload_dir": upload_dir,
                 "checkpoint_config": checkpoint_config, "keep_checkpoints_num": keep_checkpoints_num,
                 "checkpoint_score_attr": checkpoint_score_attr,
                 "checkpoint_freq": checkpoint_freq, "checkpoint_at_end": checkpoint_at_end,
                 "max_failures": max_failures, "restore": restore, "loggers": loggers,
                 "sync_period": sync_period, "seed": seed}
        assert set(given) == set(SPEC_DEFAULTS), "Experiment's arguments are the table's keys"
        _spec.validate_values({**given, "repeat": repeat}, where=name)
        from tunecore.execution.retention import CheckpointConfig, spec_checkpoint_config
        from tunecore.search.resolve import is_unresolved

        keys = ("checkpoint_config", "keep_checkpoints_num", "checkpoint_score_attr", "checkpoint_freq",
                "checkpoint_at_end")
        if not any(is_unresolved(given[k]) for k in keys):  # else checked per variant
            try:
                spec_checkpoint_config(given)  # the checkpoint keys agree with each other
            except TuneError as exc:
                raise TuneError(f"Experiment {name!r}: {exc}") from None
        if isinstance(checkpoint_config, CheckpointConfig):
            given["checkpoint_config"] = checkpoint_config.to_json()  # the spec stays JSON
        if repeat is not None and num_samples is not None and repeat != num_samples:
            warnings.warn(f"Experiment {name!r}: both repeat={repeat} and num_samples={num_samples} given; "
                          "using num_samples.", stacklevel=2)
        if num_samples is None:
            given["num_samples"] = repeat
        value = {key: (v if v is not None else SPEC_DEFAULTS[key]) for key, v in given.items()}
        if isinstance(run, types.FunctionType) and run.__name__ == "<lambda>":
            run_value: Any = run  # computed per variant, must evaluate to a registered name
        elif isinstance(run, dict):
            run_value = run  # e.g. a grid search over trainable names
        else:
            run_value = trainable_name(run)
        restore = value["restore"]
        self.name = name
        self.spec: dict[str, Any] = {
            **value,
            "run": run_value,
            "stop": value["stop"] if value["stop"] is not None else {},
            "config": value["config"] if value["config"] is not None else {},
            "local_dir": os.path.expanduser(str(local_dir)) if local_dir else R.DEFAULT_RESULTS_DIR,
            "upload_dir": upload_dir or "",
            "restore": os.path.expanduser(restore) if isinstance(restore, str) else restore,
        }

    @property
    def dir(self) -> str:
        """``<local_dir>/<name>``."""
        return os.path.join(self.spec["local_dir"], self.name)

    @classmethod
    def from_json(cls, name: str, spec: Any) -> Experiment:
        """Build from the dict form ``{run, stop, config, ...}`` (the caller's dict is not changed)."""
        if not isinstance(spec, dict):
            raise TuneError(f"Experiment {name!r}: the spec must be a dict of experiment keys, but got {spec!r}")
        if "run" not in spec:
            raise TuneError(f"Experiment {name!r}: no trainable specified; add a 'run' key.")
        _spec.check_known_keys(name, spec)
        _spec.validate_values(spec, where=name)  # before env is moved into the config
        spec = dict(spec)  # shallow copy; values are not mutated
        if "env" in spec:
            spec["config"] = {**(spec.get("config") or {}), "env": spec.pop("env")}
        return cls(name, **spec)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, run={self.spec['run']!r})"


def convert_to_experiment_list(experiments: Any) -> list[Experiment]:
    """``None``, an Experiment, a list of them, or ``{name: spec}`` -> a list of Experiments."""
    if experiments is None:
        return []
    if isinstance(experiments, Experiment):
        return [experiments]
    if isinstance(experiments, dict):
        if not experiments:
            raise TuneError("No experiments given: the experiments dict is empty.")
        return [Experiment.from_json(name, spec) for name, spec in experiments.items()]
    if isinstance(experiments, (list, tuple)) and all(isinstance(e, Experiment) for e in experiments):
        return list(experiments)
    raise TuneError(
        f"Invalid experiments argument {experiments!r}: give an Experiment, a list of Experiments, "
        "or a dict {name: spec}."
    )


def _default_if_none(spec: dict, key: str) -> Any:
    """``spec[key]``, or the table's default when it is missing or None (a grid may hold None)."""
    value = spec.get(key)
    return SPEC_DEFAULTS[key] if value is None else value


def create_trial_from_spec(spec: dict, experiment: Experiment, experiment_tag: str,
                           trial_id: Optional[str] = None) -> Trial:
    """Make a Trial from one fully resolved variant of ``experiment.spec``.

    Raises TuneError naming the bad key for anything still invalid after resolution.
    """
    where = experiment.name
    if "run" not in spec or spec["run"] is None:
        raise TuneError(f"Experiment {where!r}: must specify 'run'.")
    validate_spec_values(spec, where=where)
    run = spec["run"]
    if not isinstance(run, str):
        run = trainable_name(run)
    from tunecore.trainables.registry import get_trainable_cls

    trainable_cls = get_trainable_cls(run)
    config = spec.get("config") or {}
    if spec.get("trial_resources") is not None:
        resources = Resources.from_json(spec["trial_resources"])
    else:
        resources = trainable_cls.default_resource_request(config)
        if isinstance(resources, dict):
            resources = Resources.from_json(resources)
    from tunecore.execution.retention import spec_checkpoint_config

    checkpointing = spec_checkpoint_config(spec)
    kwargs: dict[str, Any] = {}
    if trial_id:
        kwargs["trial_id"] = trial_id
    return Trial(
        trainable_name=run,
        config=config,
        local_dir=os.path.join(os.path.expanduser(spec.get("local_dir") or R.DEFAULT_RESULTS_DIR), where),
        experiment_tag=experiment_tag,
        resources=resources,
        stopping_criterion=spec.get("stop") or {},
        checkpoint_freq=checkpointing.checkpoint_frequency,
        checkpoint_at_end=bool(checkpointing.checkpoint_at_end),
        checkpoint_config=checkpointing.to_json(),
        restore_path=spec.get("restore"),
        upload_dir=spec.get("upload_dir") or None,
        max_failures=_default_if_none(spec, "max_failures"),
        experiment_name=where,
        loggers=spec.get("loggers"),
        **kwargs,
    )
