"""Searcher, SearchGenerator, ConcurrencyLimiter and Repeater without Ray (Ray Tune 2.x semantics).

The search algorithms are driven the way the runner drives them: ``next_trials()`` for new
trials, then ``on_trial_result`` / ``on_trial_complete`` with those trials' ids.
"""

from __future__ import annotations

import json
import math
import os
import random

import pytest

import tunecore as tune
from tunecore.search import (
    BasicVariantGenerator,
    ConcurrencyLimiter,
    Repeater,
    SearchAlgorithm,
    Searcher,
    SearchGenerator,
    as_search_algorithm,
)
from tunecore.search.repeater import TRIAL_INDEX
from tunecore.search.sample import Domain, QRandInt, Uniform
from tunecore.testing import SearcherContract

TRAINABLE = "search_api_unit_trainable"
tune.register_trainable(TRAINABLE, lambda config, reporter: reporter(loss=config.get("x", 0)))


class ListSearcher(Searcher):
    """Suggests ``{"x": x}`` for each x of a list, then FINISHED; records every call."""

    def __init__(self, xs, metric=None, mode=None):
        super().__init__(metric=metric, mode=mode)
        self.xs = list(xs)
        self.next_index = 0
        self.events: list[tuple] = []
        self.props: list[tuple] = []

    def set_search_properties(self, metric, mode, config, **spec):
        self.props.append((metric, mode, config, spec))
        return super().set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id):
        self.events.append(("suggest", trial_id))
        if self.next_index >= len(self.xs):
            return Searcher.FINISHED
        self.next_index += 1
        return {"x": self.xs[self.next_index - 1]}

    def on_trial_result(self, trial_id, result):
        self.events.append(("result", trial_id, result.get("loss")))

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.events.append(("complete", trial_id, None if result is None else result.get("loss"), error))

    def completes(self):
        return [e[1:] for e in self.events if e[0] == "complete"]

    def suggested(self):
        return [e[1] for e in self.events if e[0] == "suggest"]


def experiment(num_samples=4, config=None, name="exp"):
    return {name: {"run": TRAINABLE, "num_samples": num_samples,
                   "config": config if config is not None else {"x": tune.uniform(0, 10)}}}


def generator(searcher, num_samples=4, config=None, metric="loss", mode="min"):
    alg = as_search_algorithm(searcher)
    alg.set_search_properties(metric, mode)  # what resolve_components does with TuneConfig's metric/mode
    alg.add_configurations(experiment(num_samples, config))
    return alg


def finish(alg, trial, loss, iterations=2):
    """Report ``iterations`` results (the last one ``loss``) and end the trial."""
    result = None
    for i in range(iterations):
        result = {"loss": loss + (iterations - 1 - i), "training_iteration": i + 1}
        alg.on_trial_result(trial.trial_id, result)
    alg.on_trial_complete(trial.trial_id, result=result)


def run_all(alg, loss=lambda trial: trial.config["x"], max_rounds=200, order=None, live=()):
    """Drive ``alg`` to its end, completing live trials (in ``order``: a random.Random) one at a time.

    ``live``: trials produced before, still to be completed. Returns (the new trials, the
    largest number of live trials seen).
    """
    trials, live, peak = [], list(live), len(live)
    for _ in range(max_rounds):
        new = [] if alg.is_finished() else alg.next_trials()
        trials += new
        live += new
        peak = max(peak, len(live))
        if not live:
            if alg.is_finished():
                return trials, peak
            continue
        trial = live.pop(order.randrange(len(live)) if order else 0)
        finish(alg, trial, loss(trial))
    raise AssertionError("the search did not end")


# -- Searcher ---------------------------------------------------------------------------


def test_searcher_base_interface():
    s = Searcher()
    assert s.metric is None and s.mode is None
    assert Searcher.FINISHED == "FINISHED"
    with pytest.raises(NotImplementedError):
        s.suggest("t1")
    assert s.set_search_properties("loss", "min", {"x": tune.uniform(0, 1)}) is False
    assert (s.metric, s.mode) == ("loss", "min")
    s.on_trial_result("t1", {"loss": 1})
    s.on_trial_complete("t1")
    s.on_trial_complete("t1", result={"loss": 1}, error=False)
    assert s.set_max_concurrency(3) is False


def test_set_search_properties_keeps_a_searcher_s_own_objective():
    s = Searcher(metric="acc", mode="max")
    s.set_search_properties("loss", "min", {})
    assert (s.metric, s.mode) == ("acc", "max")


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "minimize"}, "mode must be"),
    ({"metric": 3}, "metric must be"),
    ({"metric": ["a", "b"], "mode": "min"}, r"mode must be a list of as many"),
    ({"metric": ["a", "b"], "mode": ["min"]}, "must have the same length"),
])
def test_bad_metric_or_mode_is_a_tune_error(kwargs, match):
    with pytest.raises(tune.TuneError, match=match):
        Searcher(**kwargs)


def test_multi_objective_metric_and_mode_lists():
    s = Searcher(metric=["a", "b"], mode=["min", "max"])
    assert s.metric == ["a", "b"] and s.mode == ["min", "max"]


def test_subclass_that_forgets_super_init_still_works():
    class NoInit(Searcher):
        def __init__(self):
            self.n = 0

        def suggest(self, trial_id):
            self.n += 1
            return {"x": self.n} if self.n <= 2 else Searcher.FINISHED

    s = NoInit()
    assert s.metric is None
    alg = generator(s)
    trials, _ = run_all(alg)
    assert [t.config["x"] for t in trials] == [1, 2]
    assert (s.metric, s.mode) == ("loss", "min")


def test_save_and_restore_round_trip(tmp_path):
    s = ListSearcher([1, 2, 3], metric="loss", mode="min")
    s.suggest("a")
    s.on_trial_complete("a", result={"loss": 1})
    path = str(tmp_path / "searcher.pkl")
    s.save(path)
    fresh = ListSearcher([9], metric=None)
    fresh.restore(path)
    assert (fresh.xs, fresh.next_index, fresh.events, fresh.metric) == (s.xs, 1, s.events, "loss")
    assert fresh.suggest("b") == {"x": 2}  # continues where the saved one was


def test_save_uses_get_state_and_set_state(tmp_path):
    class Custom(Searcher):
        def __init__(self):
            super().__init__()
            self.seen = []
            self.handle = lambda: None  # not part of the state

        def suggest(self, trial_id):
            self.seen.append(trial_id)
            return {}

        def get_state(self):
            return {"seen": list(self.seen)}

        def set_state(self, state):
            self.seen = state["seen"] + ["restored"]

    s = Custom()
    s.suggest("t1")
    s.save(str(tmp_path / "s.pkl"))
    other = Custom()
    other.restore(str(tmp_path / "s.pkl"))
    assert other.seen == ["t1", "restored"]


def test_save_to_dir_and_restore_from_dir(tmp_path):
    s = ListSearcher([1, 2], metric="loss")
    s.suggest("a")
    s.save_to_dir(str(tmp_path), session_str="old")
    s.suggest("b")
    newer = os.path.join(str(tmp_path), Searcher.CKPT_FILE_TMPL.format("new"))
    s.save_to_dir(str(tmp_path), session_str="new")
    old = os.path.join(str(tmp_path), Searcher.CKPT_FILE_TMPL.format("old"))
    os.utime(old, (1, 1))  # the newest file wins, whatever the names
    assert os.path.exists(newer)
    fresh = ListSearcher([])
    fresh.restore_from_dir(str(tmp_path))
    assert fresh.next_index == 2 and fresh.suggested() == ["a", "b"]
    with pytest.raises(tune.TuneError, match="save_to_dir"):
        ListSearcher([]).restore_from_dir(str(tmp_path / "empty"))


# -- SearchGenerator --------------------------------------------------------------------


def test_as_search_algorithm_wraps_searchers_only():
    s = ListSearcher([1])
    wrapped = as_search_algorithm(s)
    assert isinstance(wrapped, SearchGenerator) and isinstance(wrapped, SearchAlgorithm)
    assert wrapped.searcher is s
    bvg = BasicVariantGenerator()
    assert as_search_algorithm(bvg) is bvg
    assert as_search_algorithm("variant_generator") == "variant_generator"


def test_search_generator_gets_objective_config_and_spec_then_suggestions_override_config():
    s = ListSearcher([1.5, 2.5])
    alg = generator(s, num_samples=2, config={"x": tune.uniform(0, 10), "y": {"qrandint": [0, 10, 5]}, "c": 7})
    assert s.props == []  # told when the experiment's first suggestion is asked for
    trials = alg.next_trials()
    (metric, mode, config, spec), = s.props
    assert (metric, mode) == ("loss", "min")
    assert isinstance(config["x"], Uniform) and isinstance(config["y"], QRandInt)  # JSON forms parsed
    assert config["c"] == 7 and spec["num_samples"] == 2
    assert [t.config["x"] for t in trials] == [1.5, 2.5]
    assert all(t.config["y"] in (0, 5, 10) and t.config["c"] == 7 for t in trials)
    assert [e[1] for e in s.events if e[0] == "suggest"] == [t.trial_id for t in trials]


def test_searcher_with_its_own_objective_keeps_it():
    s = ListSearcher([1], metric="acc", mode="max")
    alg = generator(s, num_samples=1)
    alg.next_trials()
    assert (alg.metric, alg.mode) == ("acc", "max")
    assert s.props[0][:2] == ("loss", "min")


def test_every_result_and_every_end_reach_the_searcher_with_the_suggested_ids():
    s = ListSearcher([0, 1, 2, 3])
    alg = generator(s, num_samples=4)
    trials = alg.next_trials()
    assert len(trials) == 4
    finish(alg, trials[0], 10.0)
    for i in (1, 2):
        alg.on_trial_result(trials[i].trial_id, {"loss": 5.0 + i})
    alg.on_trial_complete(trials[1].trial_id, early_terminated=True)  # a scheduler stopped it
    alg.on_trial_complete(trials[2].trial_id, error=True)
    alg.on_trial_complete(trials[3].trial_id, early_terminated=True)  # removed before any result
    alg.on_trial_complete(trials[3].trial_id, result={"loss": 0})  # a second end is not told again
    alg.on_trial_complete("someone-else", result={"loss": 0})  # not this searcher's trial
    ids = [t.trial_id for t in trials]
    assert s.completes() == [(ids[0], 10.0, False), (ids[1], 6.0, False), (ids[2], None, True),
                             (ids[3], None, False)]
    results = [e[1:] for e in s.events if e[0] == "result"]
    assert results == [(ids[0], 11.0), (ids[0], 10.0), (ids[1], 6.0), (ids[2], 7.0)]


def test_early_terminated_is_passed_to_searchers_that_take_it():
    class Knows(ListSearcher):
        def on_trial_complete(self, trial_id, result=None, error=False, early_terminated=False):
            self.events.append(("complete", trial_id, early_terminated))

    s = Knows([1, 2])
    alg = generator(s, num_samples=2)
    a, b = alg.next_trials()
    alg.on_trial_complete(a.trial_id, early_terminated=True)
    alg.on_trial_complete(b.trial_id, result={"loss": 1})
    assert s.completes() == [(a.trial_id, True), (b.trial_id, False)]


def test_finished_ends_the_search_before_num_samples():
    s = ListSearcher([1, 2, 3])
    alg = generator(s, num_samples=10)
    trials, _ = run_all(alg)
    assert [t.config["x"] for t in trials] == [1, 2, 3]
    assert alg.is_finished() and alg.next_trials() == []
    assert len(s.completes()) == 3


def test_none_means_not_now():
    class Gate(ListSearcher):
        open = False

        def suggest(self, trial_id):
            return super().suggest(trial_id) if self.open else None

    s = Gate([1, 2])
    alg = generator(s, num_samples=2)
    assert alg.next_trials() == [] and not alg.is_finished()
    s.open = True
    assert [t.config["x"] for t in alg.next_trials()] == [1, 2]
    assert alg.is_finished()


def test_suggest_must_return_a_dict_none_or_finished():
    class Bad(Searcher):
        def suggest(self, trial_id):
            return [1, 2]

    with pytest.raises(tune.TuneError, match="must return a dict, None or Searcher.FINISHED"):
        generator(Bad()).next_trials()


def test_search_generator_state_is_json_and_a_restored_run_continues():
    s = ListSearcher([1, 2, 3, 4, 5, 6])
    alg = generator(s, num_samples=6)
    alg.max_concurrent = 2
    first = alg.next_trials()
    finish(alg, first[0], 1.0)
    state = json.loads(json.dumps(alg.save_state()))

    restored_searcher = ListSearcher([1, 2, 3, 4, 5, 6])
    restored = generator(restored_searcher, num_samples=6)
    restored.max_concurrent = 2
    restored.restore_state(state)
    assert restored_searcher.next_index == 2  # the base searcher's own state came back
    rest, _ = run_all(restored)
    assert [t.config["x"] for t in rest] == [3, 4, 5, 6]
    ids = [t.trial_id for t in first + rest]
    assert len(set(ids)) == 6 and ids[0][:8] == ids[-1][:8]  # the same run token


def test_an_unpicklable_searcher_warns_and_restarts_on_resume():
    class Holds(ListSearcher):
        def __init__(self):
            super().__init__([1, 2])
            self.gen = (i for i in range(3))  # generators cannot be pickled

    alg = generator(Holds(), num_samples=2)
    alg.next_trials()
    with pytest.warns(UserWarning, match="could not be saved"):
        state = alg.save_state()
    assert json.dumps(state)


@pytest.mark.parametrize("wrapper", [ConcurrencyLimiter, Repeater, SearchGenerator])
def test_wrappers_need_a_searcher(wrapper):
    args = (2,) if wrapper is ConcurrencyLimiter else ()
    with pytest.raises(tune.TuneError, match="max_concurrent=N"):
        wrapper(BasicVariantGenerator(), *args)
    with pytest.raises(tune.TuneError, match="needs a tunecore.search.Searcher"):
        wrapper(object(), *args)


# -- ConcurrencyLimiter -----------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"max_concurrent": 0}, {"max_concurrent": True}, {"max_concurrent": 1.5},
                                    {"max_concurrent": 2, "batch": "yes"}])
def test_concurrency_limiter_rejects_bad_arguments(kwargs):
    with pytest.raises(tune.TuneError, match="ConcurrencyLimiter needs"):
        ConcurrencyLimiter(ListSearcher([1]), **kwargs)


def test_concurrency_limiter_direct_calls():
    inner = ListSearcher([1, 2, 3])
    limiter = ConcurrencyLimiter(inner, max_concurrent=2)
    assert limiter.set_search_properties("loss", "min", {}) is False
    assert limiter.suggest("a") == {"x": 1} and limiter.suggest("b") == {"x": 2}
    assert limiter.suggest("c") is None
    assert inner.suggested() == ["a", "b"]  # the searcher is not asked while the limit is reached
    limiter.on_trial_result("a", {"loss": 1})
    limiter.on_trial_complete("a", result={"loss": 1})
    limiter.on_trial_complete("unknown", result={"loss": 1})
    assert inner.completes() == [("a", 1, False)]
    assert limiter.suggest("c") == {"x": 3}
    assert limiter.suggest("d") is None and limiter.live_trials == {"b", "c"}
    limiter.on_trial_complete("b")
    assert limiter.suggest("d") == Searcher.FINISHED and limiter.live_trials == {"c"}
    with pytest.raises(tune.TuneError, match="already suggested"):
        limiter.suggest("c")
    assert (limiter.metric, limiter.mode) == ("loss", "min")


@pytest.mark.parametrize("max_concurrent", [1, 2, 3])
def test_concurrency_limiter_keeps_at_most_max_concurrent_trials_live(max_concurrent):
    inner = ListSearcher(list(range(9)))
    alg = generator(ConcurrencyLimiter(inner, max_concurrent=max_concurrent), num_samples=9)
    trials, peak = run_all(alg, order=random.Random(max_concurrent))
    assert len(trials) == 9 and peak == max_concurrent
    assert sorted(c[0] for c in inner.completes()) == sorted(t.trial_id for t in trials)


def test_concurrency_limiter_batch_tells_the_searcher_when_the_batch_is_over():
    inner = ListSearcher(list(range(5)))
    alg = generator(ConcurrencyLimiter(inner, max_concurrent=2, batch=True), num_samples=5)
    a, b = alg.next_trials()
    finish(alg, a, 1.0)
    assert inner.completes() == [] and alg.next_trials() == []  # b still runs: no new batch yet
    alg.on_trial_complete(b.trial_id, error=True)
    assert inner.completes() == [(a.trial_id, 1.0, False), (b.trial_id, None, True)]
    c, d = alg.next_trials()
    assert [c.config["x"], d.config["x"]] == [2, 3]
    trials, peak = run_all(alg, live=[c, d])
    assert [t.config["x"] for t in trials] == [4] and peak == 2
    assert [x[0] for x in inner.completes()] == [a.trial_id, b.trial_id, c.trial_id, d.trial_id, trials[0].trial_id]


def test_a_searcher_that_limits_itself_is_left_to_do_it():
    class SelfLimited(ListSearcher):
        def set_max_concurrency(self, max_concurrent):
            self.limit = max_concurrent
            return True

    inner = SelfLimited([1, 2, 3])
    limiter = ConcurrencyLimiter(inner, max_concurrent=1)
    limiter.set_search_properties("loss", "min", {})
    assert inner.limit == 1
    assert limiter.suggest("a") == {"x": 1} and limiter.suggest("b") == {"x": 2}
    limiter.on_trial_complete("a", result={"loss": 0})
    assert inner.completes() == [("a", 0, False)]


def test_concurrency_limiter_state_round_trip_through_search_generator():
    inner = ListSearcher(list(range(4)))
    alg = generator(ConcurrencyLimiter(inner, max_concurrent=2), num_samples=4)
    a, b = alg.next_trials()
    finish(alg, a, 0.0)
    state = json.loads(json.dumps(alg.save_state()))
    inner2 = ListSearcher(list(range(4)))
    limiter2 = ConcurrencyLimiter(inner2, max_concurrent=2)
    alg2 = generator(limiter2, num_samples=4)
    alg2.restore_state(state)
    assert limiter2.live_trials == {b.trial_id} and inner2.next_index == 2
    new = alg2.next_trials()
    assert [t.config["x"] for t in new] == [2]  # b is still live: one free slot
    assert alg2.next_trials() == []
    alg2.on_trial_complete(b.trial_id, result={"loss": 5})
    assert (b.trial_id, 5, False) in inner2.completes()


# -- Repeater ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"repeat": 0}, {"repeat": 2.0}, {"repeat": True}, {"set_index": 1}])
def test_repeater_rejects_bad_arguments(kwargs):
    with pytest.raises(tune.TuneError, match="Repeater needs"):
        Repeater(ListSearcher([1]), **kwargs)


def test_repeater_runs_each_suggestion_repeat_times_and_tells_the_mean():
    inner = ListSearcher([10, 20], metric="loss", mode="min")
    rep = Repeater(inner, repeat=3)
    alg = generator(rep, num_samples=6)
    trials, _ = run_all(alg, loss=lambda t: t.config["x"] + t.config[TRIAL_INDEX])
    assert [(t.config["x"], t.config[TRIAL_INDEX]) for t in trials] == [(10, 0), (10, 1), (10, 2),
                                                                        (20, 0), (20, 1), (20, 2)]
    assert inner.suggested() == [trials[0].trial_id, trials[3].trial_id]  # asked once per group
    assert inner.completes() == [(trials[0].trial_id, 11.0, False), (trials[3].trial_id, 21.0, False)]
    assert [e for e in inner.events if e[0] == "result"] == []  # intermediate results stay in the Repeater


def test_repeater_without_index_and_with_failures():
    inner = ListSearcher([1, 2, 3], metric="loss")
    rep = Repeater(inner, repeat=2, set_index=False)
    for tid in "abcdef":
        config = rep.suggest(tid)
        assert TRIAL_INDEX not in config
    rep.on_trial_complete("a", result={"loss": 3.0})
    rep.on_trial_complete("b", error=True)  # failed: left out of the mean
    rep.on_trial_complete("c", error=True)
    rep.on_trial_complete("d", result={"other": 1})  # no metric: NaN, left out
    rep.on_trial_complete("e", error=True)
    rep.on_trial_complete("f", error=True)
    rep.on_trial_complete("zzz", result={"loss": 0})  # unknown: ignored
    first, second, third = inner.completes()
    assert first == ("a", 3.0, False)
    assert second[0] == "c" and math.isnan(second[1]) and second[2] is False  # no number, not all failed
    assert third == ("e", None, True)  # every trial of the group failed
    assert inner.suggested() == ["a", "c", "e"]


def test_repeater_mean_ignores_nan_but_is_nan_without_numbers():
    class Keeps(ListSearcher):
        def on_trial_complete(self, trial_id, result=None, error=False):
            self.events.append(("complete", trial_id, result, error))

    inner = Keeps([1], metric="loss")
    rep = Repeater(inner, repeat=2)
    rep.suggest("a"), rep.suggest("b")
    rep.on_trial_complete("a", result={"loss": float("nan")})
    rep.on_trial_complete("b", result={"nope": 1})
    ((tid, result, error),) = inner.completes()
    assert tid == "a" and not error and math.isnan(result["loss"])


def test_repeater_takes_the_experiment_metric_when_its_searcher_has_none():
    class Forgetful(ListSearcher):
        def set_search_properties(self, metric, mode, config, **spec):
            return True  # keeps neither metric nor mode

    inner = Forgetful([5])
    rep = Repeater(inner, repeat=2)
    alg = generator(rep, num_samples=2, metric="loss", mode="max")
    trials, _ = run_all(alg, loss=lambda t: 2.0 * (1 + t.config[TRIAL_INDEX]))
    assert inner.metric is None and (rep.metric, rep.mode) == ("loss", "max")
    assert inner.completes() == [(trials[0].trial_id, 3.0, False)]


def test_repeater_without_any_metric_is_a_clear_error():
    rep = Repeater(ListSearcher([1]), repeat=2)
    with pytest.raises(tune.TuneError, match="Repeater averages the metric"):
        rep.suggest("a")


def test_repeater_passes_finished_and_not_now_through():
    rep = Repeater(ListSearcher([1], metric="loss"), repeat=2)
    assert rep.suggest("a")[TRIAL_INDEX] == 0 and rep.suggest("b")[TRIAL_INDEX] == 1
    assert rep.suggest("c") == Searcher.FINISHED


def test_repeater_warns_when_num_samples_is_not_a_multiple():
    alg = generator(Repeater(ListSearcher([1, 2], metric="loss"), repeat=3), num_samples=4)
    with pytest.warns(UserWarning, match="not a multiple of Repeater"):
        alg.next_trials()


def test_repeater_get_state_is_a_copy():
    rep = Repeater(ListSearcher([1], metric="loss"), repeat=2)
    rep.suggest("a")
    state = rep.get_state()
    rep.suggest("b")
    rep.on_trial_complete("a", result={"loss": 1})
    assert state["_groups"][0].trial_ids == ["a"] and state["_groups"][0].scores == {}


def test_limiter_over_repeater_limits_trials_not_suggestions():
    inner = ListSearcher([1, 2, 3], metric="loss")
    alg = generator(ConcurrencyLimiter(Repeater(inner, repeat=2), max_concurrent=2), num_samples=6)
    trials, peak = run_all(alg, order=random.Random(0))
    assert len(trials) == 6 and peak == 2 and len(inner.completes()) == 3


# -- the conformance suite ----------------------------------------------------------------


def _contract_experiment():
    return {"contract": {"run": TRAINABLE, "num_samples": 4, "config": {"quality": tune.uniform(0, 1)}}}


class TestSearchGeneratorContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            class Quality(ListSearcher):
                def suggest(self, trial_id):
                    out = super().suggest(trial_id)
                    return {"quality": out["x"]} if isinstance(out, dict) else out

            alg = SearchGenerator(Quality([0.1, 0.2, 0.3], metric="episode_reward_mean", mode="max"))
            alg.add_configurations(_contract_experiment())
            return alg
        return make


class TestConcurrencyLimiterContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            alg = SearchGenerator(ConcurrencyLimiter(ListSearcher([1, 2, 3, 4, 5], metric="episode_reward_mean",
                                                                  mode="max"), max_concurrent=2))
            alg.add_configurations(_contract_experiment())
            return alg
        return make


class TestRepeaterContract(SearcherContract):
    @pytest.fixture
    def make_searcher(self):
        def make():
            alg = SearchGenerator(Repeater(ListSearcher([1, 2], metric="episode_reward_mean", mode="max"),
                                           repeat=2))
            alg.add_configurations(_contract_experiment())
            return alg
        return make


def test_domains_reach_a_searcher_as_domain_objects():
    s = ListSearcher([1])
    generator(s, num_samples=1, config={"x": tune.qloguniform(1e-3, 1, 1e-3), "n": {"lograndint": [1, 100]}}
              ).next_trials()
    config = s.props[0][2]
    assert all(isinstance(v, Domain) for v in config.values())
