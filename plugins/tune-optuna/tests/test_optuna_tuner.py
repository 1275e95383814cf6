"""OptunaSearch with Ray Tune 2.x's signature, driven through tunecore.Tuner on real Ray.

Searches with ``max_concurrent=1`` are sequential, so a seeded search is the same on every
run and the assertions on where it went are exact, not statistical.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
import warnings

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

import tunecore as tune
from tune_optuna import OptunaSearch
from tunecore.errors import TuneError
from tunecore.search import ConcurrencyLimiter, Searcher
from tunecore.search.searcher import SearchGenerator

tune.register_trainable("opt_tuner_noop", lambda config, reporter: reporter(loss=0))


def quadratic(config):
    tune.report({"loss": (config["x"] - 3) ** 2 + config.get("offset", 0), "score": -(config["x"] - 3) ** 2})


def _fit(tmp_path, search, space, n=10, name="opt", trainable=quadratic, **tc):
    tc.setdefault("metric", "loss")
    tc.setdefault("mode", "min")
    return tune.Tuner(trainable, param_space=space,
                      tune_config=tune.TuneConfig(search_alg=search, num_samples=n, **tc),
                      run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0)).fit()


def _order(grid):
    """The configs in the order they were suggested (trial ids count up, zero-padded)."""
    return [r.config for r in sorted(grid, key=lambda r: r.metrics["trial_id"])]


def _no_trial_ran(tmp_path, name="opt"):
    return not [p for p in (tmp_path / name).glob("*") if p.is_dir()]


# -- the search space -------------------------------------------------------------------
def test_param_space_domains_keep_their_bounds_types_and_steps(ray_session, tmp_path):
    space = {"x": tune.uniform(-10, 10), "n": tune.qrandint(2, 20, 3), "k": tune.lograndint(1, 1000),
             "w": tune.qloguniform(0.1, 10, 0.1), "m": tune.qlograndint(4, 400, 4), "q": tune.quniform(0, 1, 1 / 12),
             "opt": {"lr": tune.loguniform(1e-4, 1e-1), "act": tune.choice(["relu", "tanh"])}, "offset": 0}
    search = OptunaSearch(seed=0, points_to_evaluate=[{"x": 0.0}])  # space=None: the param_space's domains
    grid = _fit(tmp_path, search, space, n=12)
    assert len(grid) == 12 and grid.num_errors == 0
    for r in grid:
        c = r.config
        assert -10 <= c["x"] <= 10
        assert type(c["n"]) is int and c["n"] % 3 == 0 and 3 <= c["n"] <= 18
        assert type(c["k"]) is int and 1 <= c["k"] < 1000
        assert 0.1 <= c["w"] <= 10 and abs(c["w"] / 0.1 - round(c["w"] / 0.1)) < 1e-6
        assert type(c["m"]) is int and c["m"] % 4 == 0 and 4 <= c["m"] <= 400
        assert c["q"] in [round(k * (1 / 12), 17) for k in range(13)]  # k * q, as quniform rounds its own
        assert 1e-4 <= c["opt"]["lr"] <= 1e-1 and c["opt"]["act"] in ("relu", "tanh") and c["offset"] == 0
        for key in ("x", "n", "k", "w", "m", "q"):
            assert space[key].is_valid(c[key]), (key, c[key])  # the domain's own check
    assert _order(grid)[0]["x"] == 0.0  # points_to_evaluate first
    assert set(search.study.trials[-1].params) == {"x", "n", "k", "w", "m", "q", "opt.lr", "opt.act"}
    assert search.metric == "loss" and search.mode == "min"  # from TuneConfig
    assert len({r.config["x"] for r in grid}) == 12


def test_an_explicit_space_of_domains_finds_the_optimum(ray_session, tmp_path):
    # space= overrides the param_space's domain for x; "opt/lr" nests; constants stay in param_space
    space = {"x": tune.uniform(-10, 10), "opt/lr": tune.loguniform(1e-3, 1e-1), "depth": tune.randint(1, 4)}
    search = OptunaSearch(space, max_concurrent=1, sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=4))
    grid = _fit(tmp_path, search, {"x": tune.uniform(100, 200), "offset": 0}, n=14, name="tpe")
    for r in grid:
        assert -10 <= r.config["x"] <= 10 and 1e-3 <= r.config["opt"]["lr"] <= 1e-1
        assert type(r.config["depth"]) is int and r.config["depth"] in (1, 2, 3) and r.config["offset"] == 0
    distances = [abs(c["x"] - 3) for c in _order(grid)]
    assert min(distances) < 0.5 and grid.get_best_result().metrics["loss"] < 0.25
    assert min(distances[4:]) < min(distances[:4]) / 4  # the model improves on its 4 random starting points


def _time_box(config):
    start = time.time()
    time.sleep(0.3)
    tune.report({"loss": config["a"]["b"] + config["n"], "start": start, "end": time.time()})


def test_optuna_distributions_in_a_concurrency_limiter(ray_session, tmp_path):
    space = {"a": {"b": FloatDistribution(0, 1, step=0.125)}, "n": IntDistribution(2, 10, step=2),
             "kind": CategoricalDistribution(["p", "q"])}
    search = OptunaSearch(space, seed=0)
    limited = ConcurrencyLimiter(search, max_concurrent=2)  # as in Ray: OptunaSearch is a Searcher
    grid = _fit(tmp_path, limited, None, n=6, trainable=_time_box)
    assert len(grid) == 6 and grid.num_errors == 0 and search.max_concurrent == 2
    for r in grid:
        assert r.config["a"]["b"] in [i / 8 for i in range(9)] and r.config["kind"] in ("p", "q")
        assert type(r.config["n"]) is int and r.config["n"] in (2, 4, 6, 8, 10)
    spans = [(r.metrics["start"], r.metrics["end"]) for r in grid]
    assert max(sum(s < t < e for s, e in spans) for t, _ in spans) <= 1  # at most 2 at a time
    assert len(search.study.trials) == 6 and all(t.state == TrialState.COMPLETE for t in search.study.trials)


def _conditional(config):
    lr = config.get("lr", 0.5)
    tune.report({"loss": config["offset"] + (lr - 0.01) ** 2 + config["opt"]["depth"], "has_lr": "lr" in config})


def test_define_by_run_with_a_conditional_parameter_and_constants(ray_session, tmp_path):
    def space(trial):
        if trial.suggest_categorical("kind", ["a", "b"]) == "a":
            trial.suggest_float("lr", 1e-3, 1e-1, log=True)  # only when kind == "a"
        trial.suggest_int("opt/depth", 1, 3)
        return {"offset": 100, "opt": {"name": "sgd"}}

    search = OptunaSearch(space=space, seed=1, points_to_evaluate=[{"kind": "b", "opt": {"depth": 2}}])
    grid = _fit(tmp_path, search, {"offset": 0, "extra": "kept"}, n=10, trainable=_conditional)
    assert grid.num_errors == 0 and len(grid) == 10
    for r in grid:
        c = r.config
        if c["kind"] == "a":
            assert 1e-3 <= c["lr"] <= 1e-1 and r.metrics["has_lr"]
        else:
            assert "lr" not in c and not r.metrics["has_lr"]
        assert c["offset"] == 100 and c["extra"] == "kept"  # the returned constants win over param_space's
        assert c["opt"]["name"] == "sgd" and type(c["opt"]["depth"]) is int and c["opt"]["depth"] in (1, 2, 3)
        assert r.metrics["loss"] >= 100
    assert {r.config["kind"] for r in grid} == {"a", "b"}
    first = _order(grid)[0]
    assert first["kind"] == "b" and first["opt"]["depth"] == 2


# -- where the search starts and goes --------------------------------------------------
def test_points_to_evaluate_are_the_first_configs_in_order(ray_session, tmp_path):
    points = [{"x": 0.0, "opt": {"lr": 0.01}}, {"x": 5.0}, {"opt/lr": 0.001, "x": -1.0}, {"x": 7.5, "opt.lr": 0.1}]
    search = OptunaSearch(seed=0, max_concurrent=1, points_to_evaluate=points)
    grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10), "opt": {"lr": tune.loguniform(1e-3, 1e-1)}}, n=6)
    order = _order(grid)
    assert [c["x"] for c in order[:4]] == [0.0, 5.0, -1.0, 7.5]
    assert order[0]["opt"]["lr"] == 0.01 and order[2]["opt"]["lr"] == 0.001 and order[3]["opt"]["lr"] == 0.1
    assert 1e-3 <= order[1]["opt"]["lr"] <= 1e-1 and order[1]["opt"]["lr"] not in (0.01, 0.001, 0.1)  # filled in
    assert not {c["x"] for c in order[4:]} & {0.0, 5.0, -1.0, 7.5}


def test_seed_repeats_the_search(ray_session, tmp_path):
    space = {"x": tune.uniform(-10, 10), "k": tune.choice(["a", "b", "c"])}
    a = _order(_fit(tmp_path, OptunaSearch(seed=3, max_concurrent=1), space, n=6, name="a"))
    b = _order(_fit(tmp_path, OptunaSearch(seed=3, max_concurrent=1), space, n=6, name="b"))
    c = _order(_fit(tmp_path, OptunaSearch(seed=4, max_concurrent=1), space, n=6, name="c"))
    assert a == b and a != c
    assert len({cfg["x"] for cfg in a}) == 6


def test_mode_max_and_min_go_opposite_ways(ray_session, tmp_path):
    # score = -(x - 3)**2: maximising it goes to x = 3, minimising it to the edges of [-10, 10]
    def run(mode, name):
        search = OptunaSearch(max_concurrent=1, sampler=optuna.samplers.TPESampler(seed=5, n_startup_trials=3))
        grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=10, name=name, metric="score", mode=mode)
        return search, [abs(c["x"] - 3) for c in _order(grid)][3:], grid

    up, up_late, up_grid = run("max", "max")
    down, down_late, _ = run("min", "min")
    assert up.study.direction.name == "MAXIMIZE" and down.study.direction.name == "MINIMIZE"
    assert statistics.median(up_late) < statistics.median(down_late) / 2  # the max run stays nearer x=3
    assert min(up_late) < 0.5 and max(down_late) > 12  # and the min run finds the far edge, x=-10
    assert abs(up_grid.get_best_result().config["x"] - 3) < 1.0


def test_the_searchers_own_metric_and_mode_win_with_a_warning(ray_session, tmp_path):
    search = OptunaSearch(metric="score", mode="max", seed=0, max_concurrent=1)
    with pytest.warns(UserWarning, match="optimises its own metric='score'"):
        grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=4)
    assert search.study.direction.name == "MAXIMIZE"
    assert [t.value for t in search.study.trials] == [r.metrics["score"] for r in sorted(
        grid, key=lambda r: r.metrics["trial_id"])]


def test_multi_objective_search(ray_session, tmp_path):
    search = OptunaSearch(metric=["loss", "score"], mode=["min", "max"], seed=0)
    grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=5, metric=None, mode=None)
    assert [d.name for d in search.study.directions] == ["MINIMIZE", "MAXIMIZE"]
    told = sorted(t.values for t in search.study.trials)
    assert told == sorted([r.metrics["loss"], r.metrics["score"]] for r in grid)
    assert grid.get_best_result("loss", "min").metrics["loss"] == min(r.metrics["loss"] for r in grid)


# -- warm starts, storage, resume --------------------------------------------------------
def test_evaluated_rewards_and_evaluated_points_are_told_not_run(ray_session, tmp_path):
    search = OptunaSearch(points_to_evaluate=[{"x": 3.0}, {"x": -5.0}], evaluated_rewards=[0.0, 64.0], seed=0)
    search.add_evaluated_point({"x": 1.0}, 4.0)  # kept until the Tuner gives the space and the objective
    grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=4)
    assert len(grid) == 4 and all(r.config["x"] not in (3.0, -5.0, 1.0) for r in grid)
    told = [(t.params["x"], t.value, t.state) for t in search.study.trials[:3]]
    assert told == [(3.0, 0.0, TrialState.COMPLETE), (-5.0, 64.0, TrialState.COMPLETE), (1.0, 4.0, TrialState.COMPLETE)]
    assert len(search.study.trials) == 7


def test_study_name_and_storage_keep_the_trials_for_the_next_search(ray_session, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    search = OptunaSearch(study_name="quad", storage=optuna.storages.RDBStorage(url), seed=0)
    grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=3)
    stored = optuna.load_study(study_name="quad", storage=url)
    assert sorted(t.params["x"] for t in stored.trials) == sorted(r.config["x"] for r in grid)
    again = OptunaSearch(space={"x": tune.uniform(-10, 10)}, metric="loss", mode="min", study_name="quad",
                         storage=url, seed=1)
    again.suggest("next")  # the new search's study holds the stored trials: it learns from them
    assert len(again.study.trials) == 4 and again.study.trials[0].state == TrialState.COMPLETE


def _fails_once(config):
    if config["x"] > 0 and not os.path.exists(config["marker"]):
        open(config["marker"], "w").close()
        raise RuntimeError("the first run fails here")
    tune.report({"loss": (config["x"] - 3) ** 2})


def test_tuner_restore_continues_the_search(ray_session, tmp_path):
    space = {"x": tune.uniform(-10, 10), "marker": str(tmp_path / "marker")}
    first = tune.Tuner(_fails_once, param_space=space, tune_config=tune.TuneConfig(
        metric="loss", mode="min", num_samples=8, search_alg=OptunaSearch(seed=1, max_concurrent=1)),
        run_config=tune.RunConfig(name="r", storage_path=str(tmp_path), verbose=0,
                                  failure_config=tune.FailureConfig(fail_fast=True))).fit()
    assert first.num_errors == 1 and len(first) < 8
    before = [r.config["x"] for r in sorted(first, key=lambda r: r.path.rsplit("_", 1)[-1])]  # by trial counter
    tuner = tune.Tuner.restore(str(tmp_path / "r"), _fails_once, restart_errored=True)
    grid = tuner.fit()
    assert len(grid) == 8 and grid.num_errors == 0
    study = tuner.tune_config.search_alg.study
    xs = [t.params["x"] for t in study.trials]
    assert len(xs) == 8 and len(set(xs)) == 8 and xs[:len(before)] == before  # replayed, then new draws
    assert [t.state for t in study.trials[:len(before)]][-1] == TrialState.FAIL  # the error, as told then


# -- bad input: refused before any trial runs ------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "up"}, "mode must be 'min' or 'max'"),
    ({"metric": 3}, "metric must be a result key"),
    ({"metric": ["a", "b"], "mode": "min"}, "mode must be a list of as many"),
    ({"space": lambda: {}}, "must take one argument"),
    ({"space": lambda a, b: {}}, "must take one argument"),
    ({"space": [1, 2]}, "space must be a dict"),
    ({"space": {"x": 5}}, "must be a tunecore sample domain.*constants belong in the Tuner's param_space"),
    ({"space": {"x": tune.randn()}}, "has nothing Optuna can search"),
    ({"points_to_evaluate": {"x": 1}}, "points_to_evaluate must be a list"),
    ({"points_to_evaluate": [{"x": 1}], "evaluated_rewards": [1, 2]}, "one reward for each"),
    ({"evaluated_rewards": [1.0]}, "needs points_to_evaluate"),
    ({"space": {"x": tune.uniform(0, 1)}, "points_to_evaluate": [{"x": 2.0}]}, r"points_to_evaluate\[0\]\['x'\]: 2.0 "
                                                                                "is not a value"),
    ({"space": {"x": tune.uniform(0, 1)}, "points_to_evaluate": [{"y": 0.5}]}, "sets 'y', which OptunaSearch does "
                                                                                "not search"),
    ({"space": {"n": tune.qrandint(0, 10, 5)}, "points_to_evaluate": [{"n": 3}]}, "3 is not a value"),
    ({"space": {"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)}, "points_to_evaluate": [{"x": 0.5}],
      "evaluated_rewards": [1.0]}, "misses y"),
    ({"space": {"x": tune.uniform(0, 1)}, "points_to_evaluate": [{"x": 0.5}], "evaluated_rewards": ["bad"]},
     "reward must be a number"),
    ({"space": lambda t: None, "points_to_evaluate": [{"x": 1}], "evaluated_rewards": [1.0]},
     "evaluated_rewards needs a dict space"),
    ({"study_name": 3}, "study_name must be None or a string"),
    ({"storage": object()}, "storage must be an optuna storage"),
    ({"sampler": "annealing"}, "sampler must be an optuna sampler or one of"),
])
def test_bad_arguments_are_refused_when_built(kwargs, match):
    with pytest.raises(TuneError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # randn: "does not model x", then the error
        OptunaSearch(**kwargs)


def _bad_define_by_run(trial):
    trial.suggest_float("x", 1, 0)  # low > high: optuna refuses it


@pytest.mark.parametrize("search, space, tc, match", [
    (lambda: OptunaSearch(space=lambda t: t.suggest_float("x", 0, 1)), {"x": tune.uniform(0, 1)}, {},
     "given a define-by-run function, and the param_space also has values to search \\(x\\)"),
    (lambda: OptunaSearch(space=lambda t: t.suggest_float("x", 0, 1)), {"g": tune.grid_search([1, 2])}, {},
     "define-by-run"),
    (lambda: OptunaSearch(space=_bad_define_by_run), {}, {}, "define-by-run function _bad_define_by_run of "
                                                             "OptunaSearch raised ValueError"),
    (lambda: OptunaSearch(space=lambda t: [t.suggest_float("x", 0, 1)]), {}, {}, "must return None or a dict"),
    (lambda: OptunaSearch(points_to_evaluate=[{"y": 1.0}]), {"x": tune.uniform(0, 1)}, {}, "sets 'y'"),
    (lambda: OptunaSearch(points_to_evaluate=[{"x": 0.5}], evaluated_rewards=[1.0]),
     {"x": tune.uniform(0, 1), "z": tune.randint(0, 3)}, {}, "misses z"),
    (lambda: OptunaSearch(), {"x": 1}, {}, "found no search space"),
    (lambda: OptunaSearch(), {"x": tune.uniform(0, 1)}, {"metric": None, "mode": None}, "needs a metric and a mode"),
    (lambda: OptunaSearch(metric=["loss", "score"]), {"x": tune.uniform(0, 1)}, {"metric": None, "mode": "min"},
     "mode must be a list of as many"),
])
def test_bad_searches_are_refused_before_any_trial(ray_session, tmp_path, search, space, tc, match):
    with pytest.raises(TuneError, match=match):
        _fit(tmp_path, search(), space, n=2, **tc)
    assert _no_trial_ran(tmp_path)


# -- Ray's Searcher interface, without Ray -------------------------------------------------
def test_the_searcher_interface_as_ray_drives_it():
    search = OptunaSearch(metric="loss", mode="max", seed=0)
    assert isinstance(search, Searcher)
    assert search.set_search_properties(None, None, {"x": tune.uniform(0, 1), "c": 1, "d": {"e": tune.randint(0, 3)}})
    config = search.suggest("t1")
    assert set(config) == {"x", "d"} and 0 <= config["x"] <= 1 and config["d"]["e"] in (0, 1, 2)
    assert search.suggest("t1") == config  # asked again for the same trial: the same config
    search.on_trial_result("t1", {"loss": 0.5, "training_iteration": 1})
    search.on_trial_complete("t1", result={"loss": 0.75})
    (told,) = search.study.trials
    assert told.value == 0.75 and told.intermediate_values == {1: 0.5}
    assert search.set_max_concurrency(1)
    search.suggest("t2")
    assert search.suggest("t3") is None  # one live at most


def test_add_evaluated_point_validates_and_tells_every_state():
    search = OptunaSearch(space={"a": {"b": tune.uniform(0, 1)}, "n": tune.qrandint(0, 10, 5)}, metric="loss",
                          mode="min")
    search.add_evaluated_point({"a/b": 0.5, "n": 5}, 3.0)
    search.add_evaluated_point({"a": {"b": 0.25}, "n": 10}, None, pruned=True, intermediate_values=[2.0, 1.0])
    search.add_evaluated_point({"a.b": 0.75, "n": 0}, 1.0, error=True)
    for bad, match in [({"a/b": 2.0, "n": 5}, "not a value"), ({"a/b": 0.5}, "misses n"),
                       ({"a/b": 0.5, "n": 5, "z": 1}, "sets 'z'")]:
        with pytest.raises(TuneError, match=match):
            search.add_evaluated_point(bad, 1.0)
    with pytest.raises(TuneError, match="reward must be a number"):
        search.add_evaluated_point({"a/b": 0.5, "n": 5}, math.nan)
    search.suggest("t")
    told = [(t.state, t.params, t.value, t.intermediate_values) for t in search.study.trials[:3]]
    assert told == [(TrialState.COMPLETE, {"a.b": 0.5, "n": 1}, 3.0, {}),  # qrandint: the index of 5 in 0, 5, 10
                    (TrialState.PRUNED, {"a.b": 0.25, "n": 2}, None, {0: 2.0, 1: 1.0}),
                    (TrialState.FAIL, {"a.b": 0.75, "n": 0}, None, {})]
    with pytest.raises(TuneError, match="needs a dict space"):
        OptunaSearch(space=lambda t: None).add_evaluated_point({"x": 1}, 1.0)


def test_a_sampler_with_a_seed_warns_and_ignores_the_seed():
    sampler = optuna.samplers.RandomSampler(seed=0)
    with pytest.warns(UserWarning, match="the seed is ignored"):
        search = OptunaSearch(space={"x": tune.uniform(0, 1)}, metric="loss", mode="min", sampler=sampler, seed=3)
    search.suggest("t")
    assert search.study.sampler is sampler


def test_waiting_points_and_live_trials_survive_a_save_through_the_searcher_interface():
    def make():
        return SearchGenerator(ConcurrencyLimiter(OptunaSearch(metric="loss", mode="min", seed=0, points_to_evaluate=[
            {"x": 0.1}, {"x": 0.2}, {"x": 0.3}]), max_concurrent=1))

    def experiment():
        return {"e": {"run": "opt_tuner_noop", "num_samples": 5, "config": {"x": tune.uniform(0, 1)}}}

    first = make()
    first.add_configurations(experiment())
    (t0,) = first.next_trials()
    state = json.loads(json.dumps(first.save_state()))
    resumed = make()
    resumed.restore_state(state)
    resumed.add_configurations(experiment())
    resumed.on_trial_complete(t0.trial_id, result={"loss": 1.0})  # before the next suggestion
    xs = [t0.config["x"]]
    for _ in range(10):
        for trial in resumed.next_trials():
            xs.append(trial.config["x"])
            resumed.on_trial_complete(trial.trial_id, result={"loss": 1.0})
    assert xs[:3] == [0.1, 0.2, 0.3] and len(xs) == 5 and len(set(xs)) == 5
    study = resumed.searcher.searcher.study
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5


def test_unsearched_param_space_domains_next_to_an_explicit_space_warn():
    search = OptunaSearch(space={"x": tune.uniform(0, 1)}, metric="loss", mode="min", seed=0)
    search.add_configurations({"e": {"run": "opt_tuner_noop", "num_samples": 2,
                                     "config": {"x": tune.uniform(5, 6), "y": tune.uniform(0, 1)}}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trials = search.next_trials()
    assert [str(w.message) for w in caught if "param_space searches y" in str(w.message)]
    assert all(0 <= t.config["x"] <= 1 and 0 <= t.config["y"] <= 1 for t in trials)
