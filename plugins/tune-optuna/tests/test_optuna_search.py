"""OptunaSearch: space from tunecore domains, ask/tell outcomes, seeds, resume, registration."""

from __future__ import annotations

import json
import math

import pytest
from optuna.trial import TrialState

import tunecore as tune
from tune_optuna import OptunaSearch
from tunecore.plugins import discover
from tunecore.searchers import SuggestionAlgorithm
from tunecore.testing import SearcherContract


def _quadratic(config, reporter):
    for i in range(2):
        reporter(loss=(config["x"] - 0.3) ** 2 + i, done=i == 1)


tune.register_trainable("opt_quadratic", _quadratic)
tune.register_trainable("opt_noop", lambda config, reporter: reporter(loss=0))

SPACE = {"x": tune.uniform(0, 1), "lr": {"loguniform": [1e-4, 1e-1]}, "k": tune.quniform(0, 1, 0.25),
         "n": tune.randint(1, 4), "act": tune.choice(["relu", "tanh"]), "shape": {"choice": [[1, 2], [3]]},
         "opt": {"momentum": tune.grid_search([0.8, 0.9]), "name": "sgd"}}


def experiment(num_samples=4, config=None, **extra):
    return {"opt_e": {"run": "opt_noop", "num_samples": num_samples,
                      "config": config if config is not None else dict(SPACE), **extra}}


def drive(search, objective, rounds=1000):
    """Complete every trial with ``loss = objective(config)``; returns the trials in order."""
    trials = []
    for _ in range(rounds):
        new = search.next_trials()
        for trial in new:
            search.on_trial_complete(trial.trial_id, result={"loss": objective(trial.config)})
        trials += new
        if search.is_finished():
            return trials
    raise AssertionError("not finished")


def test_registered_by_the_plugin_and_built_from_a_spec_dict():
    manager = discover(strict=True)
    assert "optuna" in manager.searchers and manager.searchers.owner("optuna") == "tune-optuna"
    search = manager.searchers.create({"name": "optuna", "metric": "loss", "mode": "min", "sampler": "random",
                                       "seed": 1})
    assert isinstance(search, OptunaSearch) and isinstance(search, SuggestionAlgorithm)


def test_space_from_experiment_config_in_python_and_json_forms():
    search = OptunaSearch(metric="loss", mode="min", seed=0)
    search.add_configurations(experiment(6))
    trials = drive(search, lambda c: c["x"])
    assert len(trials) == 6
    for t in trials:
        c = t.config
        assert 0 <= c["x"] <= 1 and 1e-4 <= c["lr"] <= 1e-1 and c["k"] in (0, 0.25, 0.5, 0.75, 1.0)
        assert c["n"] in (1, 2, 3) and c["act"] in ("relu", "tanh") and c["shape"] in ([1, 2], [3])
        assert c["opt"]["momentum"] in (0.8, 0.9) and c["opt"]["name"] == "sgd"
    assert trials[0].experiment_tag.startswith("0_act=")
    assert "momentum=" in trials[0].experiment_tag and ",x=" in trials[0].experiment_tag
    assert set(search.study.trials[0].params) == {"x", "lr", "k", "n", "act", "shape", "opt.momentum"}


def test_explicit_space_and_unmodelled_values_are_left_to_variant_generation():
    config = {"x": 1, "noise": tune.randn(0, 1), "double": lambda spec: spec.config.x * 2}
    with pytest.warns(UserWarning, match="does not model noise"):
        search = OptunaSearch(space={"x": tune.uniform(5, 6), "noise": tune.randn()}, metric="loss", mode="min")
    search.add_configurations(experiment(3, config))
    for t in drive(search, lambda c: c["x"]):
        assert 5 <= t.config["x"] <= 6 and math.isclose(t.config["double"], 2 * t.config["x"])
        assert isinstance(t.config["noise"], float)


def test_outcomes_are_told_as_complete_pruned_and_fail():
    search = OptunaSearch(metric="loss", mode="min", seed=0, max_concurrent=4)
    search.add_configurations(experiment(4, {"x": tune.uniform(0, 1)}))
    a, b, c, d = search.next_trials()
    for step, value in ((1, 0.9), (2, 0.7), (2, 0.1)):  # a duplicate step is not reported twice
        search.on_trial_result(b.trial_id, {"loss": value, "training_iteration": step})
    search.on_trial_complete(a.trial_id, result={"loss": 0.25, "training_iteration": 3})
    search.on_trial_complete(b.trial_id, early_terminated=True)
    search.on_trial_complete(c.trial_id, error=True)
    search.on_trial_result(d.trial_id, {"loss": 0.5, "training_iteration": 1})
    search.on_trial_complete(d.trial_id)  # user stop without a result: the last reported value
    states = [(t.state, t.value) for t in search.study.trials]
    # Optuna keeps a pruned trial's last intermediate value as its value
    assert states == [(TrialState.COMPLETE, 0.25), (TrialState.PRUNED, 0.7), (TrialState.FAIL, None),
                      (TrialState.COMPLETE, 0.5)]
    assert search.study.trials[1].intermediate_values == {1: 0.9, 2: 0.7}


def test_missing_metric_value_is_a_fail_with_a_warning():
    search = OptunaSearch(metric="loss", mode="max")
    search.add_configurations(experiment(1, {"x": tune.uniform(0, 1)}))
    (trial,) = search.next_trials()
    with pytest.warns(UserWarning, match=r"without a number \(not NaN\) for 'loss'"):
        search.on_trial_complete(trial.trial_id, result={"other": 1})
    assert search.study.trials[0].state == TrialState.FAIL


def test_max_concurrent_limits_live_suggestions():
    search = OptunaSearch(metric="loss", mode="min", max_concurrent=2)
    search.add_configurations(experiment(5, {"x": tune.uniform(0, 1)}))
    first = search.next_trials()
    assert len(first) == 2 and search.next_trials() == []
    search.on_trial_complete(first[0].trial_id, result={"loss": 1.0})
    assert len(search.next_trials()) == 1


def test_seed_gives_identical_suggestions():
    def run(seed):
        search = OptunaSearch(metric="loss", mode="min", seed=seed, max_concurrent=1)
        search.add_configurations(experiment(15, {"x": tune.uniform(0, 1), "act": tune.choice(["a", "b"])}))
        return [t.config for t in drive(search, lambda c: (c["x"] - 0.3) ** 2)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_tpe_homes_in_on_the_minimum():
    search = OptunaSearch(metric="loss", mode="min", seed=0, max_concurrent=1)
    search.add_configurations(experiment(40, {"x": tune.uniform(-10, 10)}))
    trials = drive(search, lambda c: (c["x"] - 3.3) ** 2)
    best = min(trials, key=lambda t: abs(t.config["x"] - 3.3))
    assert abs(best.config["x"] - 3.3) < 0.1
    late = [abs(t.config["x"] - 3.3) for t in trials[20:]]
    early = [abs(t.config["x"] - 3.3) for t in trials[:10]]
    assert sorted(late)[len(late) // 2] < sorted(early)[len(early) // 2]  # random start, then modelled


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "best"}, "mode must be 'min' or 'max' \\(or None\\), but got mode='best'"),
    ({"sampler": "annealing"}, "sampler must be an optuna sampler or one of"),
    ({"seed": "x"}, "seed must be None or an int"),
    ({"max_concurrent": 0}, "max_concurrent must be None or an int >= 1"),
    ({"space": {"x": "not a domain"}}, "must be a tunecore sample domain"),
])
def test_constructor_validates(kwargs, message):
    with pytest.raises(tune.TuneError, match=message):
        OptunaSearch(**kwargs)


def test_metric_and_mode_are_required_or_taken_from_the_run():
    search = OptunaSearch()
    search.add_configurations(experiment(1, {"x": tune.uniform(0, 1)}))
    with pytest.raises(tune.TuneError, match="needs a metric and a mode"):
        search.next_trials()
    search.set_search_properties("loss", "min")
    assert len(search.next_trials()) == 1 and search.study.direction.name == "MINIMIZE"


def test_experiment_without_domains_is_an_error():
    search = OptunaSearch(metric="loss", mode="min")
    search.add_configurations(experiment(1, {"x": 1}))
    with pytest.raises(tune.TuneError, match="found no search space"):
        search.next_trials()


def test_resume_keeps_observations_and_live_trials():
    config = {"x": tune.uniform(0, 1)}
    search = OptunaSearch(metric="loss", mode="min", seed=0, max_concurrent=3)
    search.add_configurations(experiment(6, config))
    a, b, c = search.next_trials()
    search.on_trial_complete(a.trial_id, result={"loss": 0.5})
    search.on_trial_result(b.trial_id, {"loss": 0.7, "training_iteration": 1})
    search.on_trial_complete(c.trial_id, early_terminated=True)
    text = json.dumps(search.save_state(), sort_keys=True)

    resumed = OptunaSearch(metric="loss", mode="min", seed=0, max_concurrent=3)
    resumed.restore_state(json.loads(text))
    assert json.dumps(resumed.save_state(), sort_keys=True) == text
    resumed.add_configurations(experiment(6, config))
    more = resumed.next_trials()
    assert len(more) == 2  # b is still live
    assert [t.experiment_tag.split("_")[0] for t in more] == ["3", "4"]
    assert all(t.config["x"] not in (a.config["x"], b.config["x"], c.config["x"]) for t in more)
    resumed.on_trial_complete(b.trial_id, result={"loss": 0.1})
    states = [(t.state, t.params["x"]) for t in resumed.study.trials[:3]]
    assert states[0] == (TrialState.COMPLETE, a.config["x"]) and states[1] == (TrialState.PRUNED, c.config["x"])
    assert states[2] == (TrialState.COMPLETE, b.config["x"])
    assert resumed.study.trials[2].intermediate_values == {1: 0.7} and resumed.study.trials[2].value == 0.1


class TestOptunaSearchContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            searcher = OptunaSearch(metric="episode_reward_mean", mode="max", seed=0, max_concurrent=2)
            searcher.add_configurations({"opt_contract": {"run": "opt_noop", "num_samples": 4,
                                                          "config": {"quality": tune.uniform(0, 1)}}})
            return searcher
        return make


def test_through_run_experiments(ray_session, results_dir):
    trials = tune.run_experiments(
        {"opt_e2e": {"run": "opt_quadratic", "num_samples": 6, "local_dir": results_dir,
                     "config": {"x": {"uniform": [0, 1]}}}},
        search_alg={"name": "optuna", "seed": 0, "max_concurrent": 3}, metric="loss", mode="min", verbose=False)
    assert len(trials) == 6 and all(t.status == "TERMINATED" for t in trials)
    for t in trials:
        assert math.isclose(t.last_result["loss"], (t.config["x"] - 0.3) ** 2 + 1)
