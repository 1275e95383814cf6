"""The explore operators of PBT."""

from __future__ import annotations

import random

import pytest

from tune_pbt.explore import explore, format_vars, mutated_values, normalize_mutations, validate_mutations
from tunecore.errors import TuneError


def _uniform(low, high):
    import tunecore

    factory = getattr(tunecore, "uniform", None)
    if factory is None:
        from tunecore.sample import uniform as factory
    return factory(low, high)


def outcomes(config, mutations, key, p=0.0, n=200, custom=None):
    rng = random.Random(0)
    return {explore(config, mutations, p, custom, rng)[key] for _ in range(n)}


def test_categorical_moves_to_a_neighbour_clamped_at_the_ends():
    values = [3, 4, 8, 10]
    assert outcomes({"x": 4}, {"x": values}, "x") == {3, 8}
    assert outcomes({"x": 3}, {"x": values}, "x") == {3, 4}
    assert outcomes({"x": 10}, {"x": values}, "x") == {8, 10}


def test_categorical_value_not_in_list_is_resampled_from_the_list():
    assert outcomes({"x": 5}, {"x": [3, 4, 8, 10]}, "x") == {3, 4, 8, 10}


def test_float_is_multiplied_by_point_eight_or_one_point_two():
    got = outcomes({"x": 100.0}, {"x": lambda: 1.0}, "x")
    assert sorted(got) == pytest.approx([80.0, 120.0])


def test_int_stays_int():
    got = outcomes({"x": 10}, {"x": lambda: 1}, "x")
    assert got == {8, 12}
    assert all(type(v) is int for v in got)


def test_resample_probability_one_samples_the_distribution():
    got = outcomes({"x": 100.0}, {"x": _uniform(0, 1)}, "x", p=1.0, n=50)
    assert len(got) == 50 and all(0 <= v < 1 for v in got)
    assert outcomes({"x": 100.0}, {"x": lambda: -7.0}, "x", p=1.0) == {-7.0}
    assert outcomes({"x": 4}, {"x": [3, 4, 8, 10]}, "x", p=1.0) == {3, 4, 8, 10}


def test_domain_is_perturbed_like_a_function_when_not_resampled():
    got = outcomes({"x": 10.0}, {"x": _uniform(0, 20)}, "x", p=0.0)
    assert sorted(got) == pytest.approx([8.0, 12.0])


def test_categorical_domain_behaves_like_a_list():
    from tunecore.sample import choice

    assert outcomes({"opt": "b"}, {"opt": choice(["a", "b", "c"])}, "opt") == {"a", "c"}


def test_custom_explore_fn_runs_last_and_can_override():
    def custom(config):
        config["x"] = 42
        config["extra"] = "set"
        return config

    new = explore({"x": 1.0, "keep": 7}, {"x": lambda: 0.5}, 0.25, custom, random.Random(1))
    assert new == {"x": 42, "extra": "set", "keep": 7}


def test_custom_explore_fn_must_return_a_dict():
    with pytest.raises(TuneError, match="custom_explore_fn must return"):
        explore({"x": 1.0}, {}, 0.25, lambda c: None, random.Random(0))


def test_unmutated_keys_unchanged_and_donor_config_not_modified():
    donor = {"x": 1.0, "y": [1, 2], "nested": {"a": 1}}
    new = explore(donor, {"x": lambda: 0.0}, 0.0, None, random.Random(0))
    assert new["y"] == [1, 2] and new["nested"] == {"a": 1} and new["y"] is not donor["y"]
    assert donor == {"x": 1.0, "y": [1, 2], "nested": {"a": 1}}


def test_nested_mutations():
    ops: dict = {}
    new = explore({"opt": {"lr": 1.0, "mom": 0.9}, "b": 2}, {"opt": {"lr": lambda: 0.1}}, 0.0, None,
                  random.Random(3), ops)
    assert new["opt"]["lr"] in (pytest.approx(0.8), pytest.approx(1.2))
    assert new["opt"]["mom"] == 0.9 and new["b"] == 2
    assert ops["opt"]["lr"] in ("*1.2", "*0.8")


def test_explore_is_reproducible_with_a_seed():
    a = [explore({"x": 1.0}, {"x": lambda: 0.0}, 0.5, None, rng) for rng in [random.Random(7)] * 20]
    b = [explore({"x": 1.0}, {"x": lambda: 0.0}, 0.5, None, rng) for rng in [random.Random(7)] * 20]
    assert a == b


def test_json_domains_are_converted():
    muts = normalize_mutations({"lr": {"uniform": [0, 20]}, "nested": {"bs": [16, 32]}})
    assert hasattr(muts["lr"], "sample") and muts["nested"] == {"bs": [16, 32]}
    assert all(0 <= v < 20 for v in outcomes({"lr": 1.0}, muts, "lr", p=1.0, n=20))


@pytest.mark.parametrize("bad, match", [
    ({"x": []}, r"hyperparam_mutations\['x'\] must be a non-empty list"),
    ({"x": 3}, r"hyperparam_mutations\['x'\] must be a list of values, a sample domain"),
    ({"a": {"b": "str"}}, r"hyperparam_mutations\['a'\]\['b'\] must be"),
    ([1, 2], r"hyperparam_mutations must be a dict, but got hyperparam_mutations=\[1, 2\]"),
])
def test_validate_mutations(bad, match):
    with pytest.raises(TuneError, match=match):
        validate_mutations(bad)


def test_format_vars_of_mutated_keys():
    config = {"lr": 5 / 7, "opt": {"mom": 1e-5}, "other": 3, "bs": 32}
    values = mutated_values(config, {"lr": [], "opt": {"mom": []}, "bs": []})
    assert format_vars(values) == "bs=32,lr=0.71429,mom=1e-05"
