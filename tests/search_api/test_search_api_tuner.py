"""``tunecore.search`` on real Ray through the Tuner: a custom Searcher, ConcurrencyLimiter,
Repeater and BasicVariantGenerator(points_to_evaluate=...). Each run takes a few seconds."""

from __future__ import annotations

import time

import tunecore as tune
from tunecore.search import BasicVariantGenerator, ConcurrencyLimiter, Repeater, Searcher
from tunecore.search.sample import Domain


class ListSearcher(Searcher):
    """Suggests ``{"x": x}`` for each x of a list, then FINISHED; records every call."""

    def __init__(self, xs, metric=None, mode=None):
        super().__init__(metric=metric, mode=mode)
        self.xs = list(xs)
        self.next_index = 0
        self.events: list[tuple] = []
        self.props: list[tuple] = []

    def set_search_properties(self, metric, mode, config, **spec):
        self.props.append((metric, mode, dict(config), dict(spec)))
        return super().set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id):
        self.events.append(("suggest", trial_id))
        if self.next_index >= len(self.xs):
            return Searcher.FINISHED
        self.next_index += 1
        return {"x": self.xs[self.next_index - 1]}

    def on_trial_result(self, trial_id, result):
        self.events.append(("result", trial_id, result["loss"]))

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.events.append(("complete", trial_id, None if result is None else result.get("loss"), error))

    def of_kind(self, kind):
        return [e[1:] for e in self.events if e[0] == kind]


def timed(config):
    start = time.time()
    for i in range(3):
        time.sleep(0.1)
        tune.report({"loss": (config["x"] - 2) ** 2 + config.get("__trial_index__", 0) + (2 - i),
                     "start": start, "now": time.time()})


def fit(tmp_path, name, search_alg, num_samples, param_space=None, **tune_config):
    return tune.Tuner(
        timed, param_space=param_space if param_space is not None else {"x": tune.uniform(0, 5)},
        tune_config=tune.TuneConfig(metric="loss", mode="min", search_alg=search_alg, num_samples=num_samples,
                                    **tune_config),
        run_config=tune.RunConfig(name=name, storage_path=str(tmp_path), verbose=0)).fit()


def spans(grid):
    """(start, end) of every trial, by start."""
    return sorted((r.metrics_dataframe["start"].iloc[0], r.metrics_dataframe["now"].iloc[-1]) for r in grid)


def overlaps(grid):
    s = spans(grid)
    return any(end > next_start for (_, end), (next_start, _) in zip(s, s[1:]))


def test_a_custom_searcher_is_told_everything_and_saves(ray_session, tmp_path):
    searcher = ListSearcher([0.0, 1.0, 2.0, 3.0])
    grid = fit(tmp_path, "custom", searcher, num_samples=6,
               param_space={"x": tune.uniform(0, 5), "n": tune.qrandint(2, 10, 4), "k": "const"})
    assert len(grid) == 4 and grid.num_errors == 0  # FINISHED after 4 of the 6 samples
    assert sorted(r.config["x"] for r in grid) == [0.0, 1.0, 2.0, 3.0]
    assert all(r.config["n"] in (4, 8) and r.config["k"] == "const" for r in grid)  # the rest is resolved
    assert grid.get_best_result().config["x"] == 2.0

    (metric, mode, config, spec), = searcher.props  # the objective from TuneConfig
    assert (metric, mode) == ("loss", "min") and spec["num_samples"] == 6
    assert isinstance(config["x"], Domain) and config["k"] == "const"
    assert (searcher.metric, searcher.mode) == ("loss", "min")

    by_id = {r.trial_id: r for r in grid}
    suggested = [e[0] for e in searcher.of_kind("suggest")]
    assert suggested[:4] == sorted(by_id) and len(suggested) == 5  # the fifth call got FINISHED
    for trial_id, result in by_id.items():
        losses = [loss for tid, loss in searcher.of_kind("result") if tid == trial_id]
        assert losses == list(result.metrics_dataframe["loss"]) and len(losses) == 3
        assert [c for c in searcher.of_kind("complete") if c[0] == trial_id] == \
            [(trial_id, result.metrics["loss"], False)]

    path = str(tmp_path / "searcher.pkl")
    searcher.save(path)
    restored = ListSearcher([])
    restored.restore(path)
    assert restored.events == searcher.events and restored.next_index == 4 and restored.xs == searcher.xs
    assert restored.suggest("next") == Searcher.FINISHED


def test_concurrency_limiter_one_never_runs_two_trials_at_once(ray_session, tmp_path):
    limited = ConcurrencyLimiter(ListSearcher([0.0, 1.0, 2.0, 3.0]), max_concurrent=1)
    grid = fit(tmp_path, "limited", limited, num_samples=4)
    assert len(grid) == 4 and grid.num_errors == 0
    assert not overlaps(grid)
    assert len(limited.searcher.of_kind("complete")) == 4
    # the control: the same searcher unlimited runs trials side by side on 4 CPUs
    free = fit(tmp_path, "free", ListSearcher([0.0, 1.0, 2.0, 3.0]), num_samples=4)
    assert overlaps(free)


def test_repeater_gives_the_searcher_the_mean_of_the_repeats(ray_session, tmp_path):
    inner = ListSearcher([1.0, 4.0])
    grid = fit(tmp_path, "repeat", Repeater(inner, repeat=3), num_samples=6)
    assert len(grid) == 6
    assert sorted((r.config["x"], r.config["__trial_index__"]) for r in grid) == \
        [(1.0, 0), (1.0, 1), (1.0, 2), (4.0, 0), (4.0, 1), (4.0, 2)]
    # the last loss of a trial is (x - 2) ** 2 + index: the mean over indices 0, 1, 2 adds 1
    completes = sorted(inner.of_kind("complete"), key=lambda c: c[1])
    assert [c[1:] for c in completes] == [(2.0, False), (5.0, False)]
    first_of_group = {min(r.trial_id for r in grid if r.config["x"] == x) for x in (1.0, 4.0)}
    assert {c[0] for c in completes} == first_of_group
    assert inner.of_kind("result") == []  # intermediate results stay in the Repeater


def test_basic_variant_points_to_evaluate_run_first(ray_session, tmp_path):
    points = [{"x": 1.25, "opt": {"lr": 0.5}}, {"x": 3.75}]
    gen = BasicVariantGenerator(points_to_evaluate=points, max_concurrent=1, random_state=0)
    grid = fit(tmp_path, "points", gen, num_samples=4,
               param_space={"x": tune.uniform(0, 5), "opt": {"lr": tune.loguniform(1e-3, 1), "b": 2}})
    assert len(grid) == 4 and grid.num_errors == 0
    by_start = sorted(grid, key=lambda r: r.metrics_dataframe["start"].iloc[0])
    assert by_start[0].config == {"x": 1.25, "opt": {"lr": 0.5, "b": 2}}
    assert by_start[1].config["x"] == 3.75 and 1e-3 <= by_start[1].config["opt"]["lr"] <= 1
    assert all(0 <= r.config["x"] < 5 and r.config["x"] not in (1.25, 3.75) for r in by_start[2:])
    assert not overlaps(grid)  # max_concurrent=1


class ThreeXs(ListSearcher):
    def __init__(self):
        super().__init__([0.5, 1.5, 2.5])


def test_a_searcher_class_is_built_by_the_tuner(ray_session, tmp_path):
    grid = fit(tmp_path, "cls", ThreeXs, num_samples=5)
    assert sorted(r.config["x"] for r in grid) == [0.5, 1.5, 2.5] and grid.num_errors == 0
