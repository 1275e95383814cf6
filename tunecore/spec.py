"""The experiment spec, defined once: every key, its type, default and meaning, and who may set it.

:data:`SPEC_FIELDS` is the one table of an experiment's keys. Everything that reads a spec
checks it through this table, with the same messages:

* Python: ``Experiment(name, run, stop=..., ...)``, ``tune.run(...)``;
* the dict form: ``run_experiments({name: {...}})`` (``Experiment.from_json``);
* JSON and YAML spec files: ``tune run SPEC`` (``tunecore.cli.load_spec_file``);
* the HTTP API: ``POST /trials`` (``tunecore.web.checks.check_add_body``, which also refuses
  the keys the table marks ``http=False``, with the table's reason, and adds the HTTP
  limits of its own).

What depends on the installed plugins or the cluster (trainable, logger, scheduler and syncer
names; resources the cluster can hold) is checked when the run starts
(``tunecore.execution.lifecycle.validate_run`` and the executor), still before any trial runs.

:func:`tunecore.spec_schema.spec_file_schema` writes the same table as a JSON Schema (draft 2020-12) of a spec
file, which ``tune schema`` prints for editors.

A value ``None`` (``null`` in JSON/YAML), like a key left out, means the key's default.
Where a key may be *searched*, its value may also be unresolved: ``{"grid_search": [...]}``
(each value is checked like a plain one), ``{"eval": "<python expression>"}``, a sample
domain such as ``{"uniform": [0, 1]}`` (see :mod:`tunecore.search.sample`), or in Python a lambda
or ``tune.uniform(0, 1)``. Keys read once for the whole experiment (``num_samples``,
``local_dir``...) may not be searched; the table says why.
"""

from __future__ import annotations

import difflib
import json
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.search import sample
from tunecore.search.resolve import EVAL_KEY, GRID_KEY, is_unresolved

__all__ = [
    "SpecField",
    "SpecAlias",
    "SPEC_FIELDS",
    "SPEC_ALIASES",
    "FIELDS",
    "ALIASES",
    "UNRESOLVED_KEYS",
    "spec_defaults",
    "spec_keys",
    "http_keys",
    "http_refusals",
    "check_known_keys",
    "validate_values",
]

#: The single key of a dict that stands for a value to be resolved by variant generation.
UNRESOLVED_KEYS = (GRID_KEY, EVAL_KEY) + tuple(sample._JSON_FACTORIES)


def _plain_type_ok(value: Any, types_: tuple) -> bool:
    if isinstance(value, bool) and bool not in types_:
        return False
    return isinstance(value, types_)


def check_searched(value: Any, path: str, check_item: Callable[[Any, str], None]) -> None:
    """Check an unresolved ``value`` at ``path`` as far as it can be before it is resolved.

    A grid's values are each checked with ``check_item(item, suffix)`` (``suffix`` is
    ``".grid_search[i]"``); a sample domain's arguments are checked by building it; an
    ``eval`` needs an expression string. Lambdas and domain objects are left alone.
    """
    if not isinstance(value, dict):
        return
    (key, arg), = value.items()
    if key == GRID_KEY:
        if not isinstance(arg, (list, tuple)):
            raise TuneError(f"Grid search expected list of values, got: {arg!r} (at {path})")
        if not arg:
            raise TuneError(f"grid_search at {path} has no values; give at least one.")
        for i, item in enumerate(arg):
            check_item(item, f".{GRID_KEY}[{i}]")
    elif key == EVAL_KEY:
        if not isinstance(arg, str):
            raise TuneError(f'{path}: "eval" needs a Python expression string, e.g. {{"eval": "2 + 2"}}, '
                            f"but got {arg!r}")
    else:
        sample.from_json(value, where=path)


@dataclass(frozen=True)
class SpecField:
    """One key of an experiment spec.

    Attributes:
        name: the key.
        types: the Python types of a plain (resolved) value; ``bool`` only if listed.
        default: the value when the key is left out or ``None``.
        help: what it means (shown by ``tune schema`` as the key's description).
        example: the key as it is written in a JSON spec, e.g. ``'"num_samples": 10'``.
        expected: what a plain value must be, in words, for messages ("an int >= 1").
        json_schema: the JSON Schema of a plain value in a spec file.
        http: whether ``POST /trials`` may set it.
        http_refusal: if not, why (the HTTP API says so in its answer).
        search_refusal: why the value may not be searched (None: it may be).
        minimum, exclusive_minimum: bounds of a number.
        check: ``check(value, path, name)`` for a plain value, in place of the type check.
        required: the key must be given (and not None, also in a grid).
    """

    name: str
    types: tuple
    default: Any
    help: str
    example: str
    expected: str
    json_schema: Mapping = field(default_factory=dict)
    http: bool = True
    http_refusal: Optional[str] = None
    search_refusal: Optional[str] = None
    minimum: Optional[float] = None
    exclusive_minimum: Optional[float] = None
    check: Optional[Callable[[Any, str, str], None]] = None
    required: bool = False

    @property
    def searchable(self) -> bool:
        return self.search_refusal is None

    @property
    def example_value(self) -> Any:
        """The example's value (the examples are JSON)."""
        return json.loads("{" + self.example + "}")[self.name]

    def validate(self, value: Any, where: str = "", name: Optional[str] = None) -> None:
        """Raise TuneError naming the key if ``value`` is not valid here.

        Args:
            value: the value as given (may be unresolved where the key can be searched).
            where: the experiment's name; messages say ``<where>.<key>``.
            name: the key as the user wrote it (an alias such as ``repeat``); default the field's.
        """
        name = name or self.name
        self._validate(value, f"{where}.{name}" if where else name, name)

    def _validate(self, value: Any, path: str, name: str, top: bool = True) -> None:
        if value is None:
            if self.required and not top:  # a missing required key is the caller's message
                raise TuneError(f"{path} must be {self.expected}, but got {path}=None. Example: {self.example}")
            return
        if is_unresolved(value):
            if self.search_refusal:
                raise TuneError(f"{path} cannot be searched: {self.search_refusal}. "
                                f"Give one value, e.g. {self.example}")
            check_searched(value, path,
                           lambda item, suffix: self._validate(item, path + suffix, name + suffix, top=False))
            return
        if self.check is not None:
            self.check(value, path, name)
            return
        if not _plain_type_ok(value, self.types):
            raise TuneError(f"{path} must be {self.expected}, but got {path}={value!r}. Example: {self.example}")
        if self.minimum is not None and value < self.minimum:
            raise TuneError(f"{path} must be >= {self.minimum}, but got {name}={value!r}")
        if self.exclusive_minimum is not None and not value > self.exclusive_minimum:
            raise TuneError(f"{path} must be {self.expected}, but got {name}={value!r}")


@dataclass(frozen=True)
class SpecAlias:
    """Another name for a key: ``repeat`` is ``num_samples``; ``env`` is ``config.env``."""

    name: str
    target: str
    help: str
    http: bool = True


# -- the checks of the keys whose plain values are more than one type -------------------------

def _check_run(value: Any, path: str, name: str) -> None:
    if isinstance(value, str):
        if not value:
            raise TuneError(f"{path} must name a trainable, but got {name}=''. Give a name registered with "
                            "tunecore.register_trainable(name, fn_or_class), e.g. \"run\": \"my_trainable\"")
        return
    if isinstance(value, (types.FunctionType, type)):
        return
    raise TuneError(
        f"Improper 'run' {value!r}: not a string nor a trainable. Give a registered name, a function "
        "f(config, reporter), or a Trainable subclass."
    )


def _check_threshold(value: Any, path: str, key: Any) -> None:
    if is_unresolved(value):
        check_searched(value, path, lambda item, suffix: _check_threshold(item, path + suffix, key))
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TuneError(f"{path} must be a number (stop when result[{key!r}] >= it), but got {value!r}")


def _check_stop(value: Any, path: str, name: str) -> None:
    if isinstance(value, dict):
        for key, threshold in value.items():
            _check_threshold(threshold, f"{path}.{key}", key)
        return
    if callable(value):
        return
    raise TuneError(
        f"{path} must be a dict {{result_key: threshold}} or a callable stop(trial_id, result) -> bool, "
        f"but got {name}={value!r}. Example: \"stop\": {{\"training_iteration\": 100}}"
    )


def _check_resources(value: Any, path: str, name: str) -> None:
    from tunecore.execution.trial import Resources

    if not isinstance(value, dict):
        Resources.from_json(value)  # raises with the accepted form
        return
    # the plain values and the names all at once; a searched amount stands in as 0 here
    Resources.from_json({k: (0 if is_unresolved(v) else v) for k, v in value.items()})
    for key, amount in value.items():
        if is_unresolved(amount):
            _check_searched_amount(amount, f"{path}.{key}", key)


def _check_searched_amount(value: Any, path: str, key: str) -> None:
    from tunecore.execution.trial import Resources

    def item(v: Any, suffix: str) -> None:
        if is_unresolved(v):
            _check_searched_amount(v, path + suffix, key)
        else:
            Resources.from_json({key: v})

    check_searched(value, path, item)


def _check_nested(value: Any, path: str) -> None:
    """A value inside the config: its unresolved forms, at any depth, must be well formed."""
    if is_unresolved(value):
        check_searched(value, path, lambda item, suffix: _check_nested(item, path + suffix))
        if isinstance(value, dict) and "choice" in value and isinstance(value["choice"], (list, tuple)):
            for i, category in enumerate(value["choice"]):
                _check_nested(category, f"{path}.choice[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_nested(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_nested(item, f"{path}[{i}]")


def _check_config(value: Any, path: str, name: str) -> None:
    if not isinstance(value, dict):
        raise TuneError(f"{path} must be {FIELDS['config'].expected}, but got {path}={value!r}. "
                        f"Example: {FIELDS['config'].example}")
    for key, item in value.items():
        _check_nested(item, f"{path}.{key}")


def _check_checkpoint_config(value: Any, path: str, name: str) -> None:
    from tunecore.execution.retention import CheckpointConfig

    if isinstance(value, CheckpointConfig):
        return
    if not isinstance(value, Mapping):
        raise TuneError(f"{path} must be a tunecore.CheckpointConfig or a dict of its fields, but got "
                        f"{path}={value!r}. Example: \"checkpoint_config\": {{\"num_to_keep\": 2}}")
    try:
        CheckpointConfig.from_json(dict(value))
    except TuneError as exc:
        raise TuneError(f"{path}: {exc}") from None


def _check_loggers(value: Any, path: str, name: str) -> None:
    if not isinstance(value, (list, tuple)):
        raise TuneError(f'{path} must be a list of logger names, e.g. ["json", "csv"], but got {value!r}')
    for i, item in enumerate(value):
        if isinstance(item, str) and item:
            continue
        if not isinstance(item, str) and callable(item):
            continue  # a Logger class or factory, in Python
        raise TuneError(f'{path}[{i}] must be a logger name such as "json" (or, in Python, a Logger class), '
                        f"but got {item!r}")


# -- the table --------------------------------------------------------------------------------

SPEC_FIELDS: tuple[SpecField, ...] = (
    SpecField(
        "run", (str,), None,
        "The trainable: the name of one registered with tunecore.register_trainable (in Python also "
        "a function f(config, reporter) or a Trainable subclass). Required.",
        '"run": "my_trainable"', "a trainable name",
        {"type": "string", "minLength": 1}, check=_check_run, required=True),
    SpecField(
        "stop", (dict,), None,
        "Stopping criteria {result_key: threshold}: a trial stops when any result key is >= its "
        "threshold (in Python also a callable stop(trial_id, result) -> bool). Default: none.",
        '"stop": {"training_iteration": 100}', "a dict {result_key: threshold}",
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/stop_threshold"}}, check=_check_stop),
    SpecField(
        "config", (dict,), None,
        "The hyperparameters each trial's config gets; any value may be searched (grid_search, "
        "a sample domain, eval). Default: {}.",
        '"config": {"lr": 0.01}', "a dict of hyperparameters",
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}}, check=_check_config),
    SpecField(
        "trial_resources", (dict,), None,
        "What one trial reserves: cpu (default 1), gpu (default 0; 0.5 shares a GPU), extra_cpu and "
        "extra_gpu for actors the trainable starts. Default: the trainable's default_resource_request.",
        '"trial_resources": {"cpu": 1, "gpu": 0}', "a dict like {'cpu': 1, 'gpu': 0}",
        {"type": "object", "additionalProperties": False,
         "properties": {"cpu": {"$ref": "#/$defs/resource_amount"},
                        "gpu": {"$ref": "#/$defs/gpu_amount"},
                        "extra_cpu": {"$ref": "#/$defs/resource_amount"},
                        "extra_gpu": {"$ref": "#/$defs/gpu_amount"}}},
        check=_check_resources),
    SpecField(
        "num_samples", (int,), 1,
        "How many times the whole search space is sampled (grid points x num_samples trials). "
        "'repeat' is another name for it.",
        '"num_samples": 10', "an int >= 1", {"type": "integer", "minimum": 1},
        search_refusal="it says how many times the whole search space is sampled, so it is read "
                       "before any variant is made", minimum=1),
    SpecField(
        "local_dir", (str, os.PathLike), None,
        "The folder the experiment's folder <local_dir>/<name> is made in. Default: ~/ray_results.",
        '"local_dir": "~/ray_results"', "a folder path", {"type": "string"},
        http=False, http_refusal="added trials are written beside the running experiment",
        search_refusal="it names the experiment's folder, which all its trials share"),
    SpecField(
        "upload_dir", (str,), "",
        "A URI the experiment folder is synced to, e.g. s3://bucket/prefix (with tune-loggers); "
        "a scheme no installed syncer handles is refused. Default: no upload.",
        '"upload_dir": "s3://my-bucket/experiments"', "a URI string such as s3://bucket/prefix",
        {"type": "string"},
        http=False, http_refusal="it would send results to a remote target",
        search_refusal="the whole experiment folder is synced to one target"),
    SpecField(
        "checkpoint_config", (dict,), None,
        "How trials checkpoint and which checkpoints are kept: the fields of tunecore.CheckpointConfig "
        "(num_to_keep, checkpoint_score_attribute, checkpoint_score_order, checkpoint_frequency, "
        "checkpoint_at_end). The best num_to_keep by score stay, and the latest always does. Default: all kept.",
        '"checkpoint_config": {"num_to_keep": 2, "checkpoint_score_attribute": "mean_accuracy"}',
        "a CheckpointConfig or a dict of its fields",
        {"type": "object", "additionalProperties": False,
         "properties": {"num_to_keep": {"type": ["integer", "null"], "minimum": 1},
                        "checkpoint_score_attribute": {"type": ["string", "null"], "minLength": 1},
                        "checkpoint_score_order": {"enum": ["max", "min"]},
                        "checkpoint_frequency": {"type": "integer", "minimum": 0},
                        "checkpoint_at_end": {"type": ["boolean", "null"]}}},
        search_refusal="checkpoints are kept by one rule for the whole experiment",
        check=_check_checkpoint_config),
    SpecField(
        "keep_checkpoints_num", (int,), None,
        "How many checkpoints of each trial to keep (Ray Tune 1.x's name for checkpoint_config.num_to_keep). "
        "Default: all.",
        '"keep_checkpoints_num": 2', "an int >= 1", {"type": "integer", "minimum": 1},
        search_refusal="checkpoints are kept by one rule for the whole experiment", minimum=1),
    SpecField(
        "checkpoint_score_attr", (str,), None,
        "The metric keep_checkpoints_num ranks checkpoints by, higher is better; \"min-loss\" ranks by loss, "
        "lower is better (Ray Tune 1.x's convention). Default: the most recent are kept.",
        '"checkpoint_score_attr": "mean_accuracy"', "a metric name", {"type": "string", "minLength": 1},
        search_refusal="checkpoints are kept by one rule for the whole experiment"),
    SpecField(
        "checkpoint_freq", (int,), 0,
        "Checkpoint every this many iterations (0: never), for class trainables (a function trainable "
        "checkpoints itself with tunecore.report(..., checkpoint=...)).",
        '"checkpoint_freq": 10', "an int >= 0", {"type": "integer", "minimum": 0}, minimum=0),
    SpecField(
        "checkpoint_at_end", (bool,), False,
        "Checkpoint when a trial ends (a function trainable keeps the last checkpoint it reported).",
        '"checkpoint_at_end": true', "true or false", {"type": "boolean"}),
    SpecField(
        "max_failures", (int,), 3,
        "How many times a failing trial is restarted, from its latest checkpoint or from scratch when it "
        "has none, before it ends in ERROR; -1 retries forever.",
        '"max_failures": 3', "an int >= -1", {"type": "integer", "minimum": -1}, minimum=-1),
    SpecField(
        "restore", (str,), None,
        "A checkpoint path each trial starts from. Default: none.",
        '"restore": "/path/to/checkpoint"', "a checkpoint path", {"type": "string"},
        http=False, http_refusal="it would load a checkpoint (a pickle) from a path on the driver"),
    SpecField(
        "loggers", (list, tuple), None,
        "Names of the loggers to write each trial's results with, e.g. [\"json\", \"csv\"] "
        "(`tune plugins list --all` lists them). Default: every installed logger enabled by default.",
        '"loggers": ["json", "csv"]', "a list of logger names",
        {"type": "array", "items": {"type": "string", "minLength": 1}},
        http=False, http_refusal="loggers are chosen by the driver",
        search_refusal="the names are checked against the installed loggers before any trial starts",
        check=_check_loggers),
    SpecField(
        "sync_period", (int, float), 300.0,
        "Seconds between syncs of the experiment folder to upload_dir.",
        '"sync_period": 60', "a number of seconds > 0", {"type": "number", "exclusiveMinimum": 0},
        http=False, http_refusal="syncing is chosen by the driver",
        search_refusal="one sync loop serves the whole experiment", exclusive_minimum=0),
    SpecField(
        "seed", (int,), None,
        "Seeds the sample domains and the lambdas' random numbers, so the generated configs are the "
        "same from run to run. Default: unseeded.",
        '"seed": 42', "an int >= 0", {"type": "integer", "minimum": 0},
        http=False, http_refusal="it is chosen by the driver",
        search_refusal="it seeds the search itself", minimum=0),
)

SPEC_ALIASES: tuple[SpecAlias, ...] = (
    SpecAlias("repeat", "num_samples", "Another name for num_samples (num_samples wins if both are given)."),
    SpecAlias("env", "config.env", "Put into the config as config['env']."),
)

#: ``{name: SpecField}`` and ``{name: SpecAlias}``.
FIELDS: dict[str, SpecField] = {f.name: f for f in SPEC_FIELDS}
ALIASES: dict[str, SpecAlias] = {a.name: a for a in SPEC_ALIASES}


def spec_defaults() -> dict[str, Any]:
    """``{key: default}`` of every field, in table order."""
    return {f.name: f.default for f in SPEC_FIELDS}


def spec_keys() -> tuple[str, ...]:
    """Every key a spec may have: the fields, then the aliases."""
    return tuple(FIELDS) + tuple(ALIASES)


def http_keys() -> frozenset:
    """The keys ``POST /trials`` accepts."""
    return frozenset([f.name for f in SPEC_FIELDS if f.http] + [a.name for a in SPEC_ALIASES if a.http])


def http_refusals() -> dict[str, str]:
    """``{key: why the HTTP API refuses it}`` for the keys it refuses."""
    return {f.name: f.http_refusal or "it is chosen by the driver" for f in SPEC_FIELDS if not f.http}


def check_known_keys(name: str, spec: Mapping) -> None:
    """Raise TuneError for keys that are not in the table, suggesting the closest ones."""
    keys = spec_keys()
    unknown = [k for k in spec if k not in keys]
    if not unknown:
        return
    hints = []
    for key in unknown:
        text = str(key)
        if text.replace("-", "_") in keys:
            hints.append(f"{key!r}: use '_' instead of '-' ({text.replace('-', '_')!r})")
        else:
            close = difflib.get_close_matches(text, keys, n=1)
            if close:
                hints.append(f"{key!r}: did you mean {close[0]!r}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise TuneError(
        f"Experiment {name!r}: unknown key(s) {', '.join(map(repr, unknown))}{hint}. Valid keys: "
        f"{', '.join(keys)}."
    )


def validate_values(spec: Mapping, where: str = "") -> None:
    """Check the value of every key of ``spec`` the table knows (aliases under their own name).

    The keys are checked in the table's order, so the first message is the same whatever
    order a file or a request wrote them in. Unknown keys are left to
    :func:`check_known_keys`. Raises TuneError naming the key.
    """
    for key in spec_keys():
        if key not in spec:
            continue
        if key in FIELDS:
            FIELDS[key].validate(spec[key], where)
        elif ALIASES[key].target in FIELDS:
            FIELDS[ALIASES[key].target].validate(spec[key], where, name=key)
    if "env" in spec and spec.get("config") is not None and is_unresolved(spec["config"]):
        prefix = f"{where}." if where else ""
        raise TuneError(f"{prefix}env cannot be added to a searched config ({prefix}config={spec['config']!r}): "
                        "put \"env\" inside each of the config's values, or give config as a dict.")


def __getattr__(name: str) -> Any:
    # the JSON Schema writers moved to tunecore.spec_schema (which imports this module)
    if name in ("spec_file_schema", "field_schema", "SCHEMA_DIALECT"):
        from tunecore import spec_schema

        return getattr(spec_schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
