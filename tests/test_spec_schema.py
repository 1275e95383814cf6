"""The experiment spec is defined once (``tunecore.spec.SPEC_FIELDS``): every way in checks through it.

* a wrong value for each key gives one message through ``Experiment(...)``, the dict form,
  a YAML file run by ``tune run`` and the HTTP API's ``check_add_body``;
* the HTTP API refuses each key the table keeps from it, with the table's reason;
* ``tune schema`` prints a valid JSON Schema (draft 2020-12) that every example spec in the
  repository and realistic YAML spec files pass, and bad specs fail;
* random specs drawn from the table are accepted or refused alike by the Python checks and
  the JSON Schema (hypothesis).
"""

from __future__ import annotations

import glob
import inspect
import json
import os
import runpy
import subprocess
import sys
import types

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunecore
from tunecore import cli, sample
from tunecore import spec as S
from tunecore.errors import TuneError
from tunecore.experiment import (
    SPEC_DEFAULTS,
    SPEC_KEYS,
    Experiment,
    convert_to_experiment_list,
)
from tunecore.web import checks
from tunecore.web.checks import HTTP_SPEC_KEYS, RequestError, check_add_body

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def validator():
    schema = S.spec_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<file>'}: {e.message}"
            for e in validator.iter_errors(document)]


def python_error(name: str, spec: dict):
    """The message ``run_experiments({name: spec})`` refuses ``spec`` with (None if it accepts it)."""
    try:
        convert_to_experiment_list({name: spec})
    except TuneError as exc:
        return str(exc)
    return None


def http_error(name: str, spec: dict):
    try:
        check_add_body({"name": name, "spec": spec}, lambda run: True)
    except RequestError as exc:
        assert exc.status == 400
        return exc.message
    return None


def tune_run_error(tmp_path, capsys, monkeypatch, document: dict, filename: str = "spec.yaml") -> str:
    """Write ``document`` as a YAML spec file, run ``tune run`` on it, and return what it printed."""
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(sys, "path", list(sys.path))  # tune run puts the spec's folder on it
    capsys.readouterr()
    code = cli.main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("tune: error: "), err
    return err[len("tune: error: "):].rstrip("\n")


# -- the table ---------------------------------------------------------------------------------

def test_the_table_is_where_the_old_names_come_from():
    assert tuple(SPEC_DEFAULTS) == tuple(f.name for f in S.SPEC_FIELDS)
    assert SPEC_DEFAULTS == {f.name: f.default for f in S.SPEC_FIELDS}
    assert SPEC_KEYS == tuple(f.name for f in S.SPEC_FIELDS) + ("repeat", "env")
    assert HTTP_SPEC_KEYS == {f.name for f in S.SPEC_FIELDS if f.http} | {"repeat", "env"}
    assert checks._REFUSED_KEYS == {f.name: f.http_refusal for f in S.SPEC_FIELDS if not f.http}
    assert {a.target for a in S.SPEC_ALIASES} == {"num_samples", "config.env"}


@pytest.mark.parametrize("field", S.SPEC_FIELDS, ids=lambda f: f.name)
def test_each_field_is_described(field, validator):
    assert field.help and field.expected and field.json_schema
    assert field.http == (field.http_refusal is None), "a key the API refuses says why, and only then"
    # the example is the key as written in a spec file: both checks accept it
    spec = {"run": "t", field.name: field.example_value}
    assert python_error("e", spec) is None
    assert schema_errors(validator, {"e": spec}) == []
    if field.default is not None:
        assert S.field_schema(field)["default"] == field.default


def test_experiment_arguments_are_the_table():
    params = inspect.signature(Experiment.__init__).parameters
    assert set(params) - {"self", "name"} == set(SPEC_DEFAULTS) | {"repeat"}
    for name, param in params.items():
        if name in SPEC_DEFAULTS and name != "run":
            assert param.default in (None, SPEC_DEFAULTS[name]), name


def test_none_means_the_default():
    exp = Experiment.from_json("e", {"run": "t", **{k: None for k in SPEC_DEFAULTS if k != "run"}})
    for key, default in SPEC_DEFAULTS.items():
        if default is not None:
            assert exp.spec[key] == default, key


# -- one message whatever the way in -----------------------------------------------------------

#: A wrong value for each key, as JSON (so every way in can carry it).
WRONG = {
    "run": 5,
    "stop": "soon",
    "config": [1, 2],
    "trial_resources": "lots",
    "num_samples": "ten",
    "local_dir": 5,
    "upload_dir": ["s3://a"],
    "checkpoint_config": "often",
    "keep_checkpoints_num": 0,
    "checkpoint_score_attr": 5,
    "checkpoint_freq": 1.5,
    "checkpoint_at_end": "yes",
    "max_failures": -2,
    "restore": 7,
    "loggers": "json",
    "sync_period": "60",
    "seed": "forty-two",
    "repeat": 0,
}


def test_every_key_has_a_wrong_value_here():
    assert set(WRONG) | {"env"} == set(SPEC_KEYS)


@pytest.mark.parametrize("key", sorted(WRONG))
def test_a_wrong_value_gives_one_message_everywhere(key, tmp_path, capsys, monkeypatch):
    spec = {"run": "t", key: WRONG[key]}
    # Python keyword arguments
    kwargs = {k: v for k, v in spec.items() if k != "run"}
    with pytest.raises(TuneError) as info:
        Experiment("bad", spec["run"], **kwargs)
    message = str(info.value)
    assert key in message and repr(WRONG[key]) in message, message
    # the dict form, as run_experiments takes it
    assert python_error("bad", spec) == message
    with pytest.raises(TuneError) as info:
        tunecore.run_experiments({"bad": spec}, verbose=False)
    assert str(info.value) == message
    # a YAML spec file through `tune run`, in both of its forms
    assert tune_run_error(tmp_path, capsys, monkeypatch, {"bad": spec}) == message
    assert tune_run_error(tmp_path, capsys, monkeypatch, {"experiments": {"bad": spec}}, "two.yml") == message
    # the HTTP API, for the keys it accepts
    if key in HTTP_SPEC_KEYS:
        assert http_error("bad", spec) == message


@pytest.mark.parametrize("field", [f for f in S.SPEC_FIELDS if not f.http], ids=lambda f: f.name)
def test_http_refuses_the_drivers_keys_with_the_tables_reason(field):
    message = http_error("more", {"run": "t", field.name: field.example_value})
    assert message == f"spec key {field.name!r} is not accepted over HTTP: {field.http_refusal}."


@pytest.mark.parametrize("field", [f for f in S.SPEC_FIELDS if not f.searchable], ids=lambda f: f.name)
def test_keys_read_once_cannot_be_searched(field, validator):
    for value in ({"grid_search": [field.example_value]}, {"eval": "1"}, lambda spec: 1):
        with pytest.raises(TuneError) as info:
            Experiment("e", "t", **{field.name: value})
        assert str(info.value).startswith(f"e.{field.name} cannot be searched: {field.search_refusal}.")
    assert schema_errors(validator, {"e": {"run": "t", field.name: {"grid_search": [field.example_value]}}})


def test_searched_values_are_checked_item_by_item(validator):
    cases = [
        ({"checkpoint_freq": {"grid_search": [1, "often"]}},
         "e.checkpoint_freq.grid_search[1] must be an int >= 0, but got e.checkpoint_freq.grid_search[1]='often'"),
        ({"stop": {"training_iteration": {"grid_search": [10, "x"]}}},
         "e.stop.training_iteration.grid_search[1] must be a number"),
        ({"trial_resources": {"gpu": {"grid_search": [0.5, 1.5]}}}, "trial_resources.gpu above 1 must be a whole"),
        ({"max_failures": {"grid_search": []}}, "grid_search at e.max_failures has no values"),
        ({"checkpoint_at_end": {"eval": 3}}, '"eval" needs a Python expression string'),
        ({"max_failures": {"randint": [5]}}, "Bad {'randint': [5]} at e.max_failures"),
        ({"run": {"grid_search": ["a", None]}}, "e.run.grid_search[1] must be a trainable name"),
        ({"config": {"grid_search": [{}]}, "env": "CartPole-v1"}, "e.env cannot be added to a searched config"),
    ]
    for extra, fragment in cases:
        spec = {"run": "t", **extra}
        message = python_error("e", spec)
        assert message is not None and fragment in message, (extra, message)
        assert schema_errors(validator, {"e": spec}), extra
    # and the same values, right, pass both
    for extra in ({"checkpoint_freq": {"grid_search": [1, 2]}}, {"trial_resources": {"gpu": {"grid_search": [0.5, 2]}}},
                  {"max_failures": {"randint": [0, 5]}}, {"run": {"grid_search": ["a", "b"]}},
                  {"config": {"a": 1}, "env": "CartPole-v1"}):
        spec = {"run": "t", **extra}
        assert python_error("e", spec) is None and schema_errors(validator, {"e": spec}) == [], extra


def test_unknown_keys_say_what_was_meant():
    message = python_error("e", {"run": "t", "stopp": {}, "checkpoint-freq": 2})
    assert "unknown key(s) 'stopp', 'checkpoint-freq'" in message
    assert "did you mean 'stop'?" in message and "use '_' instead of '-' ('checkpoint_freq')" in message


# -- tune schema -------------------------------------------------------------------------------

def test_tune_schema_prints_the_table_as_json_schema(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tunecore", "schema"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema == S.spec_file_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    experiment = schema["$defs"]["experiment"]
    assert set(experiment["properties"]) == set(SPEC_KEYS) and experiment["required"] == ["run"]
    for f in S.SPEC_FIELDS:
        assert schema["$defs"][f"field_{f.name}"]["description"].startswith(f.help)
    assert set(schema["then"]["properties"]) == {"experiments", *cli.RUN_OPTIONS}

    out = tmp_path / "tunecore-spec.schema.json"
    proc = subprocess.run([sys.executable, "-m", "tunecore", "schema", "--output", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and proc.stdout == "" and str(out) in proc.stderr
    assert json.loads(out.read_text()) == schema

    proc = subprocess.run([sys.executable, "-m", "tunecore", "schema", "--output", str(tmp_path / "no" / "x.json")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "Cannot write the schema" in proc.stderr


def _json_form(value, at_run=False):
    """A Python spec value written as a spec file would hold it."""
    if isinstance(value, sample.SampleFrom) and not isinstance(value.func, str):
        return {"eval": "spec"}  # a lambda: in a file, an expression
    if isinstance(value, sample.Domain):
        return _json_form(value.to_json())
    if isinstance(value, types.FunctionType):
        return value.__name__ if at_run and value.__name__ != "<lambda>" else {"eval": "spec"}
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, dict):
        return {k: _json_form(v, at_run=(k == "run")) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_form(v) for v in value]
    return value


class _Captured(Exception):
    pass


EXAMPLES = sorted(p for p in glob.glob(os.path.join(ROOT, "examples", "*.py"))  # the run_experiments ones
                  if "run_experiments(" in open(p, encoding="utf-8").read())


@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_every_example_spec_validates(script, validator, monkeypatch):
    seen = []

    def capture(experiments, **options):
        seen.append((experiments, options))
        raise _Captured

    monkeypatch.setattr(tunecore, "run_experiments", capture)
    monkeypatch.setattr(sys, "argv", [script])
    with pytest.raises(_Captured):
        runpy.run_path(script, run_name="__main__")
    [(experiments, options)] = seen
    assert convert_to_experiment_list(experiments)  # the Python checks accept it
    document = {"experiments": _json_form(experiments)}
    for key, value in options.items():  # the run options a file can hold (not scheduler objects)
        if key in cli.RUN_OPTIONS:
            try:
                document[key] = json.loads(json.dumps(value))
            except TypeError:
                continue
    assert schema_errors(validator, document) == []
    assert schema_errors(validator, document["experiments"]) == []  # the {name: spec} form too


DIGITS_YAML = """\
# yaml-language-server: $schema=tunecore-spec.schema.json
experiments:
  digits:
    run: train_digits
    stop: {mean_accuracy: 0.99, training_iteration: 50}
    config:
      lr: {grid_search: [0.01, 0.1, 1.0]}
      l2: {loguniform: [1.0e-5, 1.0e-2]}
      hidden: {choice: [16, 32, 64]}
      optimizer: {choice: [sgd, adam]}
      momentum: {uniform: {low: 0.5, high: 0.99}}
      batch: {randint: [16, 129]}
      beta: {eval: "spec.config.l2 * 2"}
      epochs: 15
      layers: [{units: 64}, {units: {grid_search: [16, 32]}}]
    num_samples: 2
    seed: 7
    trial_resources: {cpu: 1, gpu: 0.5}
    checkpoint_freq: 5
    checkpoint_at_end: true
    max_failures: 2
    local_dir: ~/ray_results
scheduler: {name: median_stopping, grace_period: 3}
metric: mean_accuracy
mode: max
verbose: 1
"""

PBT_YAML = """\
pbt_toy:
  run: ToyWorker
  stop: {training_iteration: 20}
  config:
    lr: 0.05
    h0: {grid_search: [1.0, 0.0]}
    h1: {sample_from: "1.0 - spec.config.h0"}
  repeat: 2
  loggers: [json, csv]
  env: CartPole-v1
  upload_dir: s3://my-bucket/experiments
  sync_period: 60
  restore: /checkpoints/pbt/checkpoint_10
"""


@pytest.mark.parametrize("text", [DIGITS_YAML, PBT_YAML], ids=["digits", "pbt"])
def test_realistic_yaml_specs_validate(text, validator, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    document = yaml.safe_load(text)
    assert schema_errors(validator, document) == []
    loaded = cli.load_spec_file(str(path))  # what tune run reads, through the Python checks
    assert convert_to_experiment_list(loaded["experiments"])


@pytest.mark.parametrize("edit, fragment", [
    (lambda e: e.update(stopp={"training_iteration": 5}), "'stopp' was unexpected"),
    (lambda e: e.update(num_samples="2"), "num_samples"),
    (lambda e: e.update(checkpoint_at_end="yes"), "checkpoint_at_end"),
    (lambda e: e.update(trial_resources={"cpu": 1, "tpu": 1}), "trial_resources"),
    (lambda e: e.update(trial_resources={"gpu": 1.5}), "trial_resources"),
    (lambda e: e.pop("run"), "'run' is a required property"),
    (lambda e: e["config"].update(l2={"loguniform": [1e-5]}), "config"),
    (lambda e: e["config"].update(lr={"grid_search": []}), "config"),
    (lambda e: e.update(local_dir={"grid_search": ["/a", "/b"]}), "local_dir"),
    (lambda e: e.update(stop={"mean_accuracy": "high"}), "stop"),
    (lambda e: e.update(loggers="json"), "loggers"),
])
def test_bad_specs_fail_the_schema_and_tune_run(edit, fragment, validator, tmp_path):
    document = yaml.safe_load(DIGITS_YAML)
    edit(document["experiments"]["digits"])
    errors = schema_errors(validator, document)
    assert errors and any(fragment in e for e in errors), errors
    assert python_error("digits", document["experiments"]["digits"]) is not None


def test_yaml_1_1_numbers_are_caught_before_the_run(validator):
    # PyYAML reads 1e-5 (no dot) as a string; the schema and the checks both say so
    document = yaml.safe_load("e: {run: t, config: {lr: {loguniform: [1e-5, 1e-2]}}}")
    assert schema_errors(validator, document)
    spec = yaml.safe_load("e: {run: t, stop: {loss: 1e-5}}")["e"]
    assert "e.stop.loss must be a number" in python_error("e", spec)


def test_bad_file_shapes_fail_the_schema(validator):
    for document in ({}, [], {"experiments": {}}, {"experiments": {"e": {"run": "t"}}, "sheduler": "fifo"},
                     {"a/b": {"run": "t"}}, {"..": {"run": "t"}}, {"e": "not a spec"},
                     {"experiments": {"e": {"run": "t"}}, "mode": "best"}):
        assert schema_errors(validator, document), document


# -- the Python checks and the JSON Schema agree on random specs --------------------------------

def _has_form(value) -> bool:
    """Whether a dict shaped like an unresolved value (one key such as grid_search) is inside."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in S.UNRESOLVED_KEYS:
            return True
        return any(_has_form(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_form(v) for v in value)
    return False


# JSON has one number type: 2.0 is an integer to JSON Schema but a float to Python, which
# refuses it where an int is asked for. That is the one known difference; leave it out here.
_leaf = (st.none() | st.booleans() | st.integers(-10, 10 ** 20)
         | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())
         | st.text(max_size=6))
ANY_JSON = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                        max_leaves=6).filter(lambda v: not _has_form(v))
_number = st.integers(-100, 100) | st.floats(-1e6, 1e6, allow_nan=False)
_amount = st.integers(0, 8) | st.floats(0, 1)

#: Right values for each key (plain ones; searched ones are made from them below).
RIGHT = {
    "run": st.text(min_size=1, max_size=8),
    "stop": st.dictionaries(st.text(min_size=1, max_size=5), _number, max_size=3),
    "config": st.dictionaries(st.text(min_size=1, max_size=5), ANY_JSON, max_size=3),
    "trial_resources": st.fixed_dictionaries({}, optional={"cpu": _amount, "gpu": _amount,
                                                           "extra_cpu": _amount, "extra_gpu": _amount}),
    "num_samples": st.integers(1, 10 ** 6),
    "local_dir": st.text(max_size=8),
    "upload_dir": st.text(max_size=8),
    # (the fields that checkpoint_freq, keep_checkpoints_num and checkpoint_score_attr also set are
    # left out: two values that disagree is a rule between keys, which no JSON Schema can say)
    "checkpoint_config": st.fixed_dictionaries({}, optional={
        "checkpoint_score_order": st.sampled_from(["max", "min"]), "checkpoint_at_end": st.none()}),
    "keep_checkpoints_num": st.integers(1, 10),
    "checkpoint_score_attr": st.text(min_size=1, max_size=5).filter(lambda a: not a.startswith("min-")),
    "checkpoint_freq": st.integers(0, 100),
    "checkpoint_at_end": st.booleans(),
    "max_failures": st.integers(-1, 10),
    "restore": st.text(max_size=8),
    "loggers": st.lists(st.text(min_size=1, max_size=5), max_size=3),
    "sync_period": st.floats(1e-3, 1e6) | st.integers(1, 10 ** 6),
    "seed": st.integers(0, 2 ** 32),
}


def test_every_field_has_a_strategy():
    assert set(RIGHT) == set(SPEC_DEFAULTS)


def _searched(plain):
    return st.one_of(
        st.lists(plain, min_size=1, max_size=3).map(lambda values: {"grid_search": values}),
        st.text(max_size=10).map(lambda expr: {"eval": expr}),
        st.just({"uniform": [0, 1]}),
        st.lists(plain, min_size=1, max_size=3).map(lambda values: {"choice": values}),
    )


def _value(key):
    field = S.FIELDS[S.ALIASES[key].target if key in S.ALIASES else key]
    options = [RIGHT[field.name], ANY_JSON, _searched(RIGHT[field.name] | ANY_JSON)]
    return st.one_of(*options)


@st.composite
def specs(draw, keys=tuple(SPEC_KEYS), run=None):
    if run is None:  # mostly a right one, so that the other keys get to be judged
        run = st.integers(0, 3).flatmap(lambda i: _value("run") if i == 0 else RIGHT["run"])
    spec = {"run": draw(run)}
    for key in draw(st.lists(st.sampled_from([k for k in keys if k not in ("run", "env")]), max_size=5,
                             unique=True)):
        spec[key] = draw(_value(key))
    if "env" in keys and draw(st.booleans()):
        spec["env"] = draw(ANY_JSON)
    return spec


_VALIDATOR = jsonschema.Draft202012Validator(S.spec_file_schema())


@pytest.mark.filterwarnings("ignore:.*both repeat=.*using num_samples")
@PROPERTY
@given(specs())
def test_python_checks_and_json_schema_agree(spec):
    message = python_error("e", spec)
    errors = schema_errors(_VALIDATOR, {"e": spec})
    assert (message is None) == (not errors), f"python: {message!r}\nschema: {errors}"


_HTTP_ONLY = ("spec.num_samples must be an int between", "spec.repeat must be an int between",
              "spec would create more than", "spec.run must be the name of a trainable",
              "spec.run=")


def _has_code(value) -> bool:
    if isinstance(value, dict):
        return any(k in ("eval", "sample_from") for k in value) or any(_has_code(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_code(v) for v in value)
    return False


@pytest.mark.filterwarnings("ignore:.*both repeat=.*using num_samples")
@PROPERTY
@given(specs(keys=tuple(sorted(HTTP_SPEC_KEYS)),
             run=st.text(min_size=1, max_size=8).filter(lambda name: ":" not in name)))
def test_http_gives_the_python_message(spec):
    # over HTTP, run is a registered name (here every name is); the rest is the table's
    if _has_code(spec):
        assert http_error("e", spec).startswith("spec.")  # refused first: no code over the wire
        return
    message, answer = python_error("e", spec), http_error("e", spec)
    if message is not None:
        assert answer == message
    else:
        assert answer is None or answer.startswith(_HTTP_ONLY), answer


def test_the_readme_shows_tune_schema():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "tune schema --output" in readme
    [block] = [b for b in readme.split("```yaml\n")[1:] if b.startswith("# yaml-language-server: $schema=")]
    document = yaml.safe_load(block.split("```")[0])
    assert schema_errors(_VALIDATOR, document) == []
    [(name, spec)] = document.items()
    assert python_error(name, spec) is None
    bad = dict(spec, num_samples="two", checkpoint_frq=spec["checkpoint_freq"])
    del bad["checkpoint_freq"]
    assert sorted(schema_errors(_VALIDATOR, {name: bad})) == sorted([
        f"{name}: Additional properties are not allowed ('checkpoint_frq' was unexpected)",
        f"{name}/num_samples: 'two' is not of type 'integer', 'null'"])
