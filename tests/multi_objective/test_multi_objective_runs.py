"""Several objectives and constraints end to end on real Ray: the front, its hypervolume, the best
feasible trial, parameter importances, `tune ls`, and Optuna told the constraints."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import tunecore as tune
from tunecore import pareto as P
from tunecore.errors import TuneError
from tunecore.result_grid import NoResultError, ResultGridError

XS = [0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0]


def two_objectives(config):
    x, y = config["x"], config["y"]
    if x == 0.6:  # diverged: never on a front, never the best
        tune.report({"eval": {"err": float("nan")}, "ms": np.float32(0.3), "mem_over": -1.0})
        return
    # err falls with x, ms rises with x (each x a different trade-off); y plays no part
    tune.report({"eval": {"err": np.float64((1 - x) ** 2 + 0.01 * y)}, "ms": np.float32(x + 0.2),
                 "mem_over": np.float64(x - 0.8)})  # feasible while x <= 0.8


def _brute(points):
    return [i for i, p in enumerate(points)
            if not any(all(q[k] <= p[k] for k in range(2)) and any(q[k] < p[k] for k in range(2))
                       for j, q in enumerate(points) if j != i)]


@pytest.fixture(scope="module")
def experiment(ray_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("mo")
    tuner = tune.Tuner(
        two_objectives, param_space={"x": tune.grid_search(XS), "y": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(metric=["eval/err", "ms"], mode=["min", "min"], constraints=["mem_over"]),
        run_config=tune.RunConfig(name="two_objectives", storage_path=str(root), verbose=0))
    return tuner.fit(), str(root / "two_objectives")


def _expected_front(grid):
    kept = [r for r in grid if r.config["x"] != 0.6 and r.config["x"] <= 0.8]
    points = [[r.metrics["eval"]["err"], r.metrics["ms"]] for r in kept]
    return sorted(kept[i].config["x"] for i in _brute(points)), points, kept


def test_the_front_is_the_feasible_non_dominated_trials(experiment):
    grid, path = experiment
    expected, points, kept = _expected_front(grid)
    assert expected == [0.0, 0.1, 0.25, 0.4, 0.5, 0.75]  # every feasible trade-off, not the NaN or x > 0.8
    assert sorted(r.config["x"] for r in grid.get_pareto_front()) == expected
    for again in (tune.ResultGrid.from_path(path), tune.Analysis(path)):  # the objective was saved with the run
        front = again.get_pareto_front()
        assert sorted(r.config["x"] for r in front) == expected
    # one objective maximised instead: the front changes accordingly
    flipped = grid.get_pareto_front(metric=["eval/err", "ms"], mode=["max", "min"])
    assert sorted(r.config["x"] for r in flipped) == sorted(
        kept[i].config["x"] for i in _brute([[-e, m] for e, m in points]))


def test_hypervolume_against_a_reference_point(experiment):
    grid, path = experiment
    _, points, _ = _expected_front(grid)
    expected = P.hypervolume(points, [1.5, 1.5])
    assert grid.get_hypervolume([1.5, 1.5]) == pytest.approx(expected) and expected > 0
    assert tune.Analysis(path).get_hypervolume([1.5, 1.5]) == pytest.approx(expected)
    assert grid.get_hypervolume([0.0, 0.0]) == 0.0
    with pytest.raises(ResultGridError, match="reference_point must be 2 finite numbers"):
        grid.get_hypervolume([1.0])
    with pytest.raises(ResultGridError, match="same length"):
        grid.get_pareto_front(metric=["eval/err", "ms"], mode=["min"])


def test_the_best_trial_is_never_infeasible(experiment):
    grid, path = experiment
    with pytest.raises(ResultGridError, match="get_pareto_front"):
        grid.get_best_result()  # several objectives: no single best
    best = grid.get_best_result(metric="ms", mode="max")  # the largest ms among feasible trials
    assert best.config["x"] == 0.75
    assert tune.Analysis(path).get_best_trial("ms", "max").config["x"] == 0.75
    with pytest.raises(NoResultError, match="break the constraints"):
        tune.ResultGrid([r for r in grid if r.config["x"] > 0.8], constraints=["mem_over"]).get_best_result(
            "ms", "max")


def test_param_importances_find_the_parameter_that_matters(experiment):
    grid, path = experiment
    for method in ("mdi", "permutation"):
        shares = grid.get_param_importances("ms", method=method)
        assert list(shares) == ["x", "y"] and shares["x"] > 2 * shares["y"]
        assert sum(shares.values()) == pytest.approx(1.0)
    assert list(tune.Analysis(path).get_param_importances("ms")) == ["x", "y"]
    with pytest.raises(TuneError, match="at least 2 trials"):
        grid.get_param_importances("nope")
    with pytest.raises(TuneError, match="not in any trial's config"):
        grid.get_param_importances("ms", params=["z"])
    with pytest.raises(TuneError, match="method must be one of"):
        grid.get_param_importances("ms", method="magic")


def test_param_importances_on_many_trials_rank_numbers_and_categories():
    from tunecore.importance import param_importances

    rng = np.random.default_rng(0)
    configs, values = [], []
    for _ in range(200):
        config = {"lr": float(10 ** rng.uniform(-4, -1)), "opt": str(rng.choice(["sgd", "adam", "rms"])),
                  "model": {"noise": float(rng.uniform()), "const": 3}}
        configs.append(config)
        values.append(5 * np.log10(config["lr"]) + {"sgd": 0.0, "adam": 2.0, "rms": 1.0}[config["opt"]])
    values[0] = float("nan")  # left out, not an error
    shares = param_importances(configs, values)
    assert list(shares) == ["lr", "opt", "model/noise"]  # the constant is left out
    assert shares["lr"] > 0.6 and shares["opt"] > 5 * shares["model/noise"]
    assert param_importances(configs, values) == shares  # seeded: the same every time


def test_tune_ls_marks_the_front(experiment, capsys):
    from tunecore.cli import main

    grid, path = experiment
    expected, _, _ = _expected_front(grid)
    assert main(["ls", path]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "PARETO" in lines[0] and "eval/err" in lines[0] and "ms" in lines[0]
    marked = [line for line in lines[1:] if line.split("  ")[0].strip() and " * " in f" {line} "]
    assert len(marked) == len(expected)
    assert f"Pareto front (eval/err min, ms min): {len(expected)} of {len(XS)} trials (feasible: mem_over <= 0)" in out
    assert main(["ls", path, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["config"]["x"] for r in rows if r["pareto"]) == expected
    assert main(["ls", path, "--metric", "ms,eval/err", "--mode", "max,max"]) == 0
    assert "Pareto front (ms max, eval/err max)" in capsys.readouterr().out
    assert main(["ls", path, "--metric", "ms,eval/err"]) == 2
    assert "give as many modes" in capsys.readouterr().err


def test_the_closing_summary_names_the_front(ray_session, tmp_path, capsys):
    tune.run_experiments({"summary": {"run": two_objectives, "local_dir": str(tmp_path),
                                      "config": {"x": tune.grid_search([0.0, 0.5, 0.9]), "y": 0.5}}},
                         metric=["eval/err", "ms"], mode=["min", "min"], constraints=["mem_over"], verbose=0)
    out = capsys.readouterr().out
    assert "Pareto front (eval/err min, ms min): 2 of 3 trials" in out
    state = json.load(open(os.path.join(tmp_path, "summary", "experiment_state.json")))
    assert state["objective"] == {"metric": ["eval/err", "ms"], "mode": ["min", "min"], "constraints": ["mem_over"]}


# -- Optuna gets the constraints ----------------------------------------------------------
def constrained(config):
    x, y = config["x"], config["y"]
    tune.report({"f1": x, "f2": (1 - x) ** 2 + y, "c": np.float64(0.3 - x)})  # feasible when x >= 0.3


def test_optuna_is_told_the_constraints_and_infeasible_trials_stay_off_the_front(ray_session, tmp_path):
    optuna = pytest.importorskip("optuna")
    from tune_optuna import OptunaSearch
    from tune_optuna.search import native_constraints

    searcher = OptunaSearch(seed=3)
    grid = tune.Tuner(constrained, param_space={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)},
                      tune_config=tune.TuneConfig(metric=["f1", "f2"], mode=["min", "min"], constraints=["c"],
                                                  search_alg=searcher, num_samples=16),
                      run_config=tune.RunConfig(name="optuna_c", storage_path=str(tmp_path), verbose=0)).fit()
    trials = searcher.study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 16
    for t in trials:  # what Optuna holds as the trial's constraints is what the trial reported
        if native_constraints():
            assert t.constraints == pytest.approx({"c": 0.3 - t.params["x"]})
        else:
            assert t.system_attrs["constraints"] == pytest.approx([0.3 - t.params["x"]])
    front = grid.get_pareto_front()
    assert front and all(r.metrics["c"] <= 0 for r in front)
    infeasible = [r for r in grid if r.metrics["c"] > 0]
    assert not {r.trial_id for r in infeasible} & {r.trial_id for r in front}


@pytest.mark.parametrize("make, match", [
    (lambda o: o.samplers.NSGAIISampler(seed=1), "has no constraints_func"),
    (lambda o: "random", "cannot take the run's constraints"),
])
def test_optuna_without_a_way_to_use_constraints_is_refused_before_any_trial(ray_session, tmp_path, make, match):
    """Before Optuna 5 a sampler saw constraints only through its constraints_func."""
    optuna = pytest.importorskip("optuna")
    from tune_optuna import OptunaSearch
    from tune_optuna.search import native_constraints

    if native_constraints():
        pytest.skip("Optuna 5+ keeps constraints on the trial: every sampler that models them reads them")

    with pytest.raises(TuneError, match=match):
        tune.Tuner(constrained, param_space={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)},
                   tune_config=tune.TuneConfig(metric=["f1", "f2"], mode=["min", "min"], constraints=["c"],
                                               search_alg=OptunaSearch(sampler=make(optuna)), num_samples=2),
                   run_config=tune.RunConfig(name="refused", storage_path=str(tmp_path), verbose=0)).fit()
    assert not any(n.startswith("constrained") for n in os.listdir(tmp_path / "refused")) \
        if os.path.isdir(tmp_path / "refused") else True


def test_optuna_with_a_sampler_of_its_own(ray_session, tmp_path):
    optuna = pytest.importorskip("optuna")
    from tune_optuna import OptunaSearch, reported_constraints
    from tune_optuna.search import native_constraints

    extra = {} if native_constraints() else {"constraints_func": reported_constraints}
    sampler = optuna.samplers.NSGAIISampler(seed=2, population_size=4, **extra)
    searcher = OptunaSearch(sampler=sampler)
    grid = tune.Tuner(constrained, param_space={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)},
                      tune_config=tune.TuneConfig(metric=["f1", "f2"], mode=["min", "min"], constraints=["c"],
                                                  search_alg=searcher, num_samples=8),
                      run_config=tune.RunConfig(name="own", storage_path=str(tmp_path), verbose=0)).fit()
    assert all(any(k.startswith("constraints") for k in t.system_attrs) for t in searcher.study.trials)
    assert all(math.isfinite(r.metrics["f1"]) for r in grid.get_pareto_front())


# -- early stopping on several objectives, with Optuna choosing the configs -------------------
def curves(config):
    x = config["x"]
    for i in range(1, 10):
        tune.report({"f1": x + 1.0 / i, "f2": (1 - x) ** 2 + 1.0 / i})


def test_mo_asha_with_optuna_tells_full_budget_trials_complete_and_stopped_ones_pruned(ray_session, tmp_path):
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("tune_hyperband")
    from tune_optuna import OptunaSearch

    searcher = OptunaSearch(sampler=optuna.samplers.NSGAIISampler(seed=0, population_size=4))
    grid = tune.Tuner(curves, param_space={"x": tune.uniform(0, 1)},
                      tune_config=tune.TuneConfig(metric=["f1", "f2"], mode=["min", "min"], search_alg=searcher,
                                                  num_samples=12, scheduler={"name": "mo_asha", "max_t": 9,
                                                                             "grace_period": 1,
                                                                             "reduction_factor": 3}),
                      run_config=tune.RunConfig(name="mo_asha_optuna", storage_path=str(tmp_path), verbose=0)).fit()
    iterations = {r.config["x"]: r.metrics["training_iteration"] for r in grid}
    assert sum(iterations.values()) < 12 * 9  # some trials were stopped early
    states = {t.params["x"]: t.state for t in searcher.study.trials}
    for x, done in iterations.items():
        want = optuna.trial.TrialState.COMPLETE if done == 9 else optuna.trial.TrialState.PRUNED
        assert states[x] == want, (x, done)
    complete = [t for t in searcher.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(t.values == pytest.approx([t.params["x"] + 1 / 9, (1 - t.params["x"]) ** 2 + 1 / 9])
                            for t in complete)


def test_asha_with_optuna_tells_full_budget_trials_complete(ray_session, tmp_path):
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("tune_hyperband")
    from tune_optuna import OptunaSearch

    searcher = OptunaSearch(seed=0)
    grid = tune.Tuner(curves, param_space={"x": tune.uniform(0, 1)},
                      tune_config=tune.TuneConfig(metric="f1", mode="min", search_alg=searcher, num_samples=10,
                                                  scheduler={"name": "asha", "max_t": 9, "grace_period": 1,
                                                             "reduction_factor": 3}),
                      run_config=tune.RunConfig(name="asha_optuna", storage_path=str(tmp_path), verbose=0)).fit()
    states = {t.params["x"]: t.state for t in searcher.study.trials}
    finished = [r.config["x"] for r in grid if r.metrics["training_iteration"] == 9]
    stopped = [r.config["x"] for r in grid if r.metrics["training_iteration"] < 9]
    assert finished and stopped
    assert all(states[x] == optuna.trial.TrialState.COMPLETE for x in finished)
    assert all(states[x] == optuna.trial.TrialState.PRUNED for x in stopped)
