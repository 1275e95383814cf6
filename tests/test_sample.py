"""Sample domains in Python and JSON, mixed with grids and lambdas, and seeded."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

import tunecore as tune
from tunecore import sample
from tunecore.variants import format_vars, generate_variants


def draw(domain, n=400, seed=0):
    rng = np.random.default_rng(seed)
    return [domain.sample(rng) for _ in range(n)]


def test_uniform_range_and_spread():
    values = draw(tune.uniform(-2, 3))
    assert all(-2 <= v < 3 for v in values) and all(isinstance(v, float) for v in values)
    assert min(values) < -1.5 and max(values) > 2.5


def test_loguniform_is_uniform_in_log_space():
    values = draw(tune.loguniform(1e-4, 1e-1), n=2000)
    assert all(1e-4 <= v <= 1e-1 for v in values)
    decades = [sum(1 for v in values if 10 ** (e - 1) <= v < 10**e) for e in (-3, -2, -1)]
    assert all(550 < d < 780 for d in decades), decades  # ~667 each


def test_quniform_is_a_multiple_of_q_and_int_for_int_arguments():
    for v in draw(tune.quniform(0, 1, 0.1)):
        assert 0 <= v <= 1 and math.isclose(v * 10, round(v * 10), abs_tol=1e-9)
    ints = draw(tune.quniform(0, 100, 5))
    assert all(isinstance(v, int) and v % 5 == 0 for v in ints)


def test_randint_excludes_high():
    assert set(draw(tune.randint(3, 6))) == {3, 4, 5}


def test_choice_picks_every_category():
    values = draw(tune.choice(["sgd", "adam", [1, 2]]))
    assert {str(v) for v in values} == {"sgd", "adam", "[1, 2]"}


def test_randn_mean_and_sd():
    values = np.array(draw(tune.randn(5.0, 2.0), n=4000))
    assert abs(values.mean() - 5.0) < 0.15 and abs(values.std() - 2.0) < 0.15


def test_sample_from_reads_other_values():
    spec = {"config": {"x": tune.grid_search([1, 2]), "y": tune.sample_from(lambda spec: spec.config.x * 10)}}
    assert [s["config"]["y"] for _, s in generate_variants(spec)] == [10, 20]


@pytest.mark.parametrize("bad, message", [
    (lambda: tune.uniform(1, 0), "low < high"),
    (lambda: tune.loguniform(0, 1), "0 < low < high"),
    (lambda: tune.loguniform(1, 10, base=1), "base > 1"),
    (lambda: tune.quniform(0, 1, 0), "q > 0"),
    (lambda: tune.randint(0, 1.5), "integer bounds"),
    (lambda: tune.randint(5, 5), "low < high"),
    (lambda: tune.choice([]), "non-empty list"),
    (lambda: tune.choice("abc"), "non-empty list"),
    (lambda: tune.randn(0, -1), "sd > 0"),
    (lambda: tune.uniform("a", 1), "low must be a finite number, but got low='a'"),
    (lambda: tune.sample_from(3), "sample_from needs"),
])
def test_constructors_validate(bad, message):
    with pytest.raises(tune.TuneError, match=message):
        bad()


@pytest.mark.parametrize("domain", [
    tune.uniform(0, 1), tune.loguniform(1e-4, 1e-1), tune.loguniform(1, 8, base=2), tune.quniform(0, 10, 2.5),
    tune.randint(0, 10), tune.choice(["a", 1, None]), tune.randn(0, 2), tune.sample_from("spec.config.x * 2"),
])
def test_json_round_trip(domain):
    data = json.loads(json.dumps(domain.to_json()))
    assert sample.from_json(data) == domain


def test_json_forms_by_name_and_errors():
    assert sample.from_json({"uniform": {"low": 0, "high": 2}}) == tune.uniform(0, 2)
    assert sample.from_json({"randn": None}) == tune.randn()
    assert sample.from_json({"uniform": [0, 1], "other": 1}) is None
    with pytest.raises(tune.TuneError, match=r"Bad \{'uniform': \.\.\.\} at config\.lr: uniform needs low < high"):
        sample.from_json({"uniform": [1, 0]}, where="config.lr")
    with pytest.raises(tune.TuneError, match="Example"):
        sample.from_json({"uniform": [1, 2, 3, 4]})


def test_json_and_yaml_specs_mix_domains_grids_and_eval():
    text = """
    config:
      lr: {loguniform: [1.0e-4, 1.0e-1]}
      batch: {choice: [16, 32]}
      layers: {randint: [1, 4]}
      momentum: {grid_search: [0.8, 0.9]}
      wd: {eval: "spec.config.lr * 0.1"}
      noise: {sample_from: "spec.config.momentum + 1"}
    """
    spec = yaml.safe_load(text)
    got = list(generate_variants(spec, rng=0))
    assert len(got) == 2
    for resolved, s in got:
        c = s["config"]
        assert 1e-4 <= c["lr"] <= 1e-1 and c["batch"] in (16, 32) and c["layers"] in (1, 2, 3)
        assert math.isclose(c["wd"], c["lr"] * 0.1) and math.isclose(c["noise"], c["momentum"] + 1)
        assert set(k[-1] for k in resolved) == {"lr", "batch", "layers", "momentum", "wd", "noise"}
    assert [s["config"]["momentum"] for _, s in got] == [0.8, 0.9]


def test_python_domains_mix_with_lambdas_and_grids():
    spec = {"config": {"lr": tune.loguniform(1e-3, 1), "scaled": lambda spec: spec.config.lr * 100,
                       "act": tune.grid_search(["relu", "tanh"])}}
    got = list(generate_variants(spec))
    assert len(got) == 2
    for resolved, s in got:
        assert math.isclose(s["config"]["scaled"], s["config"]["lr"] * 100)
        assert format_vars(resolved).startswith(f"act={s['config']['act']},lr=")


def test_seed_makes_samples_identical():
    spec = {"config": {"a": tune.uniform(0, 1), "b": tune.randn(), "c": tune.choice(list(range(100))),
                       "d": {"randint": [0, 10**9]}, "g": tune.grid_search([1, 2, 3])}}
    first = [s for _, s in generate_variants(spec, rng=123)]
    assert first == [s for _, s in generate_variants(spec, rng=123)]
    assert first != [s for _, s in generate_variants(spec, rng=124)]
    assert len({s["config"]["d"] for s in first}) == 3  # fresh sample per grid point


def test_domains_are_exported_at_top_level():
    for name in ("grid_search", "function", "uniform", "loguniform", "quniform", "randint", "choice", "randn",
                 "sample_from"):
        assert name in tune.__all__ and callable(getattr(tune, name))
