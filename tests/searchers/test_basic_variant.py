"""BasicVariantGenerator: the guide's examples, tags, shared counter, seeds, resume, registration."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tunecore as tune
from tunecore.experiment import Experiment
from tunecore.plugins import discover
from tunecore.searchers import BasicVariantGenerator, SearchAlgorithm
from tunecore.testing import SearcherContract


def train_func(config, reporter):  # registered under its name by Experiment
    reporter(mean_accuracy=config.get("lr", 0))


def my_trainable(config, reporter):
    reporter(mean_accuracy=1)


tune.register_trainable("bv_quality", lambda config, reporter: reporter(episode_reward_mean=1))


def guide_config():
    return {
        "alpha": lambda spec: np.random.uniform(100),
        "beta": lambda spec: spec.config.alpha * np.random.normal(),
        "nn_layers": [
            tune.grid_search([16, 64, 256]),
            tune.grid_search([16, 64, 256]),
        ],
    }


def generate(experiments, **kwargs):
    gen = BasicVariantGenerator(**kwargs)
    gen.add_configurations(experiments)
    return gen.next_trials()


def test_guide_grid_with_lambdas_gives_9_trials():
    trials = generate({"my_experiment_name": {"run": my_trainable, "config": guide_config()}})
    assert len(trials) == 9
    assert trials[0].experiment_tag.startswith("0_alpha=")
    assert trials[0].experiment_tag.endswith(",nn_layers_0=16,nn_layers_1=16")
    assert str(trials[1]).startswith("my_trainable_1_alpha=")
    assert all(t.trainable_name == "my_trainable" for t in trials)


def test_guide_repeat_10_gives_90_trials_with_fresh_samples():
    trials = generate({"my_experiment_name": {"run": my_trainable, "config": guide_config(), "repeat": 10}})
    assert len(trials) == 90
    assert len({t.config["alpha"] for t in trials}) == 90
    assert [t.experiment_tag.split("_")[0] for t in trials] == [str(i) for i in range(90)]
    assert len({t.trial_id for t in trials}) == 90
    # outer loop = repetition: the grid order restarts every 9 trials
    assert [t.config["nn_layers"] for t in trials[9:11]] == [[16, 16], [64, 16]]


def test_guide_json_spec_example():
    spec = {"my_experiment_name": {
        "run": my_trainable, "stop": {"mean_accuracy": 100},
        "config": {"alpha": tune.grid_search([0.2, 0.4, 0.6]), "beta": tune.grid_search([1, 2])},
        "trial_resources": {"cpu": 1, "gpu": 0}, "repeat": 10, "local_dir": "~/ray_results",
        "checkpoint_freq": 10, "max_failures": 2}}
    trials = generate(spec)
    assert len(trials) == 60
    assert trials[0].experiment_tag == "0_alpha=0.2,beta=1"
    assert trials[1].experiment_tag == "1_alpha=0.4,beta=1"
    assert trials[0].stopping_criterion == {"mean_accuracy": 100} and trials[0].checkpoint_freq == 10


def test_trial_name_format_of_the_spec():
    trials = generate(Experiment("e", train_func, config={"lr": tune.grid_search([0.2]),
                                                          "momentum": tune.grid_search([1])}))
    assert str(trials[0]) == "train_func_0_lr=0.2,momentum=1"


def test_eval_and_constant_spec_tags():
    assert [t.experiment_tag for t in generate({"e": {"run": "bv_quality", "config": {"foo": {"eval": "2 + 2"}}}})] \
        == ["0_foo=4"]
    trials = generate({"e": {"run": "bv_quality", "config": {"foo": 1}, "repeat": 2}})
    assert [t.experiment_tag for t in trials] == ["0", "1"]
    assert trials[0].config == {"foo": 1}


def test_counter_is_shared_across_experiments():
    with pytest.warns(UserWarning, match="Several experiments share one search algorithm"):
        trials = generate([Experiment("a", "bv_quality", config={"x": tune.grid_search([1, 2])}),
                           Experiment("b", "bv_quality", config={"y": tune.grid_search([3, 4])})])
    assert [t.experiment_tag for t in trials] == ["0_x=1", "1_x=2", "2_y=3", "3_y=4"]
    assert [t.experiment_name for t in trials] == ["a", "a", "b", "b"]


def test_is_finished_only_after_the_first_next_trials():
    gen = BasicVariantGenerator()
    gen.add_configurations(None)
    assert not gen.is_finished()
    assert gen.next_trials() == []
    assert gen.is_finished()


def test_bad_specs_are_tune_errors():
    with pytest.raises(tune.TuneError, match="config.b reads spec.config.nope"):
        generate({"e": {"run": "bv_quality", "config": {"b": lambda spec: spec.config.nope}}})
    with pytest.raises(tune.TuneError, match="Unknown trainable"):
        generate({"e": {"run": tune.grid_search(["no_such_trainable"])}})
    with pytest.raises(tune.TuneError, match="seed must be"):
        BasicVariantGenerator(seed="x")
    with pytest.raises(tune.TuneError, match="max_trials_per_step must be"):
        BasicVariantGenerator(max_trials_per_step=0)


def test_seed_from_generator_or_experiment_makes_configs_identical():
    def spec(seed=None):
        return {"e": {"run": "bv_quality", "num_samples": 5, "seed": seed,
                      "config": {"lr": tune.loguniform(1e-4, 1e-1), "b": lambda spec: np.random.rand(),
                                 "act": tune.grid_search(["relu", "tanh"])}}}

    def configs(trials):
        return [t.config for t in trials]

    first = configs(generate(spec(), seed=3))
    assert len(first) == 10
    assert first == configs(generate(spec(), seed=3))
    assert first != configs(generate(spec(), seed=4))
    assert configs(generate(spec(seed=11))) == configs(generate(spec(seed=11), seed=99))


def test_max_trials_per_step_batches():
    gen = BasicVariantGenerator(max_trials_per_step=4)
    gen.add_configurations({"e": {"run": "bv_quality", "num_samples": 10}})
    sizes = []
    while not gen.is_finished():
        sizes.append(len(gen.next_trials()))
    assert sizes == [4, 4, 2]


@pytest.mark.filterwarnings("ignore:Several experiments share")
def test_resume_continues_with_the_same_ids_tags_and_configs():
    def experiments():
        return [Experiment("a", "bv_quality", config={"x": tune.grid_search([1, 2, 3]), "u": tune.uniform(0, 1)},
                           num_samples=2, seed=5),
                Experiment("b", "bv_quality", config={"y": tune.grid_search([1, 2])}, seed=6)]

    whole = BasicVariantGenerator(max_trials_per_step=100)
    whole.add_configurations(experiments())
    reference = whole.next_trials()
    assert len(reference) == 8

    first = BasicVariantGenerator(max_trials_per_step=3)
    first.add_configurations(experiments())
    got = first.next_trials() + first.next_trials()
    state = json.loads(json.dumps(first.save_state()))

    for restore_first in (True, False):
        resumed = BasicVariantGenerator(max_trials_per_step=3)
        if restore_first:
            resumed.restore_state(state)
            resumed.add_configurations(experiments())
        else:
            resumed.add_configurations(experiments())
            resumed.restore_state(state)
        rest = []
        while not resumed.is_finished():
            rest += resumed.next_trials()
        assert len(rest) == 2
        all_trials = got + rest
        assert [t.experiment_tag for t in all_trials] == [t.experiment_tag for t in reference]
        assert [t.experiment_tag for t in all_trials][6:] == ["6_y=1", "7_y=2"]
        assert [t.trial_id for t in all_trials] == [f"{got[0].trial_id[:8]}_{i:05d}" for i in range(8)]
        assert [t.config for t in all_trials] == [t.config for t in reference]


def test_registered_as_core_default_under_two_names():
    manager = discover(strict=False)
    for name in ("variant_generator", "basic_variant"):
        assert name in manager.searchers
        assert manager.searchers.owner(name) == "tunecore"
        searcher = manager.searchers.create({"name": name, "seed": 1})
        assert isinstance(searcher, BasicVariantGenerator) and isinstance(searcher, SearchAlgorithm)


class TestBasicVariantGeneratorContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            searcher = BasicVariantGenerator(seed=0)
            searcher.add_configurations({"exp": {"run": "bv_quality", "num_samples": 4,
                                                 "config": {"quality": tune.uniform(0, 1)}}})
            return searcher
        return make


def test_run_experiments_end_to_end(ray_session, results_dir):
    trials = tune.run_experiments(
        {"bv_e2e": {"run": train_func, "local_dir": results_dir,
                    "config": {"lr": tune.grid_search([0.2, 0.4]), "momentum": tune.grid_search([1])},
                    "stop": {"training_iteration": 1}}},
        search_alg={"name": "variant_generator", "seed": 1}, verbose=False)
    assert [str(t) for t in trials] == ["train_func_0_lr=0.2,momentum=1", "train_func_1_lr=0.4,momentum=1"]
    assert [t.last_result["mean_accuracy"] for t in trials] == [0.2, 0.4]
