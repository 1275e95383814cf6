"""Experiments: the user's description of what to run, validated before anything starts."""

from __future__ import annotations

import copy
import os
import types
import warnings
from typing import Any, Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.registry import trainable_name
from tunecore.trial import Resources, Trial

#: Every key an experiment spec may have, with its default.
SPEC_DEFAULTS: dict[str, Any] = {
    "run": None,
    "stop": None,
    "config": None,
    "trial_resources": None,
    "num_samples": 1,
    "local_dir": None,
    "upload_dir": "",
    "checkpoint_freq": 0,
    "checkpoint_at_end": False,
    "max_failures": 3,
    "restore": None,
    "loggers": None,
    "sync_period": 300.0,
    "seed": None,
}
SPEC_KEYS = tuple(SPEC_DEFAULTS) + ("repeat", "env")


def _is_unresolved(value: Any) -> bool:
    """A value variant generation will replace (grid, lambda, eval, sample domain)."""
    from tunecore import variants

    return variants.is_unresolved(value)


def _check_type(key: str, value: Any, types_: tuple, expected: str, example: str) -> None:
    if value is None or _is_unresolved(value):
        return
    if isinstance(value, bool) and bool not in types_:
        ok = False
    else:
        ok = isinstance(value, types_)
    if not ok:
        raise TuneError(f"{key} must be {expected}, but got {key}={value!r}. Example: {example}")


def validate_spec_values(spec: dict, where: str = "") -> None:
    """Type-check the resolved or partly resolved keys of one experiment spec."""
    prefix = f"{where}." if where else ""
    _check_type(prefix + "num_samples", spec.get("num_samples"), (int,), "an int >= 1", '"num_samples": 10')
    if isinstance(spec.get("num_samples"), int) and not isinstance(spec["num_samples"], bool) and spec["num_samples"] < 1:
        raise TuneError(f"{prefix}num_samples must be >= 1, but got num_samples={spec['num_samples']}")
    _check_type(prefix + "checkpoint_freq", spec.get("checkpoint_freq"), (int,), "an int >= 0", '"checkpoint_freq": 10')
    if isinstance(spec.get("checkpoint_freq"), int) and spec["checkpoint_freq"] < 0:
        raise TuneError(f"{prefix}checkpoint_freq must be >= 0, but got checkpoint_freq={spec['checkpoint_freq']}")
    _check_type(prefix + "max_failures", spec.get("max_failures"), (int,), "an int >= 0", '"max_failures": 3')
    if isinstance(spec.get("max_failures"), int) and spec["max_failures"] < 0:
        raise TuneError(f"{prefix}max_failures must be >= 0, but got max_failures={spec['max_failures']}")
    _check_type(prefix + "checkpoint_at_end", spec.get("checkpoint_at_end"), (bool,), "true or false",
                '"checkpoint_at_end": true')
    _check_type(prefix + "config", spec.get("config"), (dict,), "a dict of hyperparameters",
                '"config": {"lr": 0.01}')
    _check_type(prefix + "local_dir", spec.get("local_dir"), (str, os.PathLike), "a folder path",
                '"local_dir": "~/ray_results"')
    _check_type(prefix + "upload_dir", spec.get("upload_dir"), (str,), "a URI string such as s3://bucket/prefix",
                '"upload_dir": "s3://my-bucket/experiments"')
    _check_type(prefix + "restore", spec.get("restore"), (str,), "a checkpoint path", '"restore": "/path/to/checkpoint"')
    _check_type(prefix + "sync_period", spec.get("sync_period"), (int, float), "a number of seconds", '"sync_period": 60')
    _check_type(prefix + "seed", spec.get("seed"), (int,), "an int", '"seed": 42')
    stop = spec.get("stop")
    if stop is not None and not _is_unresolved(stop) and not isinstance(stop, dict) and not callable(stop):
        raise TuneError(
            f"{prefix}stop must be a dict {{result_key: threshold}} or a callable stop(trial_id, result) -> bool, "
            f"but got stop={stop!r}. Example: \"stop\": {{\"training_iteration\": 100}}"
        )
    if isinstance(stop, dict):
        for key, threshold in stop.items():
            if not _is_unresolved(threshold) and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
                raise TuneError(f"{prefix}stop.{key} must be a number (stop when result[{key!r}] >= it), "
                                f"but got {threshold!r}")
    loggers = spec.get("loggers")
    if loggers is not None and not isinstance(loggers, (list, tuple)):
        raise TuneError(f'{prefix}loggers must be a list of logger names, e.g. ["json", "csv"], but got {loggers!r}')
    resources = spec.get("trial_resources")
    if resources is not None and not _is_unresolved(resources) and not any(
            _is_unresolved(v) for v in (resources.values() if isinstance(resources, dict) else ())):
        Resources.from_json(resources)


class Experiment:
    """One named experiment: a trainable, a search space, stopping rules and resources.

    Args mirror the spec keys (spec §3.1); ``repeat`` is the seed's name for
    ``num_samples``. ``run`` is a registered name, a function ``f(config, reporter)``
    or a Trainable subclass (functions and classes are registered under their
    ``__name__``).
    """

    def __init__(self, name: str, run: Any, stop: Any = None, config: Optional[dict] = None,
                 trial_resources: Optional[dict] = None, repeat: Optional[int] = None,
                 num_samples: Optional[int] = None, local_dir: Optional[str] = None,
                 upload_dir: Optional[str] = "", checkpoint_freq: int = 0,
                 checkpoint_at_end: bool = False, max_failures: int = 3,
                 restore: Optional[str] = None, loggers: Optional[list] = None,
                 sync_period: float = 300.0, seed: Optional[int] = None) -> None:
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise TuneError(f"An experiment name must be a non-empty string without '/', but got {name!r}")
        if repeat is not None and num_samples is not None and repeat != num_samples:
            warnings.warn(f"Experiment {name!r}: both repeat={repeat} and num_samples={num_samples} given; "
                          "using num_samples.", stacklevel=2)
        samples = num_samples if num_samples is not None else (repeat if repeat is not None else 1)
        if run is None:
            raise TuneError(f"Experiment {name!r}: no trainable specified; set 'run'.")
        if isinstance(run, types.FunctionType) and run.__name__ == "<lambda>":
            run_value: Any = run  # computed per variant, must evaluate to a registered name
        elif isinstance(run, dict):
            run_value = run  # e.g. a grid search over trainable names
        else:
            run_value = trainable_name(run)
        self.name = name
        self.spec: dict[str, Any] = {
            "run": run_value,
            "stop": stop if stop is not None else {},
            "config": config if config is not None else {},
            "trial_resources": trial_resources,
            "num_samples": samples,
            "local_dir": os.path.expanduser(str(local_dir)) if local_dir else R.DEFAULT_RESULTS_DIR,
            "upload_dir": upload_dir or "",
            "checkpoint_freq": checkpoint_freq,
            "checkpoint_at_end": checkpoint_at_end,
            "max_failures": max_failures,
            "restore": os.path.expanduser(restore) if isinstance(restore, str) else restore,
            "loggers": loggers,
            "sync_period": sync_period,
            "seed": seed,
        }
        validate_spec_values(self.spec, where=name)

    @property
    def dir(self) -> str:
        """``<local_dir>/<name>``."""
        return os.path.join(self.spec["local_dir"], self.name)

    @classmethod
    def from_json(cls, name: str, spec: Any) -> "Experiment":
        """Build from the dict form ``{run, stop, config, ...}`` (the caller's dict is not changed)."""
        if not isinstance(spec, dict):
            raise TuneError(f"Experiment {name!r}: the spec must be a dict of experiment keys, but got {spec!r}")
        if "run" not in spec:
            raise TuneError(f"Experiment {name!r}: no trainable specified; add a 'run' key.")
        unknown = [k for k in spec if k not in SPEC_KEYS]
        if unknown:
            raise TuneError(
                f"Experiment {name!r}: unknown key(s) {', '.join(map(repr, unknown))}. Valid keys: "
                f"{', '.join(SPEC_KEYS)}."
            )
        for key in spec:
            if "-" in key:
                raise TuneError(f"Experiment {name!r}: key {key!r}: use '_' instead of '-'.")
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
    from tunecore.registry import get_trainable_cls

    trainable_cls = get_trainable_cls(run)
    config = spec.get("config") or {}
    if spec.get("trial_resources") is not None:
        resources = Resources.from_json(spec["trial_resources"])
    else:
        resources = trainable_cls.default_resource_request(config)
        if isinstance(resources, dict):
            resources = Resources.from_json(resources)
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
        checkpoint_freq=spec.get("checkpoint_freq") or 0,
        checkpoint_at_end=bool(spec.get("checkpoint_at_end")),
        restore_path=spec.get("restore"),
        upload_dir=spec.get("upload_dir") or None,
        max_failures=spec.get("max_failures", 3),
        experiment_name=where,
        loggers=spec.get("loggers"),
        **kwargs,
    )
