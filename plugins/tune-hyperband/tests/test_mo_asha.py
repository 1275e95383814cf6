"""MO-ASHA: the rung rule on hand-built results, its properties, arguments, state, registration, Ray."""

from __future__ import annotations

import json
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunecore as tune
from tune_hyperband import AsyncHyperBandScheduler, MOASHAScheduler, MultiObjectiveAsyncHyperBandScheduler
from tune_hyperband.mo_asha import keep_count
from tunecore import pareto
from tunecore.errors import TuneError
from tunecore.schedulers import Decision
from tunecore.testing import NUMERIC_KINDS, FakeRunner, SchedulerContract, as_kind, make_result, make_trial

C, S = Decision.CONTINUE, Decision.STOP
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))

#: Tests that feed results without one of the metrics expect the scheduler's one warning.
pytestmark = pytest.mark.filterwarnings("ignore:MultiObjectiveAsyncHyperBandScheduler.*no value for metric")


def moasha(**kwargs) -> MultiObjectiveAsyncHyperBandScheduler:
    kwargs.setdefault("metric", ["a", "b"])
    kwargs.setdefault("mode", ["min", "max"])
    kwargs.setdefault("max_t", 100)
    kwargs.setdefault("grace_period", 1)
    kwargs.setdefault("reduction_factor", 4)
    return MultiObjectiveAsyncHyperBandScheduler(**kwargs)


def res(trial, t, *values, keys=("a", "b"), **extra):
    out = {"training_iteration": t, "trial_id": trial.trial_id, **dict(zip(keys, values))}
    out.update(extra)
    return out


def at_rung(sched, points, t=1, keys=("a", "b"), extras=None):
    """Each point a new trial reporting once at ``t``; their decisions, in order."""
    runner = FakeRunner(sched, cpus=10_000)
    decisions = []
    for i, point in enumerate(points):
        trial = runner.add_trial(make_trial())
        runner.start_trial(trial)
        extra = extras[i] if extras else {}
        decisions.append(runner.report(trial, res(trial, t, *point, keys=keys, **extra)))
    return decisions


# -- rungs and the rule ------------------------------------------------------------------
def test_rungs_and_brackets_are_asha_s():
    sched = moasha(max_t=27, grace_period=1, reduction_factor=3, brackets=2)
    assert sched.rung_milestones() == [[1, 3, 9, 27], [3, 9, 27]]
    asha = AsyncHyperBandScheduler(max_t=27, grace_period=1, reduction_factor=3, brackets=2, metric="a")
    assert sched.rung_milestones() == asha.rung_milestones() and sched._shares == asha._shares
    assert moasha(max_t=10, grace_period=1, reduction_factor=3, brackets=10).num_brackets == 3


def test_keep_count_is_the_share_above_asha_s_quantile():
    assert [keep_count(m, 4) for m in range(10)] == [1, 1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert [keep_count(m, 3) for m in range(1, 8)] == [1, 1, 1, 2, 2, 2, 3]
    for rf in (2, 3, 4, 5):
        assert all(keep_count(m, rf) == math.ceil(m / rf) for m in range(1, 60))
    assert [keep_count(m, 2.5) for m in range(1, 8)] == [1, 1, 1, 2, 2, 3, 3]


def test_a_point_on_the_front_continues_where_a_dominated_one_stops():
    # a is minimised, b maximised: (1, 1), (2, 2), (3, 3) trade off; (3, 1) is dominated.
    recorded = [(1, 1), (2, 2), (3, 3), (3, 1)]
    front = at_rung(moasha(reduction_factor=2), recorded + [(4, 4)])
    dominated = at_rung(moasha(reduction_factor=2), recorded + [(4, 2.5)])  # worse than (3, 3) in both
    assert front[-1] == C and dominated[-1] == S  # 4 recorded before: the first 2 places continue


def test_the_first_trial_at_a_rung_always_continues_and_the_rule_is_judged_once_per_rung():
    sched = moasha(reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    good, bad = (runner.add_trial(make_trial()) for _ in range(2))
    for t in (good, bad):
        runner.start_trial(t)
    assert runner.report(bad, res(bad, 1, 9.0, 0.0)) == C  # alone at rung 1
    assert runner.report(good, res(good, 1, 0.0, 9.0)) == C
    assert runner.report(bad, res(bad, 1.5, 99.0, -99.0)) == C  # rung 1 already judged, rung 2 not reached
    assert runner.report(bad, res(bad, 2, 9.0, 0.0)) == C  # first at rung 2
    assert runner.report(good, res(good, 3, 10.0, -1.0)) == S  # dominated by bad's point at rung 2
    assert sched._num_stopped == 1
    assert sched.debug_string().splitlines()[1].startswith("Bracket: Iter 1.000: n=2 front=1 | Iter 2.000: n=2 front=1")


@pytest.mark.parametrize("tie_break", ["epsnet", "crowding"])
def test_of_eight_front_points_with_rf_4_the_extremes_continue(tie_break):
    front = [(x, x ** 0.5) for x in np.linspace(0.0, 1.0, 8)]  # a min, b max: all non-dominated
    for last in range(8):
        order = [i for i in range(8) if i != last] + [last]
        sched = moasha(tie_break=tie_break)
        decisions = at_rung(sched, [front[i] for i in order])
        # 7 recorded before the last: keep_count(7, 4) == 2 places continue
        assert decisions[-1] == (C if last in (0, 7) else S), (tie_break, last)
        recorded = sched._brackets[0].rungs[0].recorded
        assert {recorded[t][0][0] for t in sched.ranking()[:2]} == {0.0, 1.0}  # a of the two extremes


def test_the_tie_breaks_order_the_front_differently():
    xs = [0.0, 0.45, 0.5, 0.55, 1.0]
    orders = {}
    for tie_break in ("epsnet", "crowding"):
        sched = moasha(tie_break=tie_break)
        runner = FakeRunner(sched, cpus=10)
        by_id = {}
        for x in xs:
            trial = runner.add_trial(make_trial())
            runner.start_trial(trial)
            runner.report(trial, res(trial, 1, x, x))
            by_id[trial.trial_id] = x
        orders[tie_break] = [by_id[i] for i in sched.ranking()]
    # both start with the extremes; the ε-net then takes the point farthest from them (the middle),
    # crowding the one with the widest gap between its neighbours
    assert orders["epsnet"][:3] == [0.0, 1.0, 0.5]
    assert orders["crowding"][:3] == [0.0, 1.0, 0.45]


def test_a_dominating_point_continues_however_crowded_the_rung():
    recorded = [(float(i), float(-i)) for i in range(1, 40)]  # each later one dominated by every earlier
    assert at_rung(moasha(), recorded + [(0.0, 1.0)])[-1] == C


def test_nan_and_infinite_objectives_rank_last():
    sched = moasha(reduction_factor=2)
    decisions = at_rung(sched, [(math.nan, 1.0), (5.0, 0.0), (1.0, math.inf), (9.0, -9.0), (math.nan, math.nan)])
    # the finite (5, 0) beats the NaN recorded before it; +inf in a maximised objective is not finite: last
    assert decisions == [C, C, S, C, S]
    values = {t: sched._brackets[0].rungs[0].recorded[t][0] for t in sched.ranking()}
    assert [v for v in values.values()][:2] == [(5.0, -0.0), (9.0, 9.0)]
    assert all(not np.all(np.isfinite(v)) for v in list(values.values())[2:])


def test_max_mode_flips_the_decision():
    points = [(1.0, 1.0), (2.0, 2.0)]
    assert at_rung(moasha(mode=["min", "min"]), points)[-1] == S
    assert at_rung(moasha(mode=["max", "max"]), points)[-1] == C
    assert at_rung(moasha(mode="max"), points)[-1] == C  # one mode for every metric


def test_ties_go_to_the_trial_being_judged_as_in_asha():
    assert at_rung(moasha(), [(1.0, 1.0), (1.0, 1.0)]) == [C, C]
    asha = AsyncHyperBandScheduler(metric="a", mode="min", grace_period=1, max_t=100)
    assert at_rung(asha, [(1.0,), (1.0,)], keys=("a",)) == [C, C]


def test_a_single_metric_is_successive_halving_as_asha():
    # ASHA's hand-computed case: rf=2, scores 100, 450, then 260 < the median 275
    sched = moasha(metric="r", mode="max", reduction_factor=2)
    assert sched.metric == "r" and sched.mode == "max"
    assert at_rung(sched, [(100,), (450,), (260,)], keys=("r",)) == [C, C, S]


def test_constraints_rank_infeasible_points_after_feasible_ones():
    sched = moasha(reduction_factor=2, constraints=["over"])
    extras = [{"over": 0.0}, {"over": 1.0}, {"over": -2.0}, {}, {"over": math.nan}]
    decisions = at_rung(sched, [(5.0, 0.0), (0.0, 9.0), (6.0, -1.0), (-1.0, 10.0), (-2.0, 11.0)], extras=extras)
    # (0, 9) dominates but is infeasible; (6, -1) is feasible but dominated by (5, 0), with one place
    # to keep; a missing or NaN constraint is infeasible too, so the last two rank after both
    assert decisions == [C, S, S, S, S]
    ranking = sched.ranking()
    recorded = sched._brackets[0].rungs[0].recorded
    assert [recorded[t][1] for t in ranking] == [True, True, False, False, False]
    assert sched.constraints == ["over"]


def test_missing_metric_warns_once_and_is_not_recorded():
    sched = moasha(reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    a, b = (runner.add_trial(make_trial()) for _ in range(2))
    for t in (a, b):
        runner.start_trial(t)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert runner.report(a, res(a, 1, 1.0)) == C  # no "b"
        assert runner.report(b, res(b, 1, 1.0, "n/a")) == C
        assert runner.report(b, res(b, 2, 1.0, True)) == C  # a bool is not a number
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "no value for metric 'b'" in messages[0]
    assert "n=0" in sched.debug_string() and "n=1" not in sched.debug_string()


def test_any_result_at_max_t_stops_and_is_not_an_early_stop():
    sched = moasha(max_t=10)
    runner = FakeRunner(sched, cpus=10)
    trial = runner.add_trial(make_trial())
    runner.start_trial(trial)
    assert runner.report(trial, res(trial, 10, 0.0, 0.0)) == S
    assert sched._num_stopped == 0


def test_a_result_without_time_is_let_through():
    sched = moasha()
    runner = FakeRunner(sched, cpus=10)
    trial = runner.add_trial(make_trial())
    runner.start_trial(trial)
    assert runner.report(trial, {"a": 1.0, "b": 2.0}) == C


def test_completion_records_the_final_result():
    sched = moasha(reduction_factor=2)
    runner = FakeRunner(sched, cpus=10)
    a, b = (runner.add_trial(make_trial()) for _ in range(2))
    for t in (a, b):
        runner.start_trial(t)
    runner.complete(a, res(a, 1, 0.0, 5.0))
    assert runner.report(b, res(b, 1, 1.0, 4.0)) == S


# -- the objective ------------------------------------------------------------------------
def test_without_metric_the_first_result_says_what_to_pass():
    sched = MultiObjectiveAsyncHyperBandScheduler()
    runner = FakeRunner(sched, cpus=10)
    trial = runner.add_trial(make_trial())
    runner.start_trial(trial)
    with pytest.raises(TuneError, match=r"has no metric: pass metric=\['loss', 'latency'\], mode=\['min', 'min'\]"):
        runner.report(trial, res(trial, 1, 1.0, 2.0))
    sched = MultiObjectiveAsyncHyperBandScheduler(metric=["a", "b"])
    with pytest.raises(TuneError, match=r"has no mode: pass metric=\['a', 'b'\], mode=\['min', 'min'\]"):
        FakeRunner(sched).report(trial, res(trial, 1, 1.0, 2.0))


def test_set_search_properties_adopts_the_experiment_s_lists():
    sched = MultiObjectiveAsyncHyperBandScheduler()
    sched.set_search_properties(["a", "b"], ["min", "max"])
    assert sched.metric == ("a", "b") and sched.mode == ("min", "max")
    sched.set_search_properties(["a", "b"], ["min", "max"], constraints=["over"])  # the core's second call
    assert sched.constraints == ["over"] and sched.metric == ("a", "b")
    assert at_rung(sched, [(1.0, 1.0), (2.0, 0.0)], extras=[{"over": 0}, {"over": 0}]) == [C, S]


def test_the_scheduler_s_own_objective_wins():
    sched = moasha(metric=["x", "y"], mode=["max", "max"], constraints=["c"])
    sched.set_search_properties(["a", "b"], ["min", "min"], constraints=["d"])
    assert sched.metric == ("x", "y") and sched.mode == ("max", "max") and sched.constraints == ["c"]
    # own metrics without modes: the experiment's modes belong to other metrics
    sched = MultiObjectiveAsyncHyperBandScheduler(metric=["x", "y"])
    sched.set_search_properties(["a", "b"], ["min", "max"])
    assert sched.mode is None
    sched.set_search_properties(["x", "y"], ["min", "max"])  # the same metrics: their modes
    assert sched.mode == ("min", "max")
    # an own single mode applies to every experiment metric
    sched = MultiObjectiveAsyncHyperBandScheduler(mode="max")
    sched.set_search_properties(["a", "b", "c"], ["min", "min", "min"])
    assert sched.mode == ("max", "max", "max")
    # a single experiment metric: single-objective halving
    sched = MultiObjectiveAsyncHyperBandScheduler()
    sched.set_search_properties("loss", "min")
    assert sched.metric == "loss" and sched.mode == "min"


def test_an_experiment_objective_that_does_not_fit_is_refused():
    sched = MultiObjectiveAsyncHyperBandScheduler(mode=["min", "max"])
    with pytest.raises(TuneError, match="must have the same length, but got 3 metrics"):
        sched.set_search_properties(["a", "b", "c"], None)


def test_the_core_knows_it_takes_several_metrics():
    assert MultiObjectiveAsyncHyperBandScheduler.multi_objective is True
    assert MOASHAScheduler is MultiObjectiveAsyncHyperBandScheduler
    assert MultiObjectiveAsyncHyperBandScheduler.requires_checkpointing is False


NAME = "MultiObjectiveAsyncHyperBandScheduler"


@pytest.mark.parametrize("kwargs, message", [
    ({"max_t": 0}, "max_t must be a number > 0, but got max_t=0"),
    ({"grace_period": 0}, "grace_period must be a number > 0, but got grace_period=0"),
    ({"max_t": 10, "grace_period": 20}, "grace_period must be <= max_t (max_t=10), but got grace_period=20"),
    ({"reduction_factor": 1}, "reduction_factor must be a number > 1, but got reduction_factor=1"),
    ({"brackets": 0}, "brackets must be an int >= 1, but got brackets=0"),
    ({"time_attr": ""}, "time_attr must be a non-empty string, but got time_attr=''"),
    ({"tie_break": "random"}, f"{NAME}: tie_break must be one of ['epsnet', 'crowding'], but got tie_break='random'"),
    ({"metric": ["a", "b", "c"]}, f"{NAME}: metric and mode must have the same length, but got 3 metrics "
                                  "['a', 'b', 'c'] and 2 modes ['min', 'max']; give one mode per metric, or a "
                                  "single mode for all (e.g. mode='min')"),
    ({"mode": ["min"]}, f"{NAME}: metric and mode must have the same length, but got 2 metrics ['a', 'b'] and "
                        "1 modes ['min']; give one mode per metric, or a single mode for all (e.g. mode='min')"),
    ({"mode": ["min", "best"]}, f"{NAME}: mode must be 'min' or 'max' (applied to every metric) or a list of "
                                "them, one per metric, e.g. mode=['min', 'max'], but got mode=['min', 'best']"),
    ({"mode": "minimize"}, f"{NAME}: mode must be 'min' or 'max' (applied to every metric) or a list of them, one "
                           "per metric, e.g. mode=['min', 'max'], but got mode='minimize'"),
    ({"metric": []}, f"{NAME}: metric must be a result key or a list of them (one per objective), e.g. "
                     "metric=['loss', 'latency'], but got metric=[]"),
    ({"metric": ["a", 3]}, f"{NAME}: metric must be a result key or a list of them (one per objective), e.g. "
                           "metric=['loss', 'latency'], but got metric=['a', 3]"),
    ({"metric": ["a", "a"]}, f"{NAME}: metric=['a', 'a'] names 'a' twice; give each objective once"),
    ({"constraints": ["a"]}, f"{NAME}: 'a' is both an objective and a constraint; a constraint is a separate "
                             "result key that must be <= 0 (e.g. report latency_over=latency - 0.1)"),
    ({"constraints": [""]}, f"{NAME}: constraints must be a result key or a list of them (each feasible when "
                            "<= 0), e.g. constraints=['memory_over'], but got constraints=['']"),
    ({"constraints": ["c", "c"]}, f"{NAME}: constraints=['c', 'c'] names 'c' twice"),
])
def test_invalid_arguments_are_refused(kwargs, message):
    with pytest.raises(TuneError) as info:
        moasha(**kwargs)
    assert str(info.value) == message


# -- state -------------------------------------------------------------------------------
def _curve(trial, t):
    q = float(trial.config["q"])
    return res(trial, t, q + 1.0 / t, (q * 7) % 5 + t)


def _feed(runner, trials, steps):
    """Round-robin results of a deterministic two-objective curve; the decisions."""
    out = []
    for step in steps:
        trial = trials[step % len(trials)]
        if trial.status.value == "RUNNING":
            out.append(runner.report(trial))
    return out


def _experiment(sched):
    runner = FakeRunner(sched, cpus=100, result_fn=_curve)
    trials = [runner.add_trial(make_trial({"q": q})) for q in range(12)]
    for t in trials:
        runner.start_trial(t)
    return runner, trials


def test_state_round_trips_through_json_and_the_run_goes_on_the_same():
    make = lambda: moasha(max_t=27, reduction_factor=3, brackets=2)
    original = make()
    runner, trials = _experiment(original)
    _feed(runner, trials, range(40))
    state = json.loads(json.dumps(original.save_state(), allow_nan=False))
    restored = make()
    restored.restore_state(state)
    assert restored.save_state() == state
    assert restored.debug_string() == original.debug_string()
    clone = pickle.loads(pickle.dumps(original))
    # the same trials go on from each copy: identical decisions
    decisions = []
    frozen = pickle.dumps((runner, trials))
    for sched in (original, restored, clone):
        copy_runner, copy_trials = pickle.loads(frozen)
        copy_runner.scheduler = sched
        decisions.append(_feed(copy_runner, copy_trials, range(40, 400)))
    assert decisions[0] == decisions[1] == decisions[2]
    assert S in decisions[0]
    assert original.save_state() == restored.save_state() == clone.save_state() != state


def test_a_scheduler_without_objective_takes_the_saved_one():
    original = moasha(constraints=["over"])
    at_rung(original, [(1.0, 1.0), (math.nan, 0.0)], extras=[{"over": 0}, {"over": 1}])
    state = json.loads(json.dumps(original.save_state()))
    assert state["objective"] == {"metric": ["a", "b"], "mode": ["min", "max"], "constraints": ["over"]}
    assert state["rungs"][0][0]["infeasible"] and "NaN" in json.dumps(state)
    bare = MultiObjectiveAsyncHyperBandScheduler(max_t=100, grace_period=1, reduction_factor=4)
    bare.restore_state(state)
    assert bare.metric == ("a", "b") and bare.constraints == ["over"] and bare.save_state() == state


def test_another_objective_on_resume_drops_the_recorded_points():
    original = moasha()
    at_rung(original, [(1.0, 1.0), (2.0, 2.0)])
    other = moasha(mode=["max", "max"])
    with pytest.warns(UserWarning, match="points recorded at the rungs are not used"):
        other.restore_state(json.loads(json.dumps(original.save_state())))
    assert other._num_stopped == original._num_stopped and "n=0" in other.debug_string()


def test_registered_names_resolve():
    from tunecore.plugins import get_plugin_manager

    registry = get_plugin_manager().schedulers
    for name in ("mo_asha", "multi_objective_asha"):
        sched = registry.create({"name": name, "metric": ["a", "b"], "mode": ["min", "max"], "max_t": 27})
        assert isinstance(sched, MultiObjectiveAsyncHyperBandScheduler) and sched._max_t == 27
        assert getattr(registry.get(name), "multi_objective", False) is True
    assert isinstance(registry.create("mo_asha"), MultiObjectiveAsyncHyperBandScheduler)


def test_repr_and_debug_string():
    sched = moasha(max_t=27, reduction_factor=3)
    assert repr(sched) == (
        "MultiObjectiveAsyncHyperBandScheduler(time_attr='training_iteration', metric=['a', 'b'], "
        "mode=['min', 'max'], max_t=27, grace_period=1, reduction_factor=3, brackets=1, tie_break='epsnet', "
        "constraints=[])")
    at_rung(sched, [(1.0, 1.0), (2.0, 2.0), (3.0, 0.0)])
    assert sched.debug_string() == (
        "Using MultiObjectiveAsyncHyperBand: num_stopped=2 metric=['a', 'b'] mode=['min', 'max'] tie_break=epsnet\n"
        "Bracket: Iter 1.000: n=3 front=2 | Iter 3.000: n=0 front=0 | Iter 9.000: n=0 front=0 | "
        "Iter 27.000: n=0 front=0")


# -- properties --------------------------------------------------------------------------
small = st.integers(-6, 6).map(float)
pairs = st.tuples(small, small)
modes2 = st.sampled_from([["min", "min"], ["min", "max"], ["max", "min"], ["max", "max"]])
tie_breaks = st.sampled_from(["epsnet", "crowding"])
factors = st.sampled_from([2, 3, 4, 2.5])


def _better(values, mode, margin):
    return min(values) - margin if mode == "min" else max(values) + margin


@SETTINGS
@given(recorded=st.lists(pairs, min_size=1, max_size=30), modes=modes2, tie_break=tie_breaks, rf=factors,
       margins=st.tuples(st.integers(0, 3), st.integers(1, 3)), odd=st.lists(st.booleans(), max_size=30))
def test_a_trial_dominating_every_recorded_point_continues(recorded, modes, tie_break, rf, margins, odd):
    # some recorded points are infeasible or NaN: they rank after anyway
    extras = [{"over": 1.0 if flag else 0.0} for flag in (odd + [False] * len(recorded))[:len(recorded)]]
    recorded = [(math.nan, b) if i % 7 == 3 else (a, b) for i, (a, b) in enumerate(recorded)]
    finite = [p for p in recorded if not math.isnan(p[0])] or [(0.0, 0.0)]
    dominator = tuple(_better([p[k] for p in finite], modes[k], margins[k]) for k in range(2))
    sched = moasha(mode=modes, tie_break=tie_break, reduction_factor=rf, constraints=["over"])
    assert at_rung(sched, recorded + [dominator], extras=extras + [{"over": -1.0}])[-1] == C


@SETTINGS
@given(recorded=st.lists(pairs, min_size=1, max_size=30), newcomer=pairs, modes=modes2, tie_break=tie_breaks,
       rf=factors)
def test_a_trial_dominated_by_as_many_as_continue_stops(recorded, newcomer, modes, tie_break, rf):
    sched = moasha(mode=modes, tie_break=tie_break, reduction_factor=rf)
    decision = at_rung(sched, recorded + [newcomer])[-1]
    signed = pareto.minimized(recorded + [newcomer], modes)
    dominators = sum(pareto.dominates(p, signed[-1]) for p in signed[:-1])
    if dominators >= keep_count(len(recorded), rf):
        assert decision == S
    if dominators == 0 and all(signed[-1][0] < p[0] for p in signed[:-1]):  # non-dominated, best in the first
        assert decision == C


@SETTINGS
@given(scores=st.lists(small, min_size=1, max_size=40), mode=st.sampled_from(["min", "max"]),
       rf=st.sampled_from([2, 4]), tie_break=tie_breaks)
def test_with_one_objective_it_decides_as_asha_where_asha_s_quantile_is_a_recorded_score(scores, mode, rf,
                                                                                         tie_break):
    asha = AsyncHyperBandScheduler(metric="a", mode=mode, grace_period=1, max_t=100, reduction_factor=rf)
    single = moasha(metric="a", mode=mode, reduction_factor=rf, tie_break=tie_break)
    expected = at_rung(asha, [(s,) for s in scores], keys=("a",))
    got = at_rung(single, [(s,) for s in scores], keys=("a",))
    for m, (ours, theirs) in enumerate(zip(got, expected)):
        if m == 0 or (m - 1) % rf == 0:
            assert ours == theirs, (m, scores)
        elif ours == C:
            assert theirs == C, (m, scores)  # never more lenient


@SETTINGS
@given(points=st.lists(pairs, min_size=1, max_size=25), modes=modes2, tie_break=tie_breaks, rf=factors,
       shift=st.tuples(st.integers(-9, 9), st.integers(-9, 9)))
def test_decisions_do_not_depend_on_the_sign_scale_or_offset_of_an_objective(points, modes, tie_break, rf, shift):
    flip = {"min": "max", "max": "min"}
    base = at_rung(moasha(mode=modes, tie_break=tie_break, reduction_factor=rf), points)
    flipped = at_rung(moasha(mode=[flip[m] for m in modes], tie_break=tie_break, reduction_factor=rf),
                      [(-a, -b) for a, b in points])
    scaled = at_rung(moasha(mode=modes, tie_break=tie_break, reduction_factor=rf),
                     [(4 * a + shift[0], 0.5 * b + shift[1]) for a, b in points])
    assert base == flipped == scaled


ODD = [math.nan, np.float32("nan"), math.inf, -math.inf, None, "n/a", True, "missing"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(NUMERIC_KINDS),
       odd=st.dictionaries(st.tuples(st.integers(1, 12), st.sampled_from(["a", "b"])), st.sampled_from(ODD),
                           max_size=6))
def test_objectives_of_every_numeric_kind_and_odd_values(kind, odd):
    sched = moasha(max_t=10, reduction_factor=2, brackets=3)

    def result_fn(trial, iteration):
        out = make_result(trial, iteration)
        q = float(trial.config["quality"])
        out["a"] = as_kind(kind, q * iteration)
        out["b"] = as_kind(kind, (q * 3) % 5 + iteration)
        for (when, key), value in odd.items():
            if when == iteration and trial.trial_id[-1] in "02468":
                if isinstance(value, str) and value == "missing":
                    del out[key]
                else:
                    out[key] = value
        return out

    runner = FakeRunner(sched, result_fn=result_fn, cpus=2)
    runner.add_trials(8)
    runner.run(max_iterations=12)
    assert all(t.is_finished() for t in runner.trials)
    state = json.loads(json.dumps(sched.save_state(), allow_nan=False))
    again = moasha(max_t=10, reduction_factor=2, brackets=3)
    again.restore_state(state)
    assert again.save_state() == state


# -- the contract --------------------------------------------------------------------------
class TestMOASHAContract(SchedulerContract):
    max_iterations = 12

    @pytest.fixture
    def make_scheduler(self):
        # reward up, loss up: a trade-off, so every rung has a front of several points
        return lambda: MultiObjectiveAsyncHyperBandScheduler(
            metric=["episode_reward_mean", "mean_loss"], mode=["max", "max"], max_t=10, grace_period=1,
            reduction_factor=2, brackets=3)


class TestMOASHACrowdingConstraintsContract(SchedulerContract):
    max_iterations = 12

    def make_result(self, trial, iteration):
        result = make_result(trial, iteration)
        quality = float(trial.config.get("quality", 1.0))
        result["latency"] = (quality * 5) % 3 + 1.0 / iteration
        result["over"] = 1.0 if quality % 3 == 0 else -1.0
        return result

    @pytest.fixture
    def make_scheduler(self):
        return lambda: MultiObjectiveAsyncHyperBandScheduler(
            metric=["mean_accuracy", "latency"], mode=["max", "min"], max_t=10, grace_period=1,
            reduction_factor=3, tie_break="crowding", constraints=["over"])


# -- end to end on Ray ----------------------------------------------------------------------
#: Final (a, b) of the 12 configs, a minimised and b maximised: the first three are the Pareto
#: front, each of the others is dominated by one of them. Every curve is the final point shifted
#: by the same (1/t, -1/t), so the dominance at any rung is the one at max_t.
E2E_POINTS = [(0.9, 0.9), (0.95, 0.6), (0.5, 0.5), (0.6, 0.3), (0.1, 0.1), (0.2, 0.05), (0.7, 0.4),
              (1.0, 0.8), (0.3, 0.0), (0.55, 0.45), (0.15, 0.08), (0.95, 0.2)]
E2E_FRONT = {0, 2, 4}


def e2e_scheduler():
    return MultiObjectiveAsyncHyperBandScheduler(max_t=27, grace_period=1, reduction_factor=3)


def e2e_simulated_iterations():
    """The same schedule in-process: trials one at a time in grid order."""
    sched = e2e_scheduler()
    sched.set_search_properties(["a", "b"], ["min", "max"])

    def result_fn(trial, t):
        a, b = E2E_POINTS[trial.config["k"]]
        return {"training_iteration": t, "a": a + 1.0 / t, "b": b - 1.0 / t}

    runner = FakeRunner(sched, result_fn=result_fn, cpus=1)
    trials = [runner.add_trial(make_trial({"k": k})) for k in range(len(E2E_POINTS))]
    runner.run(max_iterations=28)
    return {t.config["k"]: runner.iteration(t) for t in trials}


def test_e2e_the_front_survives_and_the_rest_stops_early(ray_session, tmp_path):
    points = E2E_POINTS

    def two_objectives(config):
        a, b = points[config["k"]]
        for t in range(1, 28):
            tune.report({"a": a + 1.0 / t, "b": b - 1.0 / t})

    # metric/mode experiment-wide: the core hands the lists to the scheduler (multi_objective = True)
    tuner = tune.Tuner(
        two_objectives, param_space={"k": tune.grid_search(list(range(len(points))))},
        tune_config=tune.TuneConfig(metric=["a", "b"], mode=["min", "max"], scheduler=e2e_scheduler(),
                                    max_concurrent_trials=1),  # one at a time: rung decisions are deterministic
        run_config=tune.RunConfig(name="mo_asha", storage_path=str(tmp_path), verbose=0))
    grid = tuner.fit()
    assert len(grid) == 12 and grid.num_errors == 0
    iterations = {r.config["k"]: r.metrics["training_iteration"] for r in grid}
    assert iterations == e2e_simulated_iterations()
    assert sum(iterations.values()) < 12 * 27 / 3
    completed = sorted(k for k, n in iterations.items() if n == 27)
    assert E2E_FRONT <= set(completed)
    by_k = {r.config["k"]: r.metrics for r in grid}
    finals = [[by_k[k]["a"], by_k[k]["b"]] for k in completed]
    front = {completed[i] for i in pareto.front_indices(finals, ["min", "max"])}
    assert front == E2E_FRONT
    assert finals[completed.index(4)] == pytest.approx([0.1 + 1 / 27, 0.1 - 1 / 27])
    assert all(iterations[k] < 27 for k in set(range(12)) - set(completed))


def test_e2e_by_name_in_parallel_the_dominating_trial_runs_to_max_t(ray_session, results_dir):
    from tunecore import run_experiments
    from tunecore.trial import TrialStatus

    def curves(config, reporter):
        q = config["q"]  # q = 0 dominates every other config at every iteration
        for t in range(1, 28):
            reporter(loss=q + 1.0 / t, accuracy=1.0 - q / 10 - 1.0 / t)

    trials = run_experiments(
        {"mo": {"run": curves, "config": {"q": tune.grid_search(list(range(8)))}, "local_dir": results_dir}},
        # 4 CPUs: 4 trials at once; the metric lists go to run_experiments, the scheduler by name
        scheduler={"name": "mo_asha", "max_t": 27, "grace_period": 1, "reduction_factor": 3},
        metric=["loss", "accuracy"], mode=["min", "max"], verbose=False)
    assert all(t.status == TrialStatus.TERMINATED for t in trials)
    iterations = {t.config["q"]: t.last_result["training_iteration"] for t in trials}
    # whatever the order results arrive in: q = 0 is never stopped early; q = 7 starts only when 4
    # trials with a lower q ended, so they are recorded at its first rung, and all dominate it
    assert iterations[0] == 27 and iterations[7] == 1
    assert sum(iterations.values()) < 8 * 27
