"""OptunaSearch with Ray Tune 2.x's signature, driven through tunecore.Tuner on real Ray."""

from __future__ import annotations

import pytest

import tunecore as tune
from tune_optuna import OptunaSearch
from tunecore.errors import TuneError


def quadratic(config):
    tune.report({"loss": (config["x"] - 3) ** 2 + config.get("offset", 0), "score": -(config["x"] - 3) ** 2})


def _fit(tmp_path, search, space, n=10, name="opt", **tc):
    tc.setdefault("metric", "loss")
    tc.setdefault("mode", "min")
    return tune.Tuner(quadratic, param_space=space,
                      tune_config=tune.TuneConfig(search_alg=search, num_samples=n, **tc),
                      run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0)).fit()


def _order(grid):
    return [r.config for r in sorted(grid, key=lambda r: r.metrics["trial_id"])]


def test_the_tuner_space_and_metric_reach_the_searcher(ray_session, tmp_path):
    space = {"x": tune.uniform(-10, 10), "n": tune.qrandint(2, 20, 3), "k": tune.lograndint(1, 1000),
             "w": tune.qloguniform(0.1, 10, 0.1), "m": tune.qlograndint(4, 400, 4)}
    grid = _fit(tmp_path, OptunaSearch(seed=0, points_to_evaluate=[{"x": 0.0}]), space, n=12)
    assert len(grid) == 12 and grid.num_errors == 0
    for r in grid:
        c = r.config
        assert -10 <= c["x"] <= 10
        assert isinstance(c["n"], int) and c["n"] % 3 == 0 and 3 <= c["n"] <= 18
        assert isinstance(c["k"], int) and 1 <= c["k"] < 1000
        assert 0.1 <= c["w"] <= 10 and abs(c["w"] / 0.1 - round(c["w"] / 0.1)) < 1e-6
        assert isinstance(c["m"], int) and c["m"] % 4 == 0 and 4 <= c["m"] <= 400
    assert _order(grid)[0]["x"] == 0.0  # points_to_evaluate first
    assert grid.get_best_result().metrics["loss"] < 9.0  # better than the given point


def test_seed_repeats_the_search_and_mode_max_is_followed(ray_session, tmp_path):
    space = {"x": tune.uniform(-10, 10)}
    a = _order(_fit(tmp_path, OptunaSearch(seed=3, max_concurrent=1), space, n=6, name="a"))
    b = _order(_fit(tmp_path, OptunaSearch(seed=3, max_concurrent=1), space, n=6, name="b"))
    c = _order(_fit(tmp_path, OptunaSearch(seed=4, max_concurrent=1), space, n=6, name="c"))
    assert a == b and a != c
    best = _fit(tmp_path, OptunaSearch(seed=3, metric="score", mode="max"), space, n=8, name="max",
                metric="score", mode="max").get_best_result()
    assert best.metrics["score"] == max(r.metrics["score"] for r in _fit(
        tmp_path, OptunaSearch(seed=3, metric="score", mode="max"), space, n=8, name="max2",
        metric="score", mode="max"))


def test_define_by_run_with_a_conditional_parameter_and_constants(ray_session, tmp_path):
    def space(trial):
        kind = trial.suggest_categorical("kind", ["near", "far"])
        if kind == "near":
            trial.suggest_float("x", 2, 4)
        else:
            trial.suggest_float("x", 50, 60)
        trial.suggest_int("opt/depth", 1, 3)
        return {"offset": 100, "opt": {"name": "sgd"}}

    grid = _fit(tmp_path, OptunaSearch(space=space, seed=1), {"offset": 0}, n=10)
    assert grid.num_errors == 0
    for r in grid:
        c = r.config
        assert (2 <= c["x"] <= 4) if c["kind"] == "near" else (50 <= c["x"] <= 60)
        assert c["offset"] == 100 and c["opt"]["name"] == "sgd" and c["opt"]["depth"] in (1, 2, 3)
        assert r.metrics["loss"] >= 100
    assert {r.config["kind"] for r in grid} == {"near", "far"}


def test_evaluated_rewards_are_told_not_run(ray_session, tmp_path):
    search = OptunaSearch(points_to_evaluate=[{"x": 3.0}, {"x": -5.0}], evaluated_rewards=[0.0, 64.0], seed=0)
    grid = _fit(tmp_path, search, {"x": tune.uniform(-10, 10)}, n=4)
    assert len(grid) == 4 and all(r.config["x"] not in (3.0, -5.0) for r in grid)
    assert len(search.study.trials) == 6


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "up"}, "mode must be"),
    ({"space": lambda: {}}, "must take one argument"),
    ({"space": [1, 2]}, "space must be a dict"),
    ({"points_to_evaluate": {"x": 1}}, "points_to_evaluate must be a list"),
    ({"points_to_evaluate": [{"x": 1}], "evaluated_rewards": [1, 2]}, "one reward for each"),
    ({"evaluated_rewards": [1.0]}, "needs points_to_evaluate"),
])
def test_bad_arguments_are_refused_when_built(kwargs, match):
    with pytest.raises(TuneError, match=match):
        OptunaSearch(**kwargs)


def test_define_by_run_with_searched_param_space_is_refused_before_any_trial(ray_session, tmp_path):
    search = OptunaSearch(space=lambda t: t.suggest_float("x", 0, 1), metric="loss", mode="min")
    with pytest.raises(TuneError, match="define-by-run"):
        _fit(tmp_path, search, {"x": tune.uniform(0, 1)}, n=2)
    assert not list(tmp_path.glob("opt/quadratic_*"))
