"""SuggestionAlgorithm: concurrency limit, overriding (not replacing) config, tags, resume."""

from __future__ import annotations

import json
import re

import pytest

import tunecore as tune
from tunecore.searchers import SuggestionAlgorithm, Uniform, flatten_config, unflatten_config
from tunecore.testing import SearcherContract

tune.register_trainable("sg_quality", lambda config, reporter: reporter(episode_reward_mean=config.get("quality", 1)))


class CountingSearch(SuggestionAlgorithm):
    """Suggests ``{"width": 3.2, "quality": <n>}`` and records what it is told."""

    def __init__(self, max_concurrent=None, stall=0, suggestion=None):
        super().__init__(max_concurrent=max_concurrent)
        self.asked: list[str] = []
        self.results: list[tuple] = []
        self.completed: list[tuple] = []
        self.spaces: list[dict] = []
        self.stall = stall
        self.suggestion = suggestion

    def _setup_space(self, space, experiment):
        self.spaces.append(space)

    def _suggest(self, trial_id):
        self.asked.append(trial_id)
        if self.stall:
            self.stall -= 1
            return None
        if self.suggestion is not None:
            return self.suggestion
        return {"width": 3.2, "quality": len(self.asked)}

    def _on_result(self, trial_id, result):
        self.results.append((trial_id, result["episode_reward_mean"]))

    def _on_complete(self, trial_id, result, error, early_terminated):
        self.completed.append((trial_id, error, early_terminated))

    def _save_searcher_state(self):
        return {"asked": len(self.asked)}

    def _restore_searcher_state(self, state):
        self.asked = ["?"] * state["asked"]


def experiment(num_samples=6, config=None):
    return {"sg": {"run": "sg_quality", "num_samples": num_samples, "config": config or {}}}


def test_max_concurrent_6_samples_limit_4():
    search = CountingSearch(max_concurrent=4)
    search.add_configurations(experiment(6))
    first = search.next_trials()
    assert len(first) == 4
    assert search.next_trials() == []
    assert not search.is_finished()
    search.on_trial_complete(first[0].trial_id, result={"episode_reward_mean": 1})
    assert len(search.next_trials()) == 1
    search.on_trial_complete(first[1].trial_id, error=True)
    search.on_trial_complete(first[2].trial_id, early_terminated=True)
    last = search.next_trials()
    assert len(last) == 1 and search.is_finished()
    assert search.completed == [(first[0].trial_id, False, False), (first[1].trial_id, True, False),
                                (first[2].trial_id, False, True)]


def test_max_concurrent_is_validated():
    with pytest.raises(tune.TuneError, match="max_concurrent must be None or an int >= 1, but got max_concurrent=0"):
        CountingSearch(max_concurrent=0)


def test_not_now_asks_again_with_the_same_trial_id():
    search = CountingSearch(stall=2)
    search.add_configurations(experiment(1))
    assert search.next_trials() == [] and search.next_trials() == []
    (trial,) = search.next_trials()
    assert search.asked == [trial.trial_id] * 3
    assert search.is_finished()


def test_tags_use_full_key_names_and_a_counter():
    search = CountingSearch()
    search.add_configurations(experiment(2))
    trials = search.next_trials()
    assert [t.experiment_tag for t in trials] == ["0_quality=1,width=3.2", "1_quality=2,width=3.2"]
    assert str(trials[0]) == "sg_quality_0_quality=1,width=3.2"


def test_suggestion_overrides_generated_values_instead_of_replacing_config():
    config = {"width": tune.uniform(0, 1), "depth": 7, "opt": {"lr": tune.loguniform(1e-4, 1e-1), "name": "sgd"},
              "double": lambda spec: spec.config.width * 2, "noise": {"uniform": [10, 11]}}
    search = CountingSearch(suggestion={"width": 3.0, "opt": {"lr": 0.5}})
    search.add_configurations(experiment(1, config))
    (trial,) = search.next_trials()
    c = trial.config
    assert c["width"] == 3.0 and c["depth"] == 7 and c["double"] == 6.0
    assert c["opt"] == {"lr": 0.5, "name": "sgd"}
    assert 10 <= c["noise"] < 11  # not searched: sampled by variant generation
    assert re.fullmatch(r"0_double=6,noise=10\.\d+,lr=0\.5,width=3", trial.experiment_tag)


def test_space_lists_searchable_domains_only():
    config = {"a": tune.uniform(0, 1), "b": {"loguniform": [1e-3, 1]}, "c": tune.grid_search([1, 2]),
              "d": lambda spec: 1, "e": tune.sample_from(lambda spec: 2), "f": {"eval": "3"}, "g": 5,
              "n": {"m": tune.choice(["x", "y"])}}
    search = CountingSearch(suggestion={"c": 1})
    search.add_configurations(experiment(1, config))
    search.next_trials()
    (space,) = search.spaces
    assert set(space) == {("a",), ("b",), ("c",), ("n", "m")}
    assert space[("a",)] == Uniform(0, 1) and space[("b",)] == tune.loguniform(1e-3, 1)
    assert space[("c",)] == {"grid_search": [1, 2]}


def test_grid_left_unsearched_is_an_error():
    search = CountingSearch()
    search.add_configurations(experiment(1, {"c": tune.grid_search([1, 2])}))
    with pytest.raises(tune.TuneError, match="grid_search the searcher CountingSearch did not search"):
        search.next_trials()


def test_unknown_trial_ids_are_ignored():
    search = CountingSearch()
    search.add_configurations(experiment(1))
    search.on_trial_result("someone-else", {"episode_reward_mean": 1})
    search.on_trial_complete("someone-else", error=True)
    assert search.results == [] and search.completed == []


def test_bad_suggestion_type_is_a_tune_error():
    search = CountingSearch(suggestion=[1, 2])
    search.add_configurations(experiment(1))
    with pytest.raises(tune.TuneError, match="must return a dict or None"):
        search.next_trials()


def test_resume_skips_produced_slots_and_keeps_live_trials():
    search = CountingSearch(max_concurrent=2)
    search.add_configurations(experiment(5))
    first = search.next_trials()
    search.on_trial_complete(first[0].trial_id, result={"episode_reward_mean": 1})
    state = json.loads(json.dumps(search.save_state()))

    resumed = CountingSearch(max_concurrent=2)
    resumed.restore_state(state)
    resumed.add_configurations(experiment(5))
    assert resumed.asked == ["?"] * 2
    more = resumed.next_trials()
    assert len(more) == 1  # one restored trial is still live
    resumed.on_trial_complete(first[1].trial_id, result={"episode_reward_mean": 1})
    rest = resumed.next_trials()
    resumed.on_trial_complete(more[0].trial_id, result={"episode_reward_mean": 1})
    rest += resumed.next_trials()
    assert resumed.is_finished()
    everything = first + more + rest
    assert [t.experiment_tag.split("_")[0] for t in everything] == ["0", "1", "2", "3", "4"]
    token = first[0].trial_id[:8]
    assert [t.trial_id for t in everything] == [f"{token}_{i:05d}" for i in range(5)]


def test_flatten_and_unflatten():
    nested = {"a": {"b": 1, "c": {"d": 2}}, "e": {"uniform": [0, 1]}, "f": {}}
    flat = flatten_config(nested)
    assert flat == {("a", "b"): 1, ("a", "c", "d"): 2, ("e",): {"uniform": [0, 1]}, ("f",): {}}
    assert unflatten_config(flat) == nested


class TestSuggestionContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            searcher = CountingSearch(max_concurrent=2)
            searcher.add_configurations(experiment(4, {"quality": tune.uniform(0, 1)}))
            return searcher
        return make


def test_suggestion_algorithm_through_run_experiments(ray_session, results_dir):
    search = CountingSearch(max_concurrent=2)
    trials = tune.run_experiments(
        {"sg_e2e": {"run": "sg_quality", "num_samples": 3, "local_dir": results_dir,
                    "stop": {"training_iteration": 2}, "config": {"other": 1}}},
        search_alg=search, verbose=False)
    assert len(trials) == 3 and all(t.status == "TERMINATED" for t in trials)
    assert [t.config for t in trials] == [{"other": 1, "width": 3.2, "quality": q} for q in (1, 2, 3)]
    assert sorted(tid for tid, _, _ in search.completed) == sorted(t.trial_id for t in trials)
    assert {tid for tid, _ in search.results} == {t.trial_id for t in trials}
