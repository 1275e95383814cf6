"""The JSON Schema (draft 2020-12) of a spec file, written from :data:`tunecore.spec.SPEC_FIELDS`.

``tune schema`` prints it, so an editor can check a YAML or JSON spec file as it is typed;
the table in :mod:`tunecore.spec` stays the one definition of the keys.
"""

from __future__ import annotations

from typing import Any

from tunecore.search import sample
from tunecore.search.resolve import EVAL_KEY, GRID_KEY
from tunecore.spec import FIELDS, SPEC_ALIASES, SPEC_FIELDS, UNRESOLVED_KEYS, SpecField

__all__ = ["SCHEMA_DIALECT", "field_schema", "spec_file_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _args(names: list, required: int, item: Any) -> dict:
    """A domain's arguments: positionally (a list) or by name (an object).

    ``item`` is the schema of every argument, or a list of one schema per argument.
    """
    items = list(item) if isinstance(item, list) else [item] * len(names)
    return {"anyOf": [
        {"type": "array", "prefixItems": items, "minItems": required, "maxItems": len(names)},
        {"type": "object", "properties": dict(zip(names, items)), "required": names[:required],
         "additionalProperties": False},
    ]}


def _single(key: str, value_schema: dict, description: str) -> dict:
    return {"type": "object", "description": description, "properties": {key: value_schema},
            "required": [key], "additionalProperties": False}


def _searched(plain: dict, self_ref: str) -> dict:
    """``plain``, or a value to be resolved whose grid values are again ``self_ref``."""
    return {"anyOf": [
        plain,
        _single(GRID_KEY, {"type": "array", "minItems": 1, "items": {"$ref": self_ref}},
                "One trial per value (grid search)."),
        {"$ref": "#/$defs/eval"},
        {"$ref": "#/$defs/domain"},
    ]}


def _defs() -> dict:
    number = {"type": "number"}
    integer = {"type": "integer"}
    domains = {
        "uniform": (_args(["low", "high"], 2, number), "A float drawn uniformly from [low, high)."),
        "loguniform": (_args(["low", "high", "base"], 2, number),
                       "A float between low and high whose logarithm is uniform (0 < low < high)."),
        "quniform": (_args(["low", "high", "q"], 3, number), "A uniform float rounded to a multiple of q."),
        "qloguniform": (_args(["low", "high", "q", "base"], 3, number),
                        "A log-uniform float rounded to a multiple of q, high included (0 < low < high)."),
        "randint": (_args(["low", "high"], 2, integer), "An int in [low, high) (high excluded)."),
        "qrandint": (_args(["low", "high", "q"], 2, integer),
                     "An int multiple of q (default 1) in [low, high]: high is included."),
        "lograndint": (_args(["low", "high", "base"], 2, [integer, integer, number]),
                       "An int in [low, high) whose logarithm is uniform (0 < low < high)."),
        "qlograndint": (_args(["low", "high", "q", "base"], 3, [integer, integer, integer, number]),
                        "A log-uniform int rounded to a multiple of q, high included (0 < low < high)."),
        "choice": ({"type": "array", "minItems": 1}, "One of the listed values."),
        "randn": ({"anyOf": [{"type": "null"}, number, _args(["mean", "sd"], 0, number)]},
                  "A normally distributed float: [mean, sd] (default [0, 1])."),
        "qrandn": (_args(["mean", "sd", "q"], 3, number), "A normally distributed float rounded to a multiple of q."),
        "sample_from": ({"type": "string"},
                        "A Python expression computed per trial; it may read spec.config.<key>."),
    }
    assert set(domains) == set(sample._JSON_FACTORIES), "every sample domain has a JSON Schema"
    defs: dict[str, Any] = {name: _single(name, args, text) for name, (args, text) in domains.items()}
    defs["domain"] = {"anyOf": [{"$ref": f"#/$defs/{name}"} for name in domains]}
    defs[EVAL_KEY] = _single(EVAL_KEY, {"type": "string"},
                             "A Python expression computed per trial (spec, np, random, math in scope), "
                             "e.g. {\"eval\": \"spec.config.lr * 2\"}.")
    defs[GRID_KEY] = _single(GRID_KEY, {"type": "array", "minItems": 1},
                             "One trial per value (grid search).")
    defs["unresolved"] = {"anyOf": [{"$ref": f"#/$defs/{GRID_KEY}"}, {"$ref": f"#/$defs/{EVAL_KEY}"},
                                    {"$ref": "#/$defs/domain"}]}
    # any value in a config: a dict with exactly one of the unresolved keys must be that form
    forms = [{"if": {"type": "object", "required": [key], "maxProperties": 1},
              "then": {"$ref": f"#/$defs/{key}"}} for key in UNRESOLVED_KEYS]
    defs["value"] = {"allOf": forms, "additionalProperties": {"$ref": "#/$defs/value"},
                     "items": {"$ref": "#/$defs/value"}}
    defs["stop_threshold"] = _searched(number, "#/$defs/stop_threshold")
    amount = {"type": "number", "minimum": 0}
    defs["resource_amount"] = _searched(amount, "#/$defs/resource_amount")
    defs["gpu_amount"] = _searched(dict(amount, anyOf=[{"maximum": 1}, {"multipleOf": 1}],
                                        description="A fraction (0.5) shares one GPU; above 1, whole GPUs."),
                                   "#/$defs/gpu_amount")
    # a plain dict value must not look like an unresolved form it fails to be
    defs["not_unresolved_shaped"] = {"not": {"type": "object", "maxProperties": 1,
                                             "anyOf": [{"required": [k]} for k in UNRESOLVED_KEYS]}}
    return defs


def field_schema(f: SpecField) -> dict:
    """The JSON Schema of one key's value: a plain value or ``null``, or (if searchable) unresolved."""
    plain = dict(f.json_schema)
    if not f.required:  # null: the default (folded into the type, for clearer validator messages)
        plain["type"] = [plain["type"], "null"]
    if f.json_schema.get("type") == "object":
        plain = {"allOf": [plain, {"$ref": "#/$defs/not_unresolved_shaped"}]}
    out: dict[str, Any] = {"description": f.help + ("" if f.searchable else
                                                    f" Not searchable: {f.search_refusal}.")}
    if f.searchable:
        out.update(_searched(plain, f"#/$defs/field_{f.name}"))
    else:
        out.update(plain)
    out["examples"] = [f.example_value]
    if f.default is not None:
        out["default"] = f.default
    return out


#: JSON Schemas of the ``tune run`` options a spec file may hold beside ``experiments``.
RUN_OPTION_SCHEMAS: dict[str, dict] = {
    "scheduler": {"description": "A scheduler name (tune plugins list --all) or {\"name\": ..., **kwargs}.",
                  "anyOf": [{"type": "null"}, {"type": "string", "minLength": 1},
                            {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]},
    "search_alg": {"description": "A search algorithm name or {\"name\": ..., **kwargs}.",
                   "anyOf": [{"type": "null"}, {"type": "string", "minLength": 1},
                             {"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string"}}}]},
    "with_server": {"type": "boolean", "description": "Serve the HTTP API and the dashboard."},
    "server_port": {"type": "integer", "minimum": 0, "maximum": 65535},
    "server_host": {"type": "string"},
    "verbose": {"description": "false/0: only the summary; 1: the status table; true/2: also each result.",
                "anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 0}]},
    "queue_trials": {"type": "boolean"},
    "raise_on_failed_trial": {"type": "boolean"},
    "address": {"type": ["string", "null"], "description": "Join this Ray cluster."},
    "metric": {"description": "The result key to optimize, or a list of them (several objectives).",
               "anyOf": [{"type": "null"}, {"type": "string", "minLength": 1},
                         {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                          "uniqueItems": True}]},
    "mode": {"description": "Whether lower or higher metric is better (a list, one per metric, for several).",
             "anyOf": [{"enum": ["min", "max", None]},
                       {"type": "array", "items": {"enum": ["min", "max"]}, "minItems": 1}]},
    "constraints": {"description": "Result keys that must be <= 0 for a trial to be feasible.",
                    "anyOf": [{"type": "null"}, {"type": "string", "minLength": 1},
                              {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                               "uniqueItems": True}]},
    "reuse_actors": {"type": "boolean"},
    "resume": {"type": "boolean", "description": "Continue the experiment found on disk."},
}


def spec_file_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a spec file, as ``tune run`` reads it.

    A spec file is a mapping ``{experiment_name: spec}``, or ``{"experiments": {...}}`` with
    run options beside it (``scheduler``, ``metric``...). The schema checks each key's type
    and shape; what depends on several values (``low < high`` of a domain), on the cluster or
    on what is installed (trainable, logger and scheduler names) is checked by ``tune run``.
    """
    from tunecore.cli import RUN_OPTIONS

    defs = _defs()
    properties: dict[str, Any] = {}
    for f in SPEC_FIELDS:
        defs[f"field_{f.name}"] = field_schema(f)
        properties[f.name] = {"$ref": f"#/$defs/field_{f.name}"}
    for a in SPEC_ALIASES:
        target = f"#/$defs/field_{a.target}" if a.target in FIELDS else "#/$defs/value"
        properties[a.name] = {"$ref": target, "description": a.help}
    required = [f.name for f in SPEC_FIELDS if f.required]
    defs["experiment"] = {"type": "object", "description": "One experiment: a trainable, its search space, "
                                                           "stopping criteria and resources.",
                          "properties": properties, "required": required, "additionalProperties": False,
                          # env goes into the config, which a searched config has no place for
                          "if": {"required": ["env", "config"],
                                 "properties": {"config": {"$ref": "#/$defs/unresolved"}}},
                          "then": {"description": "env cannot be added to a searched config: put env "
                                                  "inside each of the config's values.",
                                   "not": {"required": ["env"]}}}
    defs["experiment_name"] = {"type": "string", "minLength": 1,
                               "not": {"anyOf": [{"pattern": "/"}, {"enum": [".", ".."]}]},
                               "description": "A non-empty name without '/': the experiment's folder."}
    defs["experiments"] = {"type": "object", "minProperties": 1,
                           "propertyNames": {"$ref": "#/$defs/experiment_name"},
                           "additionalProperties": {"$ref": "#/$defs/experiment"}}
    options = {name: RUN_OPTION_SCHEMAS.get(name, {}) for name in RUN_OPTIONS}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "tunecore experiment spec file",
        "description": "What `tune run SPEC.yaml|json` reads: {experiment_name: spec}, or "
                       "{experiments: {experiment_name: spec}, <run options>}. Printed by `tune schema`.",
        "type": "object",
        "minProperties": 1,
        "if": {"required": ["experiments"]},
        "then": {"properties": {"experiments": {"$ref": "#/$defs/experiments"}, **options},
                 "additionalProperties": False},
        "else": {"$ref": "#/$defs/experiments"},
        "$defs": defs,
    }
