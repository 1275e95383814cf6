"""Several metrics and modes: accepted where they make sense, refused (before any trial) elsewhere."""

from __future__ import annotations

import os

import pytest

import tunecore as tune
from tunecore.errors import TuneError
from tunecore.objective import Objective, check_constraints, check_objective
from tunecore.schedulers import MedianStoppingRule
from tunecore.stopper import ExperimentPlateauStopper, TrialPlateauStopper


@pytest.mark.parametrize("metric, mode, match", [
    (["a", "b"], "min", r"mode must be a list of as many 'min'/'max', e\.g\. mode=\['min', 'min'\]"),
    (["a", "b"], ["min"], "same length, but got 2 metrics"),
    (["a", "b"], ["min", "best"], "each mode must be 'min' or 'max'"),
    (["a", "a"], ["min", "min"], "names a metric twice"),
    ([], [], "empty list"),
    (["a", 3], ["min", "min"], "non-empty string"),
    ("a", ["min", "max"], "mode=\\['min', 'max'\\] is a list, so metric must be a list"),
    ("a", "minimize", "mode must be 'min' or 'max'"),
    (7, "min", "non-empty string"),
])
def test_bad_objectives_say_what_is_wrong(metric, mode, match):
    with pytest.raises(TuneError, match=match):
        check_objective(metric, mode)
    with pytest.raises(TuneError, match=match):
        tune.TuneConfig(metric=metric, mode=mode)


def test_good_objectives_are_normalised():
    assert check_objective(("a", "b"), ("min", "max")) == (["a", "b"], ["min", "max"])
    assert check_objective("a", None) == ("a", None)
    assert check_objective(["a", "b"], None, partial=True) == (["a", "b"], None)
    config = tune.TuneConfig(metric=("loss", "ms"), mode=("min", "min"), constraints="mem")
    assert (config.metric, config.mode, config.constraints) == (["loss", "ms"], ["min", "min"], ["mem"])
    assert Objective.from_json(Objective.of(["a", "b"], ["min", "max"], ["c"]).to_json()) == \
        Objective(["a", "b"], ["min", "max"], ("c",))
    assert Objective.from_json({"metric": ["a"], "mode": "garbage"}) == Objective()  # unreadable: none


@pytest.mark.parametrize("constraints, match", [
    ([], "a result key or a list"),
    (["c", "c"], "names 'c' twice"),
    (["a"], "both an objective and a constraint"),
    ([1], "must be a result key or a list of them"),
])
def test_bad_constraints(constraints, match):
    with pytest.raises(TuneError, match=match):
        check_constraints(constraints, ["a", "b"])


@pytest.mark.parametrize("build", [
    lambda: MedianStoppingRule(metric=["a", "b"], mode=["min", "min"]),
    lambda: TrialPlateauStopper(metric=["a", "b"]),
    lambda: ExperimentPlateauStopper(metric=["a", "b"]),
])
def test_single_objective_components_refuse_a_list_and_name_those_that_take_one(build):
    with pytest.raises(TuneError, match="optimises one metric") as info:
        build()
    message = str(info.value)
    assert "fifo" in message and "basic_variant" in message and "get_pareto_front" in message


def test_installed_multi_objective_components_are_named():
    pytest.importorskip("tune_hyperband")
    pytest.importorskip("tune_optuna")
    from tunecore.objective import multi_objective_components

    text = multi_objective_components()
    assert "mo_asha" in text and "optuna" in text


def never_run(config):  # pragma: no cover - the run must be refused first
    raise AssertionError("a trial started")


def test_run_with_a_list_and_a_single_objective_scheduler_is_refused_before_any_trial(tmp_path):
    with pytest.raises(TuneError, match="MedianStoppingRule optimises one metric"):
        tune.run_experiments({"refused": {"run": never_run, "local_dir": str(tmp_path)}},
                             scheduler="median_stopping", metric=["a", "b"], mode=["min", "min"], verbose=0)
    assert not os.path.exists(tmp_path / "refused")  # nothing was started, nothing written


def test_a_single_objective_scheduler_with_its_own_metric_keeps_it():
    scheduler = MedianStoppingRule(metric="a", mode="min")
    scheduler.set_search_properties(["a", "b"], ["min", "max"])
    assert (scheduler.metric, scheduler.mode) == ("a", "min")


def test_spec_file_schema_takes_lists_and_constraints():
    jsonschema = pytest.importorskip("jsonschema")
    from tunecore.spec_schema import spec_file_schema

    schema = spec_file_schema()
    good = {"experiments": {"e": {"run": "x"}}, "metric": ["a", "b"], "mode": ["min", "max"], "constraints": ["c"]}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(good, mode=["min", "best"]), schema)


def test_the_notebook_table_and_summary_with_several_objectives():
    from tunecore.execution.notebook import status_html
    from tunecore.execution.status import StatusView, summary_text
    from tunecore.execution.trial import TrialStatus
    from tunecore.testing import make_trial

    trials = []
    for i, (err, ms, over) in enumerate([(0.1, 9.0, -1), (0.2, 3.0, -1), (0.3, 5.0, -1), (0.05, 1.0, 2)]):
        t = make_trial({"i": i}, experiment_tag=str(i))
        t.status = TrialStatus.TERMINATED
        t.last_result = {"err": err, "ms": ms, "over": over, "training_iteration": 1, "time_total_s": 0.1}
        trials.append(t)
    view = StatusView(trials, "Using FIFO scheduling algorithm.", None, ["/tmp/exp"], metric=["err", "ms"],
                      mode=["min", "min"])
    markup = status_html(view)
    assert "<th>err</th>" in markup and "<th>ms</th>" in markup
    text = summary_text(trials, ["err", "ms"], ["min", "min"], ["over"])
    # trial 3 dominates all but breaks its constraint; trial 2 is dominated by trial 1
    assert "Pareto front (err min, ms min): 2 of 4 trials" in text
    assert str(trials[0]) in text and str(trials[1]) in text and str(trials[3]) not in text
    best = summary_text(trials, "err", "min", ["over"])
    assert f"Best trial: {trials[0]}" in best  # the infeasible trial 3 is never the best


def test_tune_run_takes_several_objectives(ray_session, tmp_path):
    def f(config):
        tune.report({"a": config["x"], "b": 1 - config["x"]})

    analysis = tune.run(f, config={"x": tune.grid_search([0.0, 0.5, 1.0])}, local_dir=str(tmp_path),
                        metric=["a", "b"], mode=["min", "min"], verbose=0)
    assert len(analysis.trials) == 3
    assert len(tune.ResultGrid.from_path(analysis.experiment_dir).get_pareto_front()) == 3
