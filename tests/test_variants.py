"""Variant generation: grids, lambdas, eval, nested forms, tags."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tunecore as tune
from tunecore.variants import format_vars, generate_variants, is_unresolved


def variants(spec, rng=None):
    return list(generate_variants(spec, rng=rng))


def tags(spec):
    return [f"{i}_{format_vars(v)}" if format_vars(v) else str(i) for i, (v, _) in enumerate(variants(spec))]


# -- grids ----------------------------------------------------------------------------
def test_two_grid_vars_first_sorted_path_changes_fastest():
    spec = {"run": "f", "config": {"bar": tune.grid_search([True, False]), "foo": tune.grid_search([1, 2, 3])}}
    assert tags(spec) == [
        "0_bar=True,foo=1", "1_bar=False,foo=1", "2_bar=True,foo=2",
        "3_bar=False,foo=2", "4_bar=True,foo=3", "5_bar=False,foo=3",
    ]
    assert [s["config"] for _, s in variants(spec)][:2] == [{"bar": True, "foo": 1}, {"bar": False, "foo": 1}]


def test_json_grid_search_form_is_the_same_as_grid_search():
    spec = {"config": {"lr": {"grid_search": [0.1, 0.01]}}}
    assert [s["config"]["lr"] for _, s in variants(spec)] == [0.1, 0.01]
    assert tune.grid_search([1, 2]) == {"grid_search": [1, 2]}


def test_grid_search_needs_a_list():
    with pytest.raises(tune.TuneError, match="Grid search expected list of values"):
        variants({"config": {"x": {"grid_search": 5}}})
    with pytest.raises(tune.TuneError, match="Grid search expected list of values"):
        tune.grid_search("abc")
    with pytest.raises(tune.TuneError, match="no values"):
        variants({"config": {"x": {"grid_search": []}}})


def test_grid_over_non_config_keys():
    spec = {"run": "f", "stop": {"training_iteration": tune.grid_search([1, 5])}, "config": {}}
    got = variants(spec)
    assert [s["stop"]["training_iteration"] for _, s in got] == [1, 5]
    assert format_vars(got[0][0]) == "training_iteration=1"


def test_run_env_and_trial_resources_are_not_in_tags():
    spec = {"run": tune.grid_search(["a", "b"]), "trial_resources": {"cpu": tune.grid_search([1, 2])},
            "config": {"env": tune.grid_search(["Pong"]), "x": 1}}
    got = variants(spec)
    assert len(got) == 4
    assert all(format_vars(v) == "env=Pong" for v, _ in got)  # config.env is tagged, top-level keys not
    assert {(s["run"], s["trial_resources"]["cpu"]) for _, s in got} == {("a", 1), ("b", 1), ("a", 2), ("b", 2)}


def test_the_guides_nn_layers_example_gives_9_trials():
    spec = {
        "run": "my_trainable",
        "config": {
            "alpha": lambda spec: np.random.uniform(100),
            "beta": lambda spec: spec.config.alpha * np.random.normal(),
            "nn_layers": [
                tune.grid_search([16, 64, 256]),
                tune.grid_search([16, 64, 256]),
            ],
        },
    }
    got = variants(spec)
    assert len(got) == 9
    layers = [tuple(s["config"]["nn_layers"]) for _, s in got]
    assert layers[:4] == [(16, 16), (64, 16), (256, 16), (16, 64)]
    for resolved, s in got:
        assert 1 <= s["config"]["alpha"] <= 100
        assert isinstance(s["config"]["beta"], float)
        assert set(resolved) == {("config", "alpha"), ("config", "beta"), ("config", "nn_layers", 0),
                                 ("config", "nn_layers", 1)}
    assert format_vars(got[1][0]).endswith("nn_layers_0=64,nn_layers_1=16")
    # random lambdas are sampled per variant
    assert len({s["config"]["alpha"] for _, s in got}) == 9


def test_nested_dicts_of_grids():
    spec = {"config": {"opt": {"name": tune.grid_search(["sgd", "adam"]), "lr": tune.grid_search([0.1, 0.01])}}}
    got = variants(spec)
    assert [s["config"]["opt"] for _, s in got] == [
        {"name": "sgd", "lr": 0.1}, {"name": "sgd", "lr": 0.01}, {"name": "adam", "lr": 0.1},
        {"name": "adam", "lr": 0.01},
    ]  # sorted paths: ("config","opt","lr") < ("config","opt","name"), lr changes fastest
    assert format_vars(got[0][0]) == "lr=0.1,name=sgd"


def test_grid_of_dicts_holding_lambdas():
    spec = {"config": {"opt": tune.grid_search([{"name": "sgd", "lr": lambda spec: 0.5}, {"name": "adam"}])}}
    got = variants(spec)
    assert [s["config"]["opt"] for _, s in got] == [{"name": "sgd", "lr": 0.5}, {"name": "adam"}]


def test_spec_is_not_modified():
    grid = tune.grid_search([1, 2])
    spec = {"config": {"x": grid, "y": lambda spec: spec.config.x}}
    variants(spec)
    assert spec["config"]["x"] is grid and callable(spec["config"]["y"])


def test_constant_spec_yields_itself_once():
    assert variants({"run": "f", "config": {"a": 1, "b": [1, {"c": 2}]}}) == [
        ({}, {"run": "f", "config": {"a": 1, "b": [1, {"c": 2}]}})]


# -- lambdas and references ------------------------------------------------------------
def test_chained_lambdas_resolve_in_dependency_order():
    spec = {"config": {"z": lambda spec: spec.config.y + 1, "y": lambda spec: spec.config.x + 1,
                       "x": lambda spec: 1}}
    (_, s), = variants(spec)
    assert s["config"] == {"x": 1, "y": 2, "z": 3}


def test_each_lambda_is_evaluated_once_per_variant():
    calls = []

    def x(spec):
        calls.append(1)
        return random.random()

    spec = {"config": {"x": x, "y": lambda spec: spec.config.x, "z": lambda spec: spec.config.x}}
    (_, s), = variants(spec)
    assert len(calls) == 1
    assert s["config"]["x"] == s["config"]["y"] == s["config"]["z"]


def test_lambda_depending_on_grid():
    spec = {"config": {"x": tune.grid_search([1, 2]), "y": lambda spec: spec.config.x * 100}}
    assert [s["config"] for _, s in variants(spec)] == [{"x": 1, "y": 100}, {"x": 2, "y": 200}]


def test_grid_of_lambdas_depending_on_another_lambda():
    spec = {"config": {"x": tune.grid_search([lambda spec: spec.config.y * 100,
                                              lambda spec: spec.config.y * 200]),
                       "y": lambda spec: 1}}
    got = variants(spec)
    assert [s["config"] for _, s in got] == [{"x": 100, "y": 1}, {"x": 200, "y": 1}]
    assert [format_vars(v) for v, _ in got] == ["x=100,y=1", "x=200,y=1"]


def test_lambda_returning_a_grid_and_a_reader_of_it():
    spec = {"config": {"x": lambda spec: tune.grid_search([1, 2]), "y": lambda spec: spec.config.x + 10}}
    assert [s["config"] for _, s in variants(spec)] == [{"x": 1, "y": 11}, {"x": 2, "y": 12}]


def test_conditional_values():
    spec = {"config": {"opt": tune.grid_search(["sgd", "adam"]),
                       "momentum": lambda spec: 0.9 if spec.config.opt == "sgd" else None}}
    assert [s["config"]["momentum"] for _, s in variants(spec)] == [0.9, None]


def test_lambda_reads_lists_and_nested_dicts_and_other_top_level_keys():
    spec = {"stop": {"it": 7},
            "config": {"layers": [8, tune.grid_search([16])], "opt": {"lr": 0.5},
                       "a": lambda spec: spec.config.layers[0] + spec.config.layers[1],
                       "b": lambda spec: spec["config"]["opt"]["lr"] * 2,
                       "c": lambda spec: spec.stop.it,
                       "d": lambda spec: dict(spec.config.opt),
                       "e": lambda spec: spec.config.get("missing", "dflt")}}
    (_, s), = variants(spec)
    assert (s["config"]["a"], s["config"]["b"], s["config"]["c"]) == (24, 1.0, 7)
    assert s["config"]["d"] == {"lr": 0.5} and s["config"]["e"] == "dflt"


def test_recursive_dependency_is_a_tune_error():
    with pytest.raises(tune.TuneError, match="`foo` recursively depends on"):
        variants({"config": {"foo": lambda spec: spec.config.foo}})


def test_dependency_cycle_names_the_chain():
    with pytest.raises(tune.TuneError, match=r"config\.a -> config\.b -> config\.a"):
        variants({"config": {"a": lambda spec: spec.config.b, "b": lambda spec: spec.config.a}})


def test_missing_reference_is_a_tune_error_naming_the_path():
    with pytest.raises(tune.TuneError) as info:
        variants({"config": {"alpha": 1, "beta": lambda spec: spec.config.alpah}})
    message = str(info.value)
    assert "config.beta reads spec.config.alpah" in message and "alpha" in message


def test_lambda_raising_is_a_tune_error_naming_the_path():
    with pytest.raises(tune.TuneError, match=r"config\.x.*ZeroDivisionError"):
        variants({"config": {"x": lambda spec: 1 / 0}})


def test_function_escape_is_passed_through():
    def activation(v):
        return v * 2

    spec = {"config": {"act": tune.function(activation), "plain": lambda spec: 3}}
    (resolved, s), = variants(spec)
    assert isinstance(s["config"]["act"], tune.function)
    assert s["config"]["act"](4) == 8
    assert s["config"]["plain"] == 3
    assert ("config", "act") not in resolved
    assert not is_unresolved(tune.function(activation))


def test_callable_stop_criterion_is_not_a_lambda():
    def stopper(trial_id, result):
        return result["it"] > 3

    (_, s), = variants({"stop": stopper, "config": {}})
    assert s["stop"] is stopper


# -- eval -----------------------------------------------------------------------------
def test_eval_form():
    got = variants({"config": {"foo": {"eval": "2 + 2"}}})
    assert got[0][1]["config"]["foo"] == 4
    assert "0_" + format_vars(got[0][0]) == "0_foo=4"


def test_eval_reads_spec_and_has_np_and_random():
    spec = {"config": {"x": 3, "y": {"eval": "spec.config.x * 2"},
                       "z": {"eval": "np.sqrt(16) + random.random() * 0"}}}
    (_, s), = variants(spec)
    assert s["config"]["y"] == 6 and s["config"]["z"] == 4.0


def test_single_key_forms_only_when_the_dict_has_exactly_that_key():
    literal = {"eval": "2 + 2", "note": "a plain dict"}
    grid_like = {"grid_search": [1, 2], "other": 1}
    sample_like = {"uniform": [0, 1], "x": 2}
    (_, s), = variants({"config": {"a": literal, "b": grid_like, "c": sample_like}})
    assert s["config"] == {"a": literal, "b": grid_like, "c": sample_like}
    assert not any(is_unresolved(v) for v in (literal, grid_like, sample_like, {}, {"uniform_": 1}))
    assert all(is_unresolved(v) for v in ({"eval": "1"}, {"grid_search": []}, {"uniform": [0, 1]},
                                         lambda spec: 1, tune.uniform(0, 1)))


# -- repeat / num_samples and seeds -------------------------------------------------------
def test_seeded_generation_is_repeatable_including_plain_np_random_lambdas():
    spec = {"config": {"a": lambda spec: np.random.uniform(), "b": lambda spec: random.random(),
                       "c": tune.uniform(0, 1), "g": tune.grid_search([1, 2])}}
    first = [s for _, s in variants(spec, rng=7)]
    state = np.random.get_state()
    second = [s for _, s in variants(spec, rng=np.random.default_rng(7))]
    assert first == second
    assert np.array_equal(np.random.get_state()[1], state[1])  # the global state is restored
    assert first != [s for _, s in variants(spec, rng=8)]


# -- tags -------------------------------------------------------------------------------
def test_format_vars_floats_lists_slashes_and_full_names():
    assert format_vars({("config", "lr"): 5 / 7, ("config", "momentum"): 1}) == "lr=0.71429,momentum=1"
    assert format_vars({("config", "eps"): 1e-5}) == "eps=1e-05"
    assert format_vars({("config", "nn_layers", 0): 16}) == "nn_layers_0=16"
    assert format_vars({("config", "path"): "a/b"}) == "path=a_b"
    assert format_vars({("config", "learning_rate"): np.float32(0.2)}) == "learning_rate=0.2"
    assert format_vars({("run",): "x", ("env",): "y", ("trial_resources", "cpu"): 1}) == ""


def test_format_vars_qualifies_colliding_names():
    got = format_vars({("config", "a", "lr"): 0.1, ("config", "b", "lr"): 0.2, ("config", "x"): 1})
    assert got == "a.lr=0.1,b.lr=0.2,x=1"


def test_long_tags_make_valid_folder_names(tmp_path):
    from tunecore.trial import Trial

    name = "a_very_long_parameter_name_" * 12
    (resolved, s), = variants({"config": {name: tune.grid_search(["x/y z" * 20])}})
    trial = Trial("train_func", s["config"], experiment_tag="0_" + format_vars(resolved))
    folder = tmp_path / trial.dirname()
    folder.mkdir()
    assert folder.is_dir() and len(trial.dirname()) < 200 and "/" not in trial.dirname()
