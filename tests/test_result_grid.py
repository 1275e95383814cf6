"""``ResultGrid``/``Result`` (Ray Tune 2.x's): real experiments on real Ray read back, checked against
what the trainables reported; the scope arithmetic as hypothesis properties (no Ray)."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tunecore as tune
from tunecore import Experiment, run_experiments
from tunecore.errors import TrialError, TuneError
from tunecore.execution.trial import TrialStatus
from tunecore.records import TrialRecord
from tunecore.result_grid import (
    SCOPES,
    NoResultError,
    Result,
    ResultGrid,
    ResultGridError,
    metric_values,
    scope_score,
)
from tunecore.testing import metric_values as metric_value_strategy

NAN, INF = float("nan"), float("inf")

#: what each function trial reports as "score", one value an iteration; chosen so that every
#: scope of get_best_result(mode="max") picks another trial
SEQUENCES = {
    "steady": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 2.0],
    "spiky": [0.5, 20.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 3.0],
    "with_nan": [6.0, 6.0, NAN, 6.0, 6.0, 6.0, 6.0, 10.0, 10.0, 10.0, 10.0, 2.5],
    "with_inf": [1.0, 1.0, 1.0, INF, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    "late": [-100.0, -100.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 1.0],
    "fails": [4.0, 1.0],  # then raises
}
NAMES = list(SEQUENCES)
UNICODE = "précision_μ"
NUMPY_KINDS = (np.float64, np.float32, float)  # every value above is exact in each of them
LOSSES = {"down_up": [3.0, 1.0, 2.0, 4.0], "flat": [0.5, 0.7, 0.6, 0.9]}


def same(a, b):
    """Equal, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def read_state(checkpoint):
    with checkpoint.as_directory() as folder, open(os.path.join(folder, "state.json")) as f:
        return json.load(f)


# -- the trainables ---------------------------------------------------------------------------
def reports_a_sequence(config):
    name = config["name"]
    for i, score in enumerate(SEQUENCES[name], start=1):
        kind = NUMPY_KINDS[i % len(NUMPY_KINDS)]
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "state.json"), "w") as f:
                json.dump({"name": name, "step": i}, f)
            tune.report({"score": kind(score), "eval": {"loss": -score, "name": name}, UNICODE: np.float32(score),
                         "steps": np.int64(i), "sparse": None if i % 2 else i, "label": f"étape {i}"},
                        checkpoint=tune.Checkpoint.from_directory(folder))
    if name == "fails":
        raise RuntimeError("planned failure after two reports")


class ReportsLosses(tune.Trainable):
    def setup(self, config):
        self.i = 0

    def step(self):
        self.i += 1
        losses = LOSSES[self.config["name"]]
        return {"loss": losses[self.i - 1], "done": self.i >= len(losses)}

    def save_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "state.json"), "w") as f:
            json.dump({"name": self.config["name"], "step": self.i}, f)

    def load_checkpoint(self, checkpoint_dir):
        with open(os.path.join(checkpoint_dir, "state.json")) as f:
            self.i = json.load(f)["step"]


@pytest.fixture(scope="module")
def runs(ray_session, tmp_path_factory):
    """Both experiments, run once for the module: ``{"fn": (trials, folder), "cls": (trials, folder)}``."""
    local_dir = str(tmp_path_factory.mktemp("result_grid"))
    fn = run_experiments(Experiment(
        "fn", reports_a_sequence, local_dir=local_dir, max_failures=0, config={"name": tune.grid_search(NAMES)},
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="score",
                                                checkpoint_score_order="max")),
        verbose=0, raise_on_failed_trial=False)
    cls = run_experiments(Experiment(
        "cls", ReportsLosses, local_dir=local_dir, checkpoint_freq=1, keep_checkpoints_num=2,
        checkpoint_score_attr="min-loss", config={"name": tune.grid_search(list(LOSSES))}), verbose=0)
    return {"fn": (fn, os.path.join(local_dir, "fn")), "cls": (cls, os.path.join(local_dir, "cls"))}


@pytest.fixture(scope="module")
def grid(runs):
    return ResultGrid.from_path(runs["fn"][1])


def test_the_experiments_ran_as_planned(runs):
    trials, _ = runs["fn"]
    assert [t.config["name"] for t in trials] == NAMES
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 5 + [TrialStatus.ERROR]
    assert all(t.status == TrialStatus.TERMINATED for t in runs["cls"][0])


# -- a list of results ------------------------------------------------------------------------
def test_one_result_a_trial_in_trial_order(runs, grid):
    trials, folder = runs["fn"]
    assert len(grid) == len(trials)
    assert [r.trial_id for r in grid] == [t.trial_id for t in trials]
    assert [grid[i].trial_id for i in range(len(grid))] == [t.trial_id for t in trials]
    assert grid[-1].trial_id == trials[-1].trial_id
    assert [r.trial_id for r in grid[1:3]] == [t.trial_id for t in trials[1:3]]
    assert [r.experiment_tag for r in grid] == [t.experiment_tag for t in trials]
    assert grid.experiment_path == folder
    assert grid.num_terminated == 5 and grid.num_errors == 1
    with pytest.raises(IndexError):
        grid[len(trials)]


def test_metrics_config_and_path_are_the_last_result_of_each_trial(runs, grid):
    trials, _ = runs["fn"]
    for result, trial in zip(grid, trials):
        sequence = SEQUENCES[trial.config["name"]]
        n = len(sequence)
        assert result.config == trial.config
        assert result.path == trial.logdir and str(result.log_dir) == trial.logdir
        assert "config" not in result.metrics
        assert same(result.metrics["score"], sequence[-1])
        assert result.metrics["eval"] == {"loss": -sequence[-1], "name": trial.config["name"]}
        assert result.metrics[UNICODE] == sequence[-1]
        assert result.metrics["steps"] == n and result.metrics["training_iteration"] == n
        assert result.metrics["sparse"] == (None if n % 2 else n)
        assert result.metrics["label"] == f"étape {n}"
        assert result.metrics["trial_id"] == trial.trial_id


def test_the_failed_trial_has_its_error_the_others_none(grid):
    *ok, failed = list(grid)
    assert all(r.error is None for r in ok)
    assert isinstance(failed.error, TrialError) and isinstance(failed.error, TuneError)
    assert "planned failure after two reports" in str(failed.error)
    assert "RuntimeError" in str(failed.error)
    assert grid.errors == [failed.error]


# -- get_best_result --------------------------------------------------------------------------
def expected_score(values, scope, mode):
    """The score of one trial, computed here from the reported sequence, as the docs say."""
    if scope == "last":
        return values[-1]
    if scope == "all":
        numbers = [v for v in values if not math.isnan(v)]
        return (max if mode == "max" else min)(numbers)
    window = {"avg": values, "last-5-avg": values[-5:], "last-10-avg": values[-10:]}[scope]
    return sum(window) / len(window)


def expected_best(sequences, scope, mode, filter_nan_and_inf=True):
    """The index of the best trial, first of equals."""
    best, best_score = None, None
    for i, values in enumerate(sequences):
        score = expected_score(values, scope, mode)
        if math.isnan(score) or (filter_nan_and_inf and math.isinf(score)):
            continue
        if best is None or (score > best_score if mode == "max" else score < best_score):
            best, best_score = i, score
    return best


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("scope", SCOPES)
def test_get_best_result_by_each_scope(grid, scope, mode):
    sequences = [SEQUENCES[r.config["name"]] for r in grid]
    opposite = {"max": "min", "min": "max"}[mode]
    # eval/loss is -score: its best by mode is the best score by the opposite mode
    for metric, score_mode in (("score", mode), (UNICODE, mode), ("eval/loss", opposite)):
        best = expected_best(sequences, scope, score_mode)
        assert grid.get_best_result(metric, mode, scope) is grid[best], (metric, scope)
    assert grid.get_best_result("score", mode, scope, filter_nan_and_inf=False) is \
        grid[expected_best(sequences, scope, mode, filter_nan_and_inf=False)]


def test_the_scopes_pick_different_trials(grid):
    winners = {scope: grid.get_best_result("score", "max", scope).config["name"] for scope in SCOPES}
    assert winners == {"last": "spiky", "avg": "steady", "last-5-avg": "with_nan", "last-10-avg": "late",
                       "all": "spiky"}
    # an infinite score is a number once filter_nan_and_inf is off
    assert grid.get_best_result("score", "max", "avg", filter_nan_and_inf=False).config["name"] == "with_inf"
    assert grid.get_best_result("score", "min", "all").config["name"] == "late"


def test_the_tune_config_metric_and_mode_are_the_defaults(runs, grid):
    defaults = ResultGrid.from_path(runs["fn"][1], metric="score", mode="max")
    assert defaults.get_best_result().trial_id == grid.get_best_result("score", "max").trial_id
    assert defaults.get_best_result(mode="min").trial_id == grid.get_best_result("score", "min").trial_id
    assert defaults.get_best_result("eval/loss").trial_id == grid.get_best_result("eval/loss", "max").trial_id


def test_get_best_result_errors_say_what_is_missing(grid):
    with pytest.raises(ResultGridError, match="No metric is provided") as info:
        grid.get_best_result()
    assert isinstance(info.value, ValueError)
    with pytest.raises(ResultGridError, match="No mode is provided"):
        grid.get_best_result("score")
    with pytest.raises(ResultGridError, match="scope must be one of"):
        grid.get_best_result("score", "max", scope="last-3-avg")
    with pytest.raises(ResultGridError, match="mode must be one of"):
        grid.get_best_result("score", "maximum")
    with pytest.raises(NoResultError, match="No best trial found for the given metric: nope") as missing:
        grid.get_best_result("nope", "max")
    assert isinstance(missing.value, RuntimeError) and "score" in str(missing.value)  # names what was reported
    with pytest.raises(NoResultError, match="filter_nan_and_inf"):
        grid.get_best_result("label", "max")  # text is never a score
    with pytest.raises(ResultGridError, match="mode must be 'min' or 'max'"):
        ResultGrid([], mode="best")


# -- checkpoints ------------------------------------------------------------------------------
def test_checkpoint_is_the_latest_and_reads_back(grid):
    for result in grid:
        state = read_state(result.checkpoint)
        assert state == {"name": result.config["name"], "step": len(SEQUENCES[result.config["name"]])}
        assert isinstance(result.checkpoint, tune.Checkpoint)
        assert os.path.dirname(result.checkpoint.path) == result.path


def expected_kept(scores, num_to_keep, order):
    """Indices of the best ``num_to_keep`` by score, worst first (NaN: unscored, below every number)."""
    sign = 1 if order == "max" else -1
    ranked = sorted(range(len(scores)), key=lambda i: (not math.isnan(scores[i]),
                                                       0.0 if math.isnan(scores[i]) else sign * scores[i], i))
    return ranked[-num_to_keep:]


def test_best_checkpoints_are_the_ones_retention_kept_with_their_metrics(grid):
    for result in grid:
        name = result.config["name"]
        sequence = SEQUENCES[name]
        keep = expected_kept(sequence, 2, "max")
        best = result.best_checkpoints
        assert [read_state(c)["step"] for c, _ in best] == [i + 1 for i in keep], name
        for (checkpoint, metrics), i in zip(best, keep):
            assert same(metrics["score"], sequence[i]) and metrics["training_iteration"] == i + 1
            assert metrics["eval"]["loss"] == -sequence[i] and "config" not in metrics
            assert os.path.isdir(checkpoint.path)
        on_disk = sorted(d for d in os.listdir(result.path) if d.startswith("checkpoint_"))
        kept = {os.path.basename(c.path) for c, _ in best} | {os.path.basename(result.checkpoint.path)}
        assert on_disk == sorted(kept)  # retention keeps the best two and the latest
        best_by_score = result.get_best_checkpoint("score", "max")
        top = max(m["score"] for _, m in best if not math.isnan(m["score"]))
        first = next(c for c, m in best if m["score"] == top)  # the first of equals, in best_checkpoints order
        assert best_by_score == first
        assert result.get_best_checkpoint("eval/loss", "min") == best_by_score


def test_class_checkpoints_with_the_1x_keys_min_order(runs):
    trials, folder = runs["cls"]
    grid = ResultGrid.from_path(folder)
    assert [r.trial_id for r in grid] == [t.trial_id for t in trials]
    for result in grid:
        losses = LOSSES[result.config["name"]]
        keep = expected_kept(losses, 2, "min")
        assert [read_state(c)["step"] for c, _ in result.best_checkpoints] == [i + 1 for i in keep]
        assert [m["loss"] for _, m in result.best_checkpoints] == [losses[i] for i in keep]
        assert read_state(result.checkpoint)["step"] == len(losses)
        assert result.metrics["loss"] == losses[-1] and result.error is None
    with pytest.raises(NoResultError, match="Invalid metric name"):
        grid[0].get_best_checkpoint("nope", "min")
    with pytest.raises(ResultGridError):
        grid[0].get_best_checkpoint("loss", "lowest")


# -- dataframes -------------------------------------------------------------------------------
def test_get_dataframe_has_a_row_a_trial_with_its_config(runs, grid):
    trials, _ = runs["fn"]
    df = grid.get_dataframe()
    assert list(df["trial_id"]) == [t.trial_id for t in trials]
    assert list(df["config/name"]) == NAMES
    assert list(df["logdir"]) == [t.logdir for t in trials]
    assert all(same(float(a), b[-1]) for a, b in zip(df["score"], SEQUENCES.values()))
    assert list(df["eval/loss"]) == [-s[-1] for s in SEQUENCES.values()]
    assert list(df[UNICODE]) == [s[-1] for s in SEQUENCES.values()]
    assert "config" not in df.columns
    for mode, pick in (("max", max), ("min", min)):
        filtered = grid.get_dataframe(filter_metric="score", filter_mode=mode)
        best = [pick(v for v in s if not math.isnan(v)) for s in SEQUENCES.values()]  # infinities count
        assert list(filtered["score"]) == best
        assert list(filtered["training_iteration"]) == [s.index(b) + 1 for s, b in zip(SEQUENCES.values(), best)]
        assert list(filtered["trial_id"]) == [t.trial_id for t in trials]
    assert list(grid.get_dataframe(filter_metric="score")["score"].map(float)) == list(df["score"].map(float))
    with pytest.raises(ResultGridError, match="filter_metric"):
        grid.get_dataframe(filter_mode="max")
    with pytest.raises(ResultGridError, match="filter_mode must be one of"):
        grid.get_dataframe("score", "up")


def test_metrics_dataframe_holds_every_reported_row(grid):
    for result in grid:
        sequence = SEQUENCES[result.config["name"]]
        df = result.metrics_dataframe
        assert result.metrics_dataframe is df  # read once
        assert len(df) == len(sequence)
        assert all(same(float(a), b) for a, b in zip(df["score"], sequence))
        assert all(same(float(a), -b) for a, b in zip(df["eval/loss"], sequence))
        assert list(df["training_iteration"]) == list(range(1, len(sequence) + 1))
        assert set(df["config/name"]) == {result.config["name"]}


# -- every constructor gives the same ---------------------------------------------------------
def summary(grid):
    return [(r.trial_id, r.config, r.path, r.checkpoint, [c for c, _ in r.best_checkpoints],
             [m.get("training_iteration") for _, m in r.best_checkpoints], type(r.error), str(r.error),
             sorted(r.metrics)) for r in grid]


def test_from_trials_gives_what_from_path_gives(runs, grid):
    trials, folder = runs["fn"]
    live = ResultGrid.from_trials(trials, folder, metric="score", mode="max")
    assert summary(live) == summary(grid)
    assert live.num_errors == 1 and live.num_terminated == 5 and live.experiment_path == folder
    for scope in SCOPES:
        assert live.get_best_result(scope=scope).trial_id == grid.get_best_result("score", "max", scope).trial_id


def test_a_moved_experiment_folder_reads_back_the_same(runs, grid, tmp_path):
    moved = str(tmp_path / "elsewhere")
    shutil.copytree(runs["fn"][1], moved)
    path = os.path.join(moved, "experiment_state.json")
    with open(path) as f:  # as if written where it no longer is
        text = f.read().replace(runs["fn"][1], "/nonexistent/old_place/fn")
    with open(path, "w") as f:
        f.write(text)
    copy = ResultGrid.from_path(moved)
    assert [r.path for r in copy] == [os.path.join(moved, os.path.basename(r.path)) for r in grid]
    for a, b in zip(copy, grid):
        assert a.checkpoint.path.startswith(moved) and read_state(a.checkpoint) == read_state(b.checkpoint)
        assert [read_state(c) for c, _ in a.best_checkpoints] == [read_state(c) for c, _ in b.best_checkpoints]
        assert len(a.metrics_dataframe) == len(b.metrics_dataframe)
    assert str(copy[-1].error) == str(grid[-1].error)
    assert ResultGrid.from_path(os.path.join(moved, "experiment_state.json")).experiment_path == moved


def test_a_state_file_without_retention_records_falls_back_to_the_folders(runs, tmp_path):
    old = str(tmp_path / "old")
    shutil.copytree(runs["fn"][1], old)
    path = os.path.join(old, "experiment_state.json")
    with open(path) as f:
        state = json.load(f)
    for entry in state["trials"]:
        entry.pop("checkpoints")
    with open(path, "w") as f:
        json.dump(state, f)
    old_grid = ResultGrid.from_path(old)
    for result in old_grid:
        sequence = SEQUENCES[result.config["name"]]
        # the folders left on disk ranked by the checkpoint config the state still holds: the same best two
        assert [read_state(c)["step"] for c, _ in result.best_checkpoints] == \
            [i + 1 for i in expected_kept(sequence, 2, "max")]
        assert all(same(m["score"], sequence[m["training_iteration"] - 1]) for _, m in result.best_checkpoints)
        assert read_state(result.checkpoint)["step"] == len(sequence)


def test_a_folder_without_a_state_file_and_single_trial_folders(runs, grid, tmp_path):
    bare = str(tmp_path / "bare")
    shutil.copytree(runs["fn"][1], bare)
    os.remove(os.path.join(bare, "experiment_state.json"))
    scanned = ResultGrid.from_path(bare)
    assert sorted(r.trial_id for r in scanned) == sorted(r.trial_id for r in grid)
    assert scanned.num_errors == 1 and scanned.num_terminated == 5
    one = Result.from_path(grid[-1].path)
    assert one.trial_id == grid[-1].trial_id and one.config == grid[-1].config
    assert "planned failure" in str(one.error) and same(one.metrics["score"], grid[-1].metrics["score"])
    assert read_state(one.checkpoint) == read_state(grid[-1].checkpoint)
    on_disk = sorted(d for d in os.listdir(grid[-1].path) if d.startswith("checkpoint_"))
    assert [os.path.basename(c.path) for c, _ in one.best_checkpoints] == on_disk  # oldest first
    assert [m["score"] for _, m in one.best_checkpoints] == SEQUENCES["fails"]
    assert Result.from_path(grid[0].path).error is None
    with pytest.raises(TuneError, match="not a folder"):
        ResultGrid.from_path(str(tmp_path / "missing"))
    os.mkdir(tmp_path / "empty")
    with pytest.raises(TuneError, match="No experiment in"):
        ResultGrid.from_path(str(tmp_path / "empty"))


def test_repr_shows_each_result(grid):
    text = repr(grid)
    assert text.startswith("ResultGrid<[") and text.endswith("]>")
    assert text.count("Result(") == len(grid) and "error='TrialError'" in text
    assert "'eval': {'loss': -2.0" in text and "training_iteration" not in text
    assert repr(grid[0]) == grid[0]._repr()


# -- the scope arithmetic, without Ray --------------------------------------------------------
def as_number(value):
    """What a reported value counts as, decided here independently: None when it is no number."""
    if isinstance(value, (bool, np.bool_, str)) or value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.item()
    return float(value) if isinstance(value, (int, float, np.integer, np.floating)) else None


def reference_score(values, scope, mode):
    """The score with exact arithmetic: Fractions for finite means."""
    if not values:
        return None
    if scope == "last":
        return values[-1]
    if scope == "all":
        numbers = [v for v in values if not math.isnan(v)]
        return (max if mode == "max" else min)(numbers) if numbers else NAN
    window = {"avg": values, "last-5-avg": values[-5:], "last-10-avg": values[-10:]}[scope]
    if any(math.isnan(v) for v in window) or (INF in window and -INF in window):
        return NAN
    if INF in window or -INF in window:
        return INF if INF in window else -INF
    return float(sum(Fraction(v) for v in window) / len(window))


def close(a, b):
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


reported = st.one_of(metric_value_strategy(), st.none(), st.booleans(), st.text(max_size=3),
                     st.lists(st.integers(), max_size=2))
sequences = st.lists(reported, max_size=14)
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTIES
@given(sequences, st.sampled_from(SCOPES), st.sampled_from(["min", "max"]))
def test_scope_score_is_the_documented_arithmetic(raw, scope, mode):
    rows = [{"m": v, "nested": {"m": v}} for v in raw]
    values = metric_values(rows, "m")
    expected = [x for x in map(as_number, raw) if x is not None]
    assert len(values) == len(expected) and all(map(same, values, expected))
    assert all(map(same, metric_values(rows, "nested/m"), values))
    assert all(type(v) is float for v in values)
    assert close(scope_score(values, scope, mode), reference_score(values, scope, mode))


def record(i, raw, key="m"):
    rows = [{key: v, "training_iteration": n} for n, v in enumerate(raw, 1)]
    rec = TrialRecord(f"t{i}", f"trial_{i}", "TERMINATED", {"i": i}, None, rows[-1] if rows else None)
    rec._results = rows
    return rec


@PROPERTIES
@given(st.lists(sequences, min_size=2, max_size=5), st.sampled_from(SCOPES), st.sampled_from(["min", "max"]),
       st.booleans())
def test_get_best_result_picks_the_best_score_first_of_equals(trials, scope, mode, filter_nan_and_inf):
    grid = ResultGrid.from_records([record(i, raw) for i, raw in enumerate(trials)], metric="m", mode=mode)
    # scope_score is checked against exact arithmetic above; here: which trial wins, given the scores
    scores = [scope_score([x for x in map(as_number, raw) if x is not None], scope, mode) for raw in trials]
    usable = [(i, s) for i, s in enumerate(scores)
              if s is not None and not (filter_nan_and_inf and (math.isnan(s) or math.isinf(s)))]
    numbers = [(i, s) for i, s in usable if not math.isnan(s)]
    if not usable:
        with pytest.raises(NoResultError):
            grid.get_best_result(scope=scope, filter_nan_and_inf=filter_nan_and_inf)
        return
    best = grid.get_best_result(scope=scope, filter_nan_and_inf=filter_nan_and_inf)
    if not numbers:  # only NaN scores (filter off): the first of them
        assert best is grid[usable[0][0]]
        return
    top = (max if mode == "max" else min)(s for _, s in numbers)
    first = next(i for i, s in numbers if s == top)
    assert best is grid[first]


def test_the_mean_of_huge_values_does_not_overflow():
    assert scope_score([1.7e308, 1.7e308, 1.7e308], "avg", "max") == 1.7e308
    assert math.isnan(scope_score([INF, -INF, 1.0], "avg", "max"))
    assert scope_score([INF, 1.0], "last-5-avg", "min") == INF
    assert scope_score([], "avg", "max") is None
    with pytest.raises(ResultGridError):
        scope_score([1.0], "median", "max")


def test_one_trial_is_the_best_whatever_the_metric_as_in_ray():
    grid = ResultGrid.from_records([record(0, [1.0])])
    assert grid.get_best_result() is grid[0]
    assert grid.get_best_result("nope", "max") is grid[0]
    with pytest.raises(ResultGridError, match="scope"):
        grid.get_best_result(scope="best")
    with pytest.raises(NoResultError, match="no trials"):
        ResultGrid([]).get_best_result("m", "max")


def test_a_record_without_results_has_empty_metrics_and_a_row(tmp_path):
    rec = TrialRecord("t0", "trial_0", "PENDING", {"lr": {"base": 0.1}}, None, None)
    grid = ResultGrid.from_records([rec, record(1, [np.float32(2.0), None])], str(tmp_path), metric="m", mode="max")
    assert grid[0].metrics == {} and grid[0].checkpoint is None and grid[0].best_checkpoints == []
    assert grid[0].error is None and grid[0].path is None
    assert grid.get_best_result() is grid[1]  # its last row has no number: the last that has one
    df = grid.get_dataframe()
    assert list(df["trial_id"]) == ["t0", "t1"] and df["config/lr/base"][0] == 0.1
    assert len(grid[0].metrics_dataframe) == 0 and len(grid[1].metrics_dataframe) == 2
