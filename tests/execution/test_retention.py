"""Checkpoint retention (tunecore.execution.retention): CheckpointConfig and the per-trial CheckpointManager.

The manager's rules are checked property-based against an independent model over random
sequences of scores (None, NaN, ±inf, ties), re-registrations, pins and unpins, with
deletes that succeed and deletes that fail; a last test uses real folders and the default
delete.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunecore.errors import TuneError
from tunecore.execution.retention import (
    CheckpointConfig,
    CheckpointConfigError,
    CheckpointManager,
    TrackedCheckpoint,
    checkpoint_config_from_legacy,
    checkpoint_score,
)
from tunecore.trainables.checkpoint import checkpoint_dirname, delete_directory

PROPERTY = settings(max_examples=300, deadline=None)


# -- CheckpointConfig ---------------------------------------------------------------------
def test_config_defaults():
    config = CheckpointConfig()
    assert (config.num_to_keep, config.checkpoint_score_attribute, config.checkpoint_score_order,
            config.checkpoint_frequency, config.checkpoint_at_end) == (None, None, "max", 0, None)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_to_keep": 0}, "num_to_keep must be None or an integer >= 1, but got num_to_keep=0"),
    ({"num_to_keep": -2}, "num_to_keep must be None or an integer >= 1, but got num_to_keep=-2"),
    ({"num_to_keep": True}, "num_to_keep must be None or an integer >= 1, but got num_to_keep=True"),
    ({"num_to_keep": 2.0}, "num_to_keep must be None or an integer >= 1, but got num_to_keep=2.0"),
    ({"num_to_keep": "2"}, "num_to_keep must be None or an integer >= 1, but got num_to_keep='2'"),
    ({"checkpoint_score_attribute": ""},
     "checkpoint_score_attribute must be None or a non-empty str, but got checkpoint_score_attribute=''"),
    ({"checkpoint_score_attribute": 3},
     "checkpoint_score_attribute must be None or a non-empty str, but got checkpoint_score_attribute=3"),
    ({"checkpoint_score_order": "avg"},
     "checkpoint_score_order must be 'max' or 'min', but got checkpoint_score_order='avg'"),
    ({"checkpoint_score_order": "MAX"},
     "checkpoint_score_order must be 'max' or 'min', but got checkpoint_score_order='MAX'"),
    ({"checkpoint_score_order": None},
     "checkpoint_score_order must be 'max' or 'min', but got checkpoint_score_order=None"),
    ({"checkpoint_frequency": -1}, "checkpoint_frequency must be an integer >= 0, but got checkpoint_frequency=-1"),
    ({"checkpoint_frequency": False},
     "checkpoint_frequency must be an integer >= 0, but got checkpoint_frequency=False"),
    ({"checkpoint_frequency": None}, "checkpoint_frequency must be an integer >= 0, but got checkpoint_frequency=None"),
    ({"checkpoint_frequency": 1.5}, "checkpoint_frequency must be an integer >= 0, but got checkpoint_frequency=1.5"),
    ({"checkpoint_at_end": 1}, "checkpoint_at_end must be None or a bool, but got checkpoint_at_end=1"),
    ({"checkpoint_at_end": "yes"}, "checkpoint_at_end must be None or a bool, but got checkpoint_at_end='yes'"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(CheckpointConfigError) as info:
        CheckpointConfig(**kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and isinstance(info.value, TuneError)


def test_config_accepts_numpy_values_as_plain_ones():
    config = CheckpointConfig(num_to_keep=np.int64(3), checkpoint_frequency=np.uint8(5),
                              checkpoint_at_end=np.bool_(True))
    assert config.num_to_keep == 3 and type(config.num_to_keep) is int
    assert config.checkpoint_frequency == 5 and type(config.checkpoint_frequency) is int
    assert config.checkpoint_at_end is True
    json.dumps(config.to_json())


configs = st.builds(
    CheckpointConfig,
    num_to_keep=st.one_of(st.none(), st.integers(1, 10**12)),
    checkpoint_score_attribute=st.one_of(st.none(), st.text(min_size=1)),
    checkpoint_score_order=st.sampled_from(["max", "min"]),
    checkpoint_frequency=st.integers(0, 10**12),
    checkpoint_at_end=st.one_of(st.none(), st.booleans()),
)


@given(config=configs)
def test_config_json_round_trip(config):
    assert CheckpointConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


def test_config_from_json_is_strict():
    assert CheckpointConfig.from_json({}) == CheckpointConfig()
    with pytest.raises(CheckpointConfigError, match=r"unknown keys \['keep'\]"):
        CheckpointConfig.from_json({"keep": 3})
    with pytest.raises(CheckpointConfigError, match="needs a dict"):
        CheckpointConfig.from_json([])  # type: ignore[arg-type]
    with pytest.raises(CheckpointConfigError, match="num_to_keep=0"):
        CheckpointConfig.from_json({"num_to_keep": 0})


def test_legacy_arguments():
    assert checkpoint_config_from_legacy() == CheckpointConfig(checkpoint_at_end=False)
    config = checkpoint_config_from_legacy(checkpoint_freq=5, checkpoint_at_end=True, keep_checkpoints_num=2,
                                           checkpoint_score_attr="min-loss")
    assert config == CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="loss", checkpoint_score_order="min",
                                      checkpoint_frequency=5, checkpoint_at_end=True)
    config = checkpoint_config_from_legacy(checkpoint_score_attr="mean_accuracy")
    assert (config.checkpoint_score_attribute, config.checkpoint_score_order) == ("mean_accuracy", "max")
    assert checkpoint_config_from_legacy(checkpoint_score_attr="info/min-x").checkpoint_score_attribute == "info/min-x"


@pytest.mark.parametrize("kwargs, message", [
    ({"keep_checkpoints_num": 0},
     "keep_checkpoints_num must be None or an integer >= 1, but got keep_checkpoints_num=0"),
    ({"checkpoint_freq": -1}, "checkpoint_freq must be an integer >= 0, but got checkpoint_freq=-1"),
    ({"checkpoint_at_end": None}, "checkpoint_at_end must be a bool, but got checkpoint_at_end=None"),
    ({"checkpoint_score_attr": "min-"}, "checkpoint_score_attr must name a metric after 'min-', but got "
                                        "checkpoint_score_attr='min-'"),
    ({"checkpoint_score_attr": ""}, "checkpoint_score_attr must be None or a non-empty str, but got "
                                    "checkpoint_score_attr=''"),
])
def test_legacy_validation_names_the_legacy_argument(kwargs, message):
    with pytest.raises(CheckpointConfigError) as info:
        checkpoint_config_from_legacy(**kwargs)
    assert str(info.value) == message


# -- scores and TrackedCheckpoint ---------------------------------------------------------
@pytest.mark.parametrize("metrics, attribute, score", [
    ({"acc": 0.5}, "acc", 0.5),
    ({"acc": 3}, "acc", 3.0),
    ({"acc": np.float32(0.25)}, "acc", 0.25),
    ({"acc": np.array(2.0)}, "acc", 2.0),
    ({"acc": math.inf}, "acc", math.inf),
    ({"acc": -math.inf}, "acc", -math.inf),
    ({"acc": 10**400}, "acc", math.inf),
    ({"acc": math.nan}, "acc", None),
    ({"acc": True}, "acc", None),
    ({"acc": "0.5"}, "acc", None),
    ({"acc": None}, "acc", None),
    ({"other": 1.0}, "acc", None),
    ({"info": {"loss": 1.5}}, "info/loss", 1.5),
    ({"info": {"deep": {"loss": -2}}}, "info/deep/loss", -2.0),
    ({"info/loss": 7.0, "info": {"loss": 1.5}}, "info/loss", 7.0),
    ({"info": {"loss": 1.5}}, "info", None),
    ({"acc": 1.0}, None, None),
    (None, "acc", None),
])
def test_checkpoint_score(metrics, attribute, score):
    assert checkpoint_score(metrics, attribute) == score


def test_tracked_checkpoint():
    assert TrackedCheckpoint("p", 3, math.nan).score is None
    tracked = TrackedCheckpoint("p", np.int64(3), np.float64(-math.inf))
    assert tracked.iteration == 3 and type(tracked.iteration) is int and tracked.score == -math.inf
    assert json.loads(json.dumps(tracked.to_json())) == {"path": "p", "iteration": 3, "score": "-Infinity"}
    assert TrackedCheckpoint.from_json(json.loads(json.dumps(tracked.to_json()))) == tracked
    for bad in ({"path": "", "iteration": 1}, {"path": "p", "iteration": -1}, {"path": "p", "iteration": True},
                {"path": "p", "iteration": 1, "score": "high"}):
        with pytest.raises(TuneError):
            TrackedCheckpoint(**bad)
    with pytest.raises(TuneError, match="path and iteration"):
        TrackedCheckpoint.from_json({"path": "p"})


# -- the model the manager is checked against ---------------------------------------------
RAW_SCORES = st.one_of(
    st.sampled_from([None, math.nan, math.inf, -math.inf, 0.0, 1.0, -1.0, 2.5, True]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.integers(-3, 3).map(np.float32),
)
FORMS = st.sampled_from(["flat", "flat", "flat", "nested", "missing", "string", "no metrics"])


def metrics_for(attribute: Optional[str], form: str, raw: Any) -> tuple[Optional[dict], Optional[float]]:
    """Metrics that carry ``raw`` in the given form, and the score the rules give them."""
    if form == "no metrics":
        return None, None
    key = attribute or "score"
    if form == "missing":
        return {"not_" + key: raw}, None
    if form == "string":
        return {key: "1.0"}, None
    if form == "nested" and "/" in key:
        head, tail = key.split("/", 1)
        metrics: dict = {head: {tail: raw}}
    else:
        metrics = {key: raw}
    if attribute is None or raw is None or isinstance(raw, bool) or math.isnan(float(raw)):
        return metrics, None
    return metrics, float(raw)


@dataclass
class Model:
    """Ray Tune 2.x's retention rules, written plainly: selection of the best, not a sort key."""

    config: CheckpointConfig
    live: list = field(default_factory=list)  # [path, score], oldest first
    pins: collections.Counter = field(default_factory=collections.Counter)

    def better(self, a: int, b: int) -> bool:
        """Whether live[a] ranks above live[b]."""
        if self.config.checkpoint_score_attribute is None:
            return a > b
        sa, sb = self.live[a][1], self.live[b][1]
        if (sa is None) != (sb is None):
            return sa is not None
        if sa is not None and sa != sb:
            return sa > sb if self.config.checkpoint_score_order == "max" else sa < sb
        return a > b

    def best_index(self, among: list[int]) -> int:
        best = among[0]
        for i in among[1:]:
            if self.better(i, best):
                best = i
        return best

    def settle(self) -> list[str]:
        """Apply the rules; return the dropped paths, oldest first."""
        n = self.config.num_to_keep
        if n is None or not self.live:
            return []
        remaining, top = list(range(len(self.live))), set()
        while remaining and len(top) < n:
            pick = self.best_index(remaining)
            top.add(pick)
            remaining.remove(pick)
        kept = [i for i in range(len(self.live))
                if i in top or i == len(self.live) - 1 or self.pins[self.live[i][0]] > 0]
        dropped = [p for i, (p, _) in enumerate(self.live) if i not in kept]
        self.live = [self.live[i] for i in kept]
        return dropped

    def register(self, path: str, score: Optional[float]) -> list[str]:
        self.live = [e for e in self.live if e[0] != path] + [[path, score]]
        return self.settle()


score_specs = st.tuples(FORMS, RAW_SCORES)
operations = st.lists(st.one_of(
    st.tuples(st.just("new"), score_specs),
    st.tuples(st.just("again"), st.integers(0, 50), score_specs),
    st.tuples(st.just("pin"), st.integers(0, 50)),
    st.tuples(st.just("unpin"), st.integers(0, 50)),
), max_size=40)
retention_configs = st.builds(
    CheckpointConfig,
    num_to_keep=st.one_of(st.none(), st.integers(1, 4)),
    checkpoint_score_attribute=st.sampled_from([None, "score", "info/score"]),
    checkpoint_score_order=st.sampled_from(["max", "min"]),
)


class Deleter:
    """A delete callback that records its calls; raises OSError ``budget[path]`` times first for some paths."""

    def __init__(self, budget: Optional[dict] = None) -> None:
        self.results: list[tuple[str, bool]] = []  # (path, whether the delete returned)
        self.budget = collections.Counter(budget or {})

    def __call__(self, path: str) -> bool:
        if self.budget[path] > 0:
            self.budget[path] -= 1
            self.results.append((path, False))
            raise PermissionError(f"cannot remove {path}")
        self.results.append((path, True))
        return True


def check_state(manager: CheckpointManager, model: Model) -> None:
    kept = manager.checkpoints
    assert [c.path for c in kept] == [p for p, _ in model.live]
    assert [c.score for c in kept] == [score for _, score in model.live]
    if model.live:
        assert manager.latest == kept[-1] and manager.latest.path == model.live[-1][0]
        assert manager.best is not None
        assert manager.best.path == model.live[model.best_index(list(range(len(model.live))))][0]
        if model.config.checkpoint_score_attribute is None:
            assert manager.best == manager.latest
    else:
        assert manager.latest is None and manager.best is None
    if model.config.num_to_keep is not None:
        assert len(kept) <= model.config.num_to_keep + 1 + sum(1 for p, _ in model.live if model.pins[p] > 0)


def run_operations(config: CheckpointConfig, ops: list, budget: dict) -> Deleter:
    """Apply ``ops`` to a manager and the model side by side, checking the manager after each."""
    deleter = Deleter(budget)
    manager = CheckpointManager(config, delete=deleter)
    model = Model(config)
    known: list[str] = []  # every path ever registered
    pending: list[str] = []  # the model's paths dropped but not deleted yet (their delete raised)
    for op in ops:
        before = len(deleter.results)
        if op[0] in ("new", "again"):
            if op[0] == "again" and known:
                path = known[op[1] % len(known)]
            else:
                path = checkpoint_dirname(len(known) + 1)
                known.append(path)
            metrics, score = metrics_for(config.checkpoint_score_attribute, *op[-1])
            deleted = manager.register(path, iteration=known.index(path) + 1, metrics=metrics)
            pending = [p for p in pending if p != path]  # written anew: no longer to delete
            dropped = model.register(path, score)
        elif op[0] == "pin":
            choices = known + ["never_registered"]
            manager.pin(choices[op[1] % len(choices)])
            model.pins[choices[op[1] % len(choices)]] += 1
            assert len(deleter.results) == before  # pinning deletes nothing
            check_state(manager, model)
            continue
        else:
            pinned = sorted(p for p, n in model.pins.items() if n > 0)
            if not pinned:
                with pytest.raises(TuneError, match="not pinned"):
                    manager.unpin("never_registered")
                continue
            path = pinned[op[1] % len(pinned)]
            deleted = manager.unpin(path)
            model.pins[path] -= 1
            dropped = model.settle()
        # deletion attempts: the pending ones first (oldest drop first), then what was dropped now
        pending += dropped
        results = deleter.results[before:]
        assert [p for p, _ in results] == [p for p in pending if model.pins[p] <= 0]
        succeeded = [p for p, ok in results if ok]
        assert deleted == succeeded
        pending = [p for p in pending if p not in succeeded]
        assert manager.pending_deletion == pending
        kept_paths = {p for p, _ in model.live}
        assert not kept_paths & {p for p, _ in results}  # never a kept checkpoint
        assert not kept_paths & set(pending)
        check_state(manager, model)
    return deleter


@PROPERTY
@given(config=retention_configs, ops=operations)
def test_manager_keeps_exactly_what_the_rules_say(config, ops):
    """Deletes that succeed: each dropped path is deleted exactly once, when it is dropped."""
    deleter = run_operations(config, ops, budget={})
    assert all(ok for _, ok in deleter.results)


@PROPERTY
@given(config=retention_configs, ops=operations,
       budget=st.dictionaries(st.integers(1, 12).map(checkpoint_dirname), st.integers(1, 3), max_size=5))
def test_failing_deletes_are_retried_and_never_raise(config, ops, budget):
    """Deletes that raise OSError a few times: the path stays dropped and is retried on every call."""
    run_operations(config, ops, budget=budget)


@PROPERTY
@given(config=retention_configs, ops=operations,
       budget=st.dictionaries(st.integers(1, 12).map(checkpoint_dirname), st.integers(1, 3), max_size=5))
def test_json_round_trip_keeps_the_state(config, ops, budget):
    deleter = Deleter(budget)
    manager = CheckpointManager(config, delete=deleter)
    for i, op in enumerate(ops):
        if op[0] == "new":
            manager.register(checkpoint_dirname(i), i, metrics_for(config.checkpoint_score_attribute, *op[1])[0])
        elif op[0] == "pin" and manager.checkpoints:
            manager.pin(manager.checkpoints[op[1] % len(manager.checkpoints)].path)
    saved = json.loads(json.dumps(manager.to_json(), allow_nan=False))  # strict JSON
    calls = len(deleter.results)
    resumed = CheckpointManager.from_json(saved, delete=deleter)
    assert len(deleter.results) == calls  # loading deletes nothing
    assert resumed.config == manager.config
    assert resumed.checkpoints == manager.checkpoints
    assert resumed.pending_deletion == manager.pending_deletion
    assert resumed.latest == manager.latest and resumed.best == manager.best
    assert resumed.to_json() == manager.to_json()


def test_from_json_refuses_garbage():
    for bad in ([], {"checkpoints": "x"}, {"checkpoints": [{"path": "a", "iteration": 1}] * 2},
                {"checkpoints": [{"path": "a", "iteration": 1}], "pending_deletion": ["a"]},
                {"checkpoints": [{"iteration": 1}]}, {"pending_deletion": [3]}):
        with pytest.raises(TuneError):
            CheckpointManager.from_json(bad)  # type: ignore[arg-type]
    with pytest.raises(CheckpointConfigError):
        CheckpointManager.from_json({"config": {"num_to_keep": 0}})


# -- the rules, by example ----------------------------------------------------------------
def register_all(manager: CheckpointManager, scores: list) -> list[list[str]]:
    return [manager.register(f"c{i}", i, {"acc": s}) for i, s in enumerate(scores)]


def kept(manager: CheckpointManager) -> list[str]:
    return [c.path for c in manager.checkpoints]


def test_keep_everything_by_default():
    deleter = Deleter()
    manager = CheckpointManager(CheckpointConfig(checkpoint_score_attribute="acc"), delete=deleter)
    register_all(manager, [3, None, math.nan, 1, -math.inf])
    assert kept(manager) == ["c0", "c1", "c2", "c3", "c4"] and deleter.results == []
    assert manager.best is not None and manager.best.path == "c0"


def test_best_by_score_plus_the_latest():
    manager = CheckpointManager(CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="acc"), delete=Deleter())
    deleted = register_all(manager, [0.5, 0.9, 0.1, 0.95, 0.2])
    assert deleted == [[], [], [], ["c0", "c2"], []]  # c2 was kept only as the latest
    assert kept(manager) == ["c1", "c3", "c4"]  # the best two, and the latest
    assert manager.best is not None and manager.best.path == "c3"
    assert manager.latest is not None and manager.latest.path == "c4"


def test_min_order_and_unscored_ones():
    config = CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    manager = CheckpointManager(config, delete=Deleter())
    manager.register("a", 1, {"loss": math.nan})
    manager.register("b", 2, {"loss": math.inf})  # scored, even if the worst score: ranks above NaN
    assert kept(manager) == ["b"]
    manager.register("c", 3, {})
    assert kept(manager) == ["b", "c"]
    manager.register("d", 4, {"loss": 2.0})
    assert kept(manager) == ["d"]
    manager.register("e", 5, {"loss": 2.0})  # a tie: the more recent wins
    assert kept(manager) == ["e"] and manager.best is not None and manager.best.path == "e"


def test_recency_without_a_score_attribute():
    manager = CheckpointManager(CheckpointConfig(num_to_keep=2), delete=Deleter())
    register_all(manager, [9, 8, 7, 6])
    assert kept(manager) == ["c2", "c3"]
    assert manager.best == manager.latest


def test_registering_a_path_again_updates_it():
    deleter = Deleter()
    manager = CheckpointManager(CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="acc"), delete=deleter)
    manager.register("a", 1, {"acc": 9})
    manager.register("b", 2, {"acc": 1})
    assert kept(manager) == ["a", "b"]
    assert manager.register("b", 3, {"acc": 10}) == ["a"]  # rewritten in place, now the best
    assert manager.checkpoints == [TrackedCheckpoint("b", 3, 10.0)]
    assert manager.register("b", 4, {"acc": 0}) == []  # never deleted by its own registration
    assert [p for p, _ in deleter.results] == ["a"]


def test_pins_are_counted():
    deleter = Deleter()
    manager = CheckpointManager(CheckpointConfig(num_to_keep=1), delete=deleter)
    manager.register("a", 1)
    manager.pin("a")
    manager.pin("a")
    assert manager.register("b", 2) == [] and manager.register("c", 3) == ["b"]
    assert kept(manager) == ["a", "c"]
    assert manager.unpin("a") == [] and kept(manager) == ["a", "c"]
    assert manager.unpin("a") == ["a"] and kept(manager) == ["c"]
    with pytest.raises(TuneError, match=r"unpin\('a'\): the checkpoint is not pinned"):
        manager.unpin("a")


def test_a_pin_keeps_the_latest_after_it_is_superseded():
    manager = CheckpointManager(CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="acc"), delete=Deleter())
    manager.register("a", 1, {"acc": 5})
    manager.register("b", 2, {"acc": 1})
    manager.pin("b")  # a paused trial restores from its latest checkpoint
    assert manager.register("c", 3, {"acc": 2}) == []
    assert kept(manager) == ["a", "b", "c"]
    assert manager.unpin("b") == ["b"]


@pytest.mark.parametrize("call, match", [
    (lambda m: m.register("", 1), "non-empty str"),
    (lambda m: m.register(None, 1), "non-empty str"),
    (lambda m: m.register("a", -1), "iteration must be an integer >= 0"),
    (lambda m: m.register("a", 1.5), "iteration must be an integer >= 0"),
    (lambda m: m.register("a", 1, metrics=[1]), "metrics as a dict"),
    (lambda m: m.pin(3), "non-empty str"),
    (lambda m: m.unpin("x"), "not pinned"),
])
def test_bad_arguments(call, match):
    manager = CheckpointManager(CheckpointConfig(num_to_keep=1), delete=Deleter())
    with pytest.raises(TuneError, match=match):
        call(manager)
    assert manager.checkpoints == []


def test_manager_needs_a_config_and_a_callable():
    with pytest.raises(TuneError, match="needs a CheckpointConfig"):
        CheckpointManager({"num_to_keep": 1})  # type: ignore[arg-type]
    with pytest.raises(TuneError, match="callable"):
        CheckpointManager(CheckpointConfig(), delete="rm")  # type: ignore[arg-type]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_failing_delete_logs_a_warning_and_is_retried():
    deleter = Deleter({"c0": 2})
    manager = CheckpointManager(CheckpointConfig(num_to_keep=1), delete=deleter)
    manager.register("c0", 0)
    # a handler of its own: whether "tunecore" propagates to the root logger is another test's business
    handler = _Records()
    retention_log = logging.getLogger("tunecore.retention")
    retention_log.addHandler(handler)
    try:
        assert manager.register("c1", 1) == []  # does not raise
    finally:
        retention_log.removeHandler(handler)
    records = handler.records
    assert [r.levelno for r in records] == [logging.WARNING]
    assert [r.name for r in records] == ["tunecore.retention"]
    assert "c0" in records[0].getMessage() and "cannot remove c0" in records[0].getMessage()
    assert kept(manager) == ["c1"] and manager.pending_deletion == ["c0"]
    assert manager.register("c2", 2) == ["c1"]  # c0 failed again, c1 went
    assert manager.pending_deletion == ["c0"]
    assert manager.register("c3", 3) == ["c0", "c2"]
    assert manager.pending_deletion == [] and kept(manager) == ["c3"]
    assert [p for p, _ in deleter.results] == ["c0", "c0", "c1", "c0", "c2"]


def test_other_errors_of_delete_propagate_and_are_retried():
    calls: list[str] = []

    def broken(path: str) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("a bug in the delete callback")

    manager = CheckpointManager(CheckpointConfig(num_to_keep=1), delete=broken)
    manager.register("a", 1)
    with pytest.raises(RuntimeError):
        manager.register("b", 2)
    assert kept(manager) == ["b"] and manager.pending_deletion == ["a"]
    assert manager.register("c", 3) == ["a", "b"]


# -- real folders -------------------------------------------------------------------------
def test_real_directories_with_the_default_delete(tmp_path):
    config = CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="info/acc")
    manager = CheckpointManager(config)
    trial_dir = tmp_path / "trial"
    (trial_dir / "keep_me.txt").parent.mkdir()
    (trial_dir / "keep_me.txt").write_text("not a checkpoint")
    scores = [0.5, 0.9, 0.1, 0.95, 0.2, 0.3]
    expected_after = [
        {1}, {1, 2}, {1, 2, 3}, {2, 4}, {2, 4, 5}, {2, 4, 6},
    ]
    for i, (acc, expected) in enumerate(zip(scores, expected_after), start=1):
        path = trial_dir / checkpoint_dirname(i)
        (path / "sub").mkdir(parents=True)
        (path / "sub" / "weights.bin").write_bytes(b"w" * i)
        if i == 2:
            manager.pin(str(path))  # e.g. a restore in flight
        manager.register(str(path), i, {"info": {"acc": acc}})
        assert sorted(os.listdir(trial_dir)) == sorted([checkpoint_dirname(j) for j in expected] + ["keep_me.txt"])
    assert manager.unpin(str(trial_dir / checkpoint_dirname(2))) == []  # 0.9 is still among the best two
    manager.register(str(trial_dir / checkpoint_dirname(3)), 7, {"info": {"acc": 1.0}})  # a rewrite of a gone path
    assert not (trial_dir / checkpoint_dirname(3)).exists()  # registering creates nothing
    assert sorted(os.listdir(trial_dir)) == [checkpoint_dirname(j) for j in (4,)] + ["keep_me.txt"]
    assert [c.path for c in manager.checkpoints] == [str(trial_dir / checkpoint_dirname(j)) for j in (4, 3)]
    assert delete_directory(str(trial_dir / "missing")) is False
