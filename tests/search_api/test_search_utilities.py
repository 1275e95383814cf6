"""tunecore.search's Ray Tune 2.x utilities: Searcher, ConcurrencyLimiter, Repeater,
BasicVariantGenerator(points_to_evaluate), and the q/log domains."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tunecore as tune
from tunecore.errors import TuneError
from tunecore.search import BasicVariantGenerator, ConcurrencyLimiter, Repeater, Searcher


class GridOverX(Searcher):
    """A custom searcher: x = 0, 1, 2, ... up to ``n``; records every call it gets."""

    def __init__(self, n: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n, self.next_x = n, 0
        self.calls: list[tuple] = []
        self.told: dict[str, float] = {}

    def suggest(self, trial_id):
        if self.next_x >= self.n:
            return Searcher.FINISHED
        self.calls.append(("suggest", trial_id))
        self.next_x += 1
        return {"x": self.next_x - 1}

    def on_trial_result(self, trial_id, result):
        self.calls.append(("result", trial_id))

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.calls.append(("complete", trial_id))
        if result is not None:
            self.told[trial_id] = result[self.metric]

    def get_state(self):
        return {"next_x": self.next_x, "told": self.told}

    def set_state(self, state):
        self.next_x, self.told = state["next_x"], state["told"]


def trainable(config):
    start = time.time()
    for i in range(2):
        tune.report({"loss": (config["x"] - 2) ** 2 + config.get("noise", 0.0) * config.get("__trial_index__", 0),
                     "start": start, "now": time.time()})
        time.sleep(0.05)


def _fit(tmp_path, search, space=None, n=1, name="s", **tc):
    return tune.Tuner(trainable, param_space=space or {},
                      tune_config=tune.TuneConfig(metric="loss", mode="min", search_alg=search, num_samples=n, **tc),
                      run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0)).fit()


def test_a_custom_searcher_runs_through_the_tuner_and_hears_of_every_trial(ray_session, tmp_path):
    searcher = GridOverX(4)
    grid = _fit(tmp_path, searcher, n=10)  # the searcher finishes after 4
    assert sorted(r.config["x"] for r in grid) == [0, 1, 2, 3]
    assert (searcher.metric, searcher.mode) == ("loss", "min")  # from TuneConfig, via set_search_properties
    ids = [tid for what, tid in searcher.calls if what == "suggest"]
    for tid in ids:
        kinds = [what for what, t in searcher.calls if t == tid]
        assert kinds[0] == "suggest" and kinds.count("result") == 2 and kinds[-1] == "complete"
    assert sorted(searcher.told.values()) == [0.0, 1.0, 1.0, 4.0]
    assert grid.get_best_result().config["x"] == 2


def test_concurrency_limiter_of_one_never_runs_two_at_once(ray_session, tmp_path):
    grid = _fit(tmp_path, ConcurrencyLimiter(GridOverX(4), max_concurrent=1), n=4)
    spans = sorted((r.metrics_dataframe["start"].iloc[0], r.metrics_dataframe["now"].iloc[-1]) for r in grid)
    assert len(spans) == 4
    assert all(end <= nxt for (_, end), (nxt, _) in zip(spans, spans[1:]))


def test_repeater_tells_the_inner_searcher_the_mean_of_the_repeats(ray_session, tmp_path):
    inner = GridOverX(2)
    grid = _fit(tmp_path, Repeater(inner, repeat=3), space={"noise": 1.0}, n=6)
    assert len(grid) == 6
    assert sorted(r.config["__trial_index__"] for r in grid) == [0, 0, 1, 1, 2, 2]
    # loss = (x-2)^2 + index: the mean over indices 0, 1, 2 adds 1
    assert sorted(inner.told.values()) == [pytest.approx(2.0), pytest.approx(5.0)]


def test_points_to_evaluate_run_first_then_the_space(ray_session, tmp_path):
    points = [{"x": 2}, {"x": 2.5, "extra": {"k": 1}}]
    gen = BasicVariantGenerator(points_to_evaluate=points, random_state=0)
    grid = _fit(tmp_path, gen, space={"x": tune.uniform(-5, 5), "extra": {"k": 0, "j": 7}}, n=4)
    configs = [r.config for r in sorted(grid, key=lambda r: r.metrics["trial_id"])]
    assert [c["x"] for c in configs[:2]] == [2, 2.5]
    assert configs[1]["extra"] == {"k": 1, "j": 7}  # a partial point merges into the config
    assert all(-5 <= c["x"] <= 5 and c["extra"] == {"k": 0, "j": 7} for c in configs[2:])
    assert len(configs) == 4


def test_more_points_than_samples_run_every_point():
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": i} for i in range(3)])
    gen.add_configurations({"e": {"run": trainable, "config": {"x": tune.uniform(0, 1)}, "num_samples": 1}})
    trials = gen.next_trials()
    assert [t.config["x"] for t in trials] == [0, 1, 2]


def test_max_concurrent_holds_back_trials_until_one_completes():
    gen = BasicVariantGenerator(max_concurrent=2)
    gen.add_configurations({"e": {"run": trainable, "config": {"x": tune.grid_search([1, 2, 3, 4, 5])}}})
    first = gen.next_trials()
    assert len(first) == 2 and not gen.is_finished() and gen.next_trials() == []
    gen.on_trial_complete(first[0].trial_id)
    assert [t.config["x"] for t in gen.next_trials()] == [3]
    for t in first[1:]:
        gen.on_trial_complete(t.trial_id)
    rest = gen.next_trials()
    assert [t.config["x"] for t in rest] == [4]


@pytest.mark.parametrize("kwargs, match", [
    ({"points_to_evaluate": 3}, "first argument is points_to_evaluate"),
    ({"points_to_evaluate": [1]}, "list of config dicts"),
    ({"max_concurrent": -1}, "max_concurrent"),
    ({"seed": 1, "random_state": 2}, "give one"),
])
def test_bad_basic_variant_arguments(kwargs, match):
    with pytest.raises(TuneError, match=match):
        BasicVariantGenerator(**kwargs)


def test_searcher_save_and_restore_round_trip(tmp_path):
    a = GridOverX(5, metric="loss", mode="min")
    for i in range(3):
        a.suggest(f"t{i}")
        a.on_trial_complete(f"t{i}", {"loss": float(i)})
    path = str(tmp_path / "searcher.pkl")
    a.save(path)
    b = GridOverX(5, metric="loss", mode="min")
    b.restore(path)
    assert b.suggest("t3") == {"x": 3} and b.told == a.told
    wrapped = ConcurrencyLimiter(GridOverX(5), max_concurrent=2)
    wrapped.suggest("u0")
    wrapped.save(str(tmp_path / "limited.pkl"))
    again = ConcurrencyLimiter(GridOverX(5), max_concurrent=2)
    again.restore(str(tmp_path / "limited.pkl"))
    assert again.suggest("u1") == {"x": 1}


@settings(max_examples=60, deadline=None)
@given(low=st.integers(1, 500), span=st.integers(1, 5000), q=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_integer_domains_stay_in_bounds_on_their_multiples(low, span, q, seed):
    high = low + span
    rng = np.random.default_rng(seed)
    try:
        domains = [tune.qrandint(low, high, q), tune.qlograndint(low, high, q)]
    except TuneError as exc:  # no multiple of q inside [low, high]: refused, saying so
        assert "multiple" in str(exc)
        return
    for domain in domains:
        for _ in range(5):
            value = domain.sample(rng)
            assert type(value) is int and value % q == 0 and low <= value <= high
    log = tune.lograndint(low, high)
    for _ in range(5):
        value = log.sample(rng)
        assert type(value) is int and low <= value < high


@settings(max_examples=60, deadline=None)
@given(low=st.floats(1e-3, 10), factor=st.floats(1.5, 1000), q=st.sampled_from([0.001, 0.01, 0.1, 0.5]),
       seed=st.integers(0, 2**16))
def test_quantized_float_domains_give_multiples_of_q(low, factor, q, seed):
    high = low * factor
    rng = np.random.default_rng(seed)
    try:
        domain = tune.qloguniform(low, high, q)
    except TuneError as exc:
        assert "multiple" in str(exc)
        return
    normal = tune.qrandn(3.0, 2.0, q)
    for _ in range(5):
        value = domain.sample(rng)
        assert type(value) is float and low - 1e-9 <= value <= high + 1e-9
        assert math.isclose(value / q, round(value / q), abs_tol=1e-6)
        drawn = normal.sample(rng)
        assert type(drawn) is float and math.isclose(drawn / q, round(drawn / q), abs_tol=1e-6)


@pytest.mark.parametrize("make", [lambda: tune.qrandint(5, 1), lambda: tune.lograndint(0, 10),
                                  lambda: tune.qloguniform(-1, 10, 0.1), lambda: tune.qrandn(0, 1, 0),
                                  lambda: tune.qlograndint(1, 100, 0)])
def test_bad_domain_bounds_are_refused(make):
    with pytest.raises(TuneError):
        make()
