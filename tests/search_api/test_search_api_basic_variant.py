"""BasicVariantGenerator's Ray Tune 2.x arguments: points_to_evaluate, max_concurrent,
constant_grid_search and random_state (without Ray)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tunecore as tune
from tunecore.search import BasicVariantGenerator
from tunecore.testing import SearcherContract

TRAINABLE = "search_api_bvg_trainable"
tune.register_trainable(TRAINABLE, lambda config, reporter: reporter(loss=1))


def spec(config, num_samples=1, name="exp", **extra):
    return {name: {"run": TRAINABLE, "num_samples": num_samples, "config": config, **extra}}


def produce(gen, *experiments):
    for e in experiments:
        gen.add_configurations(e)
    trials = []
    while not gen.is_finished():
        new = gen.next_trials()
        trials += new
        for t in new:
            gen.on_trial_complete(t.trial_id, result={"loss": 1})
    return trials


def test_ray_signature_order_and_keyword_only_tunecore_options():
    gen = BasicVariantGenerator([{"a": 1}], 2, True, 5)
    assert gen.points_to_evaluate == [{"a": 1}] and gen.max_concurrent == 2
    with pytest.raises(TypeError):
        BasicVariantGenerator(None, 0, False, None, 3)  # seed is keyword-only


def test_the_ray_docs_example_six_trials_from_four_samples():
    """Ray's docstring example: points replace the first samples; a grid a point leaves out still expands."""
    gen = BasicVariantGenerator(points_to_evaluate=[{"a": 2, "b": 2}, {"a": 1}, {"b": 2}], seed=0)
    trials = produce(gen, spec({"a": tune.grid_search([1, 2]), "b": tune.randint(0, 3)}, num_samples=4))
    configs = [t.config for t in trials]
    assert len(configs) == 6
    assert configs[0] == {"a": 2, "b": 2}
    assert configs[1]["a"] == 1 and configs[1]["b"] in (0, 1, 2)
    assert configs[2:4] == [{"a": 1, "b": 2}, {"a": 2, "b": 2}]
    assert [c["a"] for c in configs[4:]] == [1, 2] and all(c["b"] in (0, 1, 2) for c in configs[4:])
    assert trials[0].experiment_tag == "0_a=2,b=2"
    assert [t.experiment_tag.split("_")[0] for t in trials] == [str(i) for i in range(6)]


@pytest.mark.filterwarnings("ignore:Experiment 'exp'. points_to_evaluate")  # points outside the space, on purpose
def test_points_come_first_then_samples_and_all_points_run():
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": 0.5}, {"x": 4.5}, {"x": 2.5}])
    trials = produce(gen, spec({"x": tune.uniform(0, 5), "y": tune.choice(["a", "b"])}, num_samples=2))
    assert [t.config["x"] for t in trials] == [0.5, 4.5, 2.5]  # more points than num_samples: all run
    assert all(t.config["y"] in ("a", "b") for t in trials)
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": 0.5}])
    xs = [t.config["x"] for t in produce(gen, spec({"x": tune.uniform(1, 5)}, num_samples=4))]
    assert len(xs) == 4 and xs[0] == 0.5 and all(1 <= x < 5 for x in xs[1:])


def test_points_set_nested_keys_and_lambdas_read_them():
    config = {"opt": {"lr": tune.loguniform(1e-4, 1e-1), "momentum": 0.9},
              "double_lr": lambda spec: spec.config.opt.lr * 2,
              "arch": tune.choice([{"layers": 1}, {"layers": 2}])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # valid points warn about nothing
        gen = BasicVariantGenerator(points_to_evaluate=[{"opt": {"lr": 0.01}, "arch": {"layers": 2}}])
        (trial,) = produce(gen, spec(config))
    assert trial.config == {"opt": {"lr": 0.01, "momentum": 0.9}, "double_lr": 0.02, "arch": {"layers": 2}}


def test_points_values_outside_the_space_warn_and_run_as_given():
    config = {"g": tune.grid_search([1, 2]), "r": tune.randint(0, 3), "c": "const", "q": {"qrandint": [0, 10, 5]}}
    gen = BasicVariantGenerator(points_to_evaluate=[{"g": 7, "r": 9, "c": "other", "q": 3}])
    with pytest.warns(UserWarning) as record:
        (trial,) = produce(gen, spec(config))
    text = " ".join(str(w.message) for w in record)
    for part in ("config.g=7", "grid_search", "config.r=9", "tune.randint(0, 3)", "config.c='other'",
                 "constant", "config.q=3"):
        assert part in text
    assert trial.config == {"g": 7, "r": 9, "c": "other", "q": 3}


def test_a_point_key_missing_from_the_config_is_an_error():
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": 1, "typo": 2}])
    with pytest.raises(tune.TuneError, match=r"points_to_evaluate\[0\] sets config.typo, which is not in"):
        gen.add_configurations(spec({"x": tune.uniform(0, 1)}))


def test_a_point_holding_a_domain_is_left_out_with_a_warning():
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": tune.uniform(0, 1), "y": 3}])
    with pytest.warns(UserWarning, match="unresolved value"):
        (trial,) = produce(gen, spec({"x": tune.uniform(5, 6), "y": tune.randint(0, 5)}))
    assert 5 <= trial.config["x"] < 6 and trial.config["y"] == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"points_to_evaluate": {"x": 1}}, "first argument is points_to_evaluate, a list of config dicts"),
    ({"points_to_evaluate": [1]}, "a list of config dicts"),
    ({"points_to_evaluate": 3}, "seed= is a keyword argument"),
    ({"max_concurrent": -1}, "max_concurrent must be"),
    ({"max_concurrent": 1.5}, "max_concurrent must be"),
    ({"constant_grid_search": "yes"}, "constant_grid_search must be"),
    ({"random_state": "seed"}, "random_state must be"),
    ({"random_state": -3}, "random_state must be"),
    ({"random_state": 1, "seed": 1}, "the same thing: give one"),
])
def test_bad_arguments_are_tune_errors(kwargs, match):
    with pytest.raises(tune.TuneError, match=match):
        BasicVariantGenerator(**kwargs)


def test_points_are_copied_and_every_experiment_gets_them():
    points = [{"x": 1}]
    gen = BasicVariantGenerator(points_to_evaluate=points)
    points[0]["x"] = 99
    with pytest.warns(UserWarning, match="Several experiments"):
        trials = produce(gen, [tune.Experiment("a", TRAINABLE, config={"x": tune.randint(0, 9)}, num_samples=2),
                               tune.Experiment("b", TRAINABLE, config={"x": tune.randint(0, 9)})])
    assert [(t.experiment_name, t.config["x"] if i in (0, 2) else None) for i, t in enumerate(trials)] == \
        [("a", 1), ("a", None), ("b", 1)]


def test_max_concurrent_limits_live_trials():
    gen = BasicVariantGenerator(max_concurrent=2)
    gen.add_configurations(spec({"x": tune.grid_search(list(range(5)))}))
    first = gen.next_trials()
    assert [t.config["x"] for t in first] == [0, 1]
    assert gen.next_trials() == [] and not gen.is_finished()
    gen.on_trial_complete(first[0].trial_id, result={"loss": 1})
    gen.on_trial_complete("not-mine", result={"loss": 1})
    assert [t.config["x"] for t in gen.next_trials()] == [2]
    gen.on_trial_complete(first[1].trial_id, error=True)
    assert [t.config["x"] for t in gen.next_trials()] == [3]
    assert not gen.is_finished()


def test_max_concurrent_and_max_trials_per_step_together():
    gen = BasicVariantGenerator(max_concurrent=3, max_trials_per_step=2)
    gen.add_configurations(spec({"x": tune.grid_search(list(range(4)))}))
    assert len(gen.next_trials()) == 2 and len(gen.next_trials()) == 1 and gen.next_trials() == []


def test_max_concurrent_survives_a_resume():
    gen = BasicVariantGenerator(max_concurrent=2, seed=1)
    gen.add_configurations(spec({"x": tune.grid_search(list(range(4)))}))
    a, b = gen.next_trials()
    gen.on_trial_complete(a.trial_id, result={"loss": 1})
    state = json.loads(json.dumps(gen.save_state()))
    assert state["live"] == [b.trial_id]
    resumed = BasicVariantGenerator(max_concurrent=2, seed=1)
    resumed.restore_state(state)
    resumed.add_configurations(spec({"x": tune.grid_search(list(range(4)))}))
    (c,) = resumed.next_trials()  # b still runs: one slot
    assert c.config["x"] == 2 and resumed.next_trials() == []
    resumed.on_trial_complete(b.trial_id, result={"loss": 1})
    assert [t.config["x"] for t in resumed.next_trials()] == [3]


def test_without_max_concurrent_the_state_holds_no_trial_ids():
    gen = BasicVariantGenerator()
    gen.add_configurations(spec({"x": tune.grid_search(list(range(50)))}))
    gen.next_trials()
    assert set(gen.save_state()) == {"counter"}


@pytest.mark.filterwarnings("ignore:Experiment 'exp'. points_to_evaluate")  # points outside the space, on purpose
def test_points_resume_with_the_same_ids_tags_and_configs():
    def make():
        gen = BasicVariantGenerator(points_to_evaluate=[{"x": 0}, {"x": 1}], seed=4, max_trials_per_step=2)
        gen.add_configurations(spec({"x": tune.grid_search([5, 6]), "u": tune.uniform(0, 1)}, num_samples=3))
        return gen

    whole = produce(make())
    assert [t.config["x"] for t in whole] == [0, 1, 5, 6]
    first = make()
    got = first.next_trials()
    state = json.loads(json.dumps(first.save_state()))
    resumed = make()
    resumed.restore_state(state)
    rest = []
    while not resumed.is_finished():
        rest += resumed.next_trials()
    assert [t.experiment_tag for t in got + rest] == [t.experiment_tag for t in whole]
    assert [t.config for t in got + rest] == [t.config for t in whole]


def test_constant_grid_search_keeps_sampled_values_over_the_grid():
    config = {"g": tune.grid_search([1, 2, 3]), "u": tune.uniform(0, 1), "n": {"lograndint": [1, 10 ** 6]},
              "per_point": lambda spec: spec.config.g * 10}
    trials = produce(BasicVariantGenerator(constant_grid_search=True, seed=3), spec(config, num_samples=2))
    assert len(trials) == 6
    for rep in (trials[:3], trials[3:]):
        assert len({(t.config["u"], t.config["n"]) for t in rep}) == 1
        assert [t.config["per_point"] for t in rep] == [10, 20, 30]
    assert trials[0].config["u"] != trials[3].config["u"]
    assert "u=" in trials[0].experiment_tag
    # the control: by default every grid point samples afresh
    default = produce(BasicVariantGenerator(seed=3), spec(config, num_samples=1))
    assert len({t.config["u"] for t in default}) == 3


def test_constant_grid_search_with_points():
    gen = BasicVariantGenerator(points_to_evaluate=[{"u": 0.5}], constant_grid_search=True)
    trials = produce(gen, spec({"g": tune.grid_search([1, 2]), "u": tune.uniform(0, 1), "v": tune.uniform(0, 1)}))
    assert [t.config["u"] for t in trials] == [0.5, 0.5]
    assert trials[0].config["v"] == trials[1].config["v"]


@pytest.mark.parametrize("make_state", [lambda: 7, lambda: np.random.default_rng(7),
                                        lambda: np.random.RandomState(7)])
def test_random_state_makes_runs_repeatable(make_state):
    def configs(random_state):
        gen = BasicVariantGenerator(random_state=random_state)
        return [t.config for t in produce(gen, spec({"u": tune.uniform(0, 1), "l": lambda s: np.random.rand()},
                                                    num_samples=4))]

    first = configs(make_state())
    assert first == configs(make_state())
    assert len({c["u"] for c in first}) == 4
    assert first != configs(None)


def test_an_int_random_state_is_the_seed():
    def configs(**kwargs):
        return [t.config for t in produce(BasicVariantGenerator(**kwargs), spec({"u": tune.uniform(0, 1)}, 3))]

    assert configs(random_state=11) == configs(seed=11)


class TestPointsContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            gen = BasicVariantGenerator(points_to_evaluate=[{"quality": 0.5}], max_concurrent=2, seed=2)
            gen.add_configurations(spec({"quality": tune.uniform(0, 1), "g": tune.grid_search([1, 2])},
                                        num_samples=3))
            return gen
        return make
