"""Results as users report them, through progress.csv and TensorBoard, read back and checked value by value.

The strategies below generate what training loops hand to ``reporter(...)``: numpy scalars
of every dtype, 0-d and small arrays, NaN and ±inf, None, bools, nested dicts, lists,
unicode text (lone surrogates too), ints up to 2**100 and datetimes. Each value is checked
against what its own type says it must read back as, not against the logger's code.
"""

from __future__ import annotations

import csv
import datetime
import glob
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tune_loggers import CSVLogger, TensorBoardLogger
from tunecore.testing import NUMPY_FLOATS, NUMPY_INTS, feed_logger, make_trial

#: Keys the loggers treat specially (the step, the iteration, skipped keys).
RESERVED = {"training_iteration", "timesteps_total", "config", "pid", "timestamp"}

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


# -- strategies ------------------------------------------------------------------------------
def numpy_floats():
    return st.sampled_from(NUMPY_FLOATS).flatmap(
        lambda kind: st.floats(width=np.finfo(kind).bits).map(kind))


def numpy_ints():
    return st.sampled_from(NUMPY_INTS).flatmap(
        lambda kind: st.integers(int(np.iinfo(kind).min), int(np.iinfo(kind).max)).map(kind))


def numbers():
    """Real numbers as they come: Python and numpy ints and floats, NaN, ±inf, ints up to 2**100."""
    return st.one_of(st.floats(), st.integers(-(2 ** 100), 2 ** 100), numpy_floats(), numpy_ints(),
                     st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")]),
                     st.one_of(numpy_floats(), numpy_ints()).map(np.array))  # 0-d arrays


def arrays():
    """Small arrays: floats (NaN and ±inf included), ints, 2-d, bools, text, empty."""
    return st.one_of(
        st.lists(st.floats(), max_size=5).map(lambda xs: np.array(xs, dtype=np.float64)),
        st.lists(st.floats(width=32), min_size=1, max_size=5).map(lambda xs: np.array(xs, dtype=np.float32)),
        st.lists(st.integers(-1000, 1000), min_size=1, max_size=6).map(lambda xs: np.array(xs, dtype=np.int64)),
        st.lists(st.integers(0, 9), min_size=6, max_size=6).map(lambda xs: np.array(xs, dtype=np.uint8).reshape(2, 3)),
        st.lists(st.booleans(), min_size=1, max_size=3).map(np.array),
        st.lists(st.text(max_size=3), min_size=1, max_size=3).map(np.array),
    )


def texts():
    """Unicode text, sometimes with a lone surrogate (it cannot be encoded as UTF-8)."""
    return st.text(max_size=12) | st.text(st.characters(categories=["Cs", "L"]), min_size=1, max_size=4)


def leaves():
    return st.one_of(
        numbers(), arrays(), texts(), st.none(), st.booleans(), st.builds(np.bool_, st.booleans()),
        st.datetimes(min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2200, 1, 1)),
        st.lists(st.one_of(numbers(), st.none(), texts()), max_size=4),
        st.lists(numbers(), min_size=1, max_size=4).map(tuple),
    )


def keys():
    """Metric names: common ones (so results share columns) or printable unicode without ``/``
    (the separator of flattened keys) or ``\\``."""
    return st.sampled_from(["loss", "mean_accuracy", "info", "lr", "ünïcode", "a,b", 'q"uote']) | st.text(
        st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="/\\"), min_size=1, max_size=8,
    ).filter(lambda k: k not in RESERVED)


def reported():
    """The user's part of a result: leaves and dicts of them, up to three levels deep."""
    return st.dictionaries(keys(), st.recursive(leaves(), lambda inner: st.dictionaries(keys(), inner, max_size=3),
                                                max_leaves=6), max_size=6)


def steps():
    return st.one_of(st.integers(-3, 2 ** 70), numbers(), st.none())


# -- what each value must read back as ----------------------------------------------------------
def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flat(value, name))
        else:
            out[name] = value
    return out


def unwrapped(value):
    """A 0-d array as the numpy scalar it holds."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def escaped(text: str) -> str:
    """How a string that UTF-8 cannot encode (a lone surrogate) is written: ``\\udXXX``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def json_form(value):
    """The JSON value a list or array must read back as (NaN/±inf as result.json writes them)."""
    value = unwrapped(value)
    if isinstance(value, np.ndarray):
        return json_form(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_form(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(number, number) if number == number else "NaN"
    return value


def check_csv_cell(cell: str, value, key: str) -> None:
    value = unwrapped(value)
    where = f"{key!r}: wrote {value!r}, read back {cell!r}"
    if value is None:
        assert cell == "", where
    elif isinstance(value, (bool, np.bool_)):
        assert cell == str(bool(value)), where
    elif isinstance(value, (int, np.integer)):
        assert cell == str(int(value)), where
    elif isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            assert cell == "nan", where
        elif math.isinf(number):
            assert cell == ("inf" if number > 0 else "-inf"), where
        else:
            assert float(cell) == number, where
    elif isinstance(value, str):
        assert cell == escaped(value), where
    elif isinstance(value, datetime.datetime):
        assert cell == value.isoformat(), where
    elif isinstance(value, (list, tuple, np.ndarray)):
        assert json.loads(cell) == json_form(value), where
    else:  # pragma: no cover - the strategies make nothing else
        raise AssertionError(f"no expectation for {value!r}")


def float32(number: float) -> float:
    """``number`` as a TensorBoard scalar reads back: rounded to float32 (±inf beyond its range)."""
    with np.errstate(over="ignore"):
        return float(np.float32(number))


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def expected_step(timesteps, iteration: int) -> int:
    timesteps = unwrapped(timesteps)
    if is_real(timesteps) and 0 < float(timesteps) < 2 ** 63:
        return int(float(timesteps))
    return iteration


def histogram_values(value):
    """The finite values of a numeric array or list of numbers (what a histogram must count), else None."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0 or value.dtype.kind not in "iuf":
            return None
        numbers_ = value.astype(np.float64).reshape(-1)
    elif isinstance(value, (list, tuple)):
        if not value or not all(is_real(unwrapped(v)) for v in value):
            return None
        numbers_ = np.array([float(unwrapped(v)) for v in value])
    else:
        return None
    numbers_ = numbers_[np.isfinite(numbers_)]
    return numbers_ if numbers_.size else None


# -- progress.csv -------------------------------------------------------------------------------
@SETTINGS
@given(extras=st.lists(st.tuples(reported(), numbers()), min_size=1, max_size=4), batched=st.booleans())
def test_csv_reads_back_every_value_with_csv_and_pandas(tmp_path_factory, extras, batched):
    logdir = str(tmp_path_factory.mktemp("csv"))
    trial = make_trial({"lr": np.float32(0.5)}, logdir=logdir)
    results = [{"training_iteration": i + 1, **extra, "metric": metric} for i, (extra, metric) in enumerate(extras)]
    logger = CSVLogger(trial.config, logdir, trial)
    feed_logger(logger, results, batched)

    path = os.path.join(logdir, "progress.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [row["training_iteration"] for row in rows] == [str(i) for i in range(1, len(results) + 1)]
    for row, result in zip(rows, results):
        written = flat(result)
        for key, value in written.items():
            check_csv_cell(row[escaped(key)], value, key)
        assert all(row[key] == "" for key in row if key not in {escaped(k) for k in written}), \
            "a column this result did not have must be empty in its row"

    df = pd.read_csv(path)
    assert len(df) == len(results) and df["training_iteration"].tolist() == list(range(1, len(results) + 1))
    for got, (_, metric) in zip(df["metric"].tolist(), extras):
        assert same(float(got), float(unwrapped(metric))), f"pandas read {got!r} for metric {metric!r}"


def test_csv_lone_surrogates_in_keys_and_values_are_escaped_not_fatal(tmp_path):
    trial = make_trial({}, logdir=str(tmp_path))
    logger = CSVLogger({}, str(tmp_path), trial)
    logger.on_result({"training_iteration": 1, "name\ud800": "bad\udcff", "ok": 1.0})
    logger.on_result({"training_iteration": 2, "late\udfff": ["x\ud800"], "ok": 2.0})  # widens the header
    logger.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert df["name\\ud800"].tolist()[0] == "bad\\udcff" and df["ok"].tolist() == [1.0, 2.0]
    assert json.loads(df["late\\udfff"].tolist()[1]) == ["x\ud800"]  # JSON text carries the escape


def test_csv_ints_beyond_what_python_prints_are_written_as_their_magnitude(tmp_path):
    trial = make_trial({}, logdir=str(tmp_path))
    logger = CSVLogger({}, str(tmp_path), trial)
    logger.on_result({"training_iteration": 1, "huge": 3 ** 20000, "negative": -(10 ** 5000), "exact": 2 ** 100})
    logger.close()
    row = next(csv.DictReader(open(tmp_path / "progress.csv", newline="", encoding="utf-8")))
    assert row["huge"].startswith("2.66130342721742") and row["huge"].endswith("e+9542")
    assert row["negative"] == "-1.000000000000000e+5000" and row["exact"] == str(2 ** 100)


# -- TensorBoard ------------------------------------------------------------------------------
def load(logdir) -> EventAccumulator:
    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0, "histograms": 0})
    ea.Reload()
    return ea


def check_tensorboard(logdir: str, results: list[dict]) -> None:
    ea = load(logdir)
    scalars = {tag: [(e.step, e.value) for e in ea.Scalars(tag)] for tag in ea.Tags()["scalars"]}
    histograms = {tag: [(e.step, e.histogram_value) for e in ea.Histograms(tag)] for tag in ea.Tags()["histograms"]}
    want_scalars: dict = {}
    want_histograms: dict = {}
    for result in results:
        step = expected_step(result["timesteps_total"], result["training_iteration"])
        for key, value in flat(result).items():
            tag = escaped(f"ray/tune/{key}")
            value = unwrapped(value)
            if is_real(value):
                if not (isinstance(value, int) and abs(value) > 2 ** 1023):  # no float holds it: no scalar
                    want_scalars.setdefault(tag, []).append((step, float32(float(value))))
            elif histogram_values(value) is not None:
                want_histograms.setdefault(tag, []).append((step, histogram_values(value)))
    assert set(scalars) == set(want_scalars), "scalar tags differ from the real numbers written"
    for tag, want in want_scalars.items():
        got = scalars[tag]
        assert [s for s, _ in got] == [s for s, _ in want], f"{tag}: steps"
        assert all(same(g, w) for (_, g), (_, w) in zip(got, want)), f"{tag}: wrote {want}, read back {got}"
    assert set(histograms) == set(want_histograms), "histogram tags differ from the numeric arrays written"
    for tag, want in want_histograms.items():
        got = histograms[tag]
        assert [s for s, _ in got] == [s for s, _ in want], f"{tag}: steps"
        for (_, histogram), (_, values) in zip(got, want):
            assert histogram.num == values.size and sum(histogram.bucket) == values.size
            assert histogram.min == values.min() and histogram.max == values.max()


@SETTINGS
@given(extras=st.lists(st.tuples(reported(), steps()), min_size=1, max_size=3), batched=st.booleans())
def test_tensorboard_reads_back_every_number_as_a_scalar_and_arrays_as_histograms(tmp_path_factory, extras,
                                                                                  batched):
    logdir = str(tmp_path_factory.mktemp("tb"))
    trial = make_trial({"lr": 0.5}, logdir=logdir)
    results = [{"training_iteration": i + 1, "timesteps_total": timesteps, **extra}
               for i, (extra, timesteps) in enumerate(extras)]
    logger = TensorBoardLogger(trial.config, logdir, trial)
    feed_logger(logger, results, batched)
    assert len(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))) == 1
    check_tensorboard(logdir, results)


@SETTINGS
@given(config=reported())
def test_tensorboard_hparams_hold_every_config_value(tmp_path_factory, config):
    logdir = str(tmp_path_factory.mktemp("hparams"))
    trial = make_trial(config, logdir=logdir)
    logger = TensorBoardLogger(config, logdir, trial)
    logger.on_result({"training_iteration": 1, "acc": np.float32(0.5), "loss": np.float16("nan")})
    logger.close()
    data = {tag: plugin_data_pb2.HParamsPluginData.FromString(content)
            for tag, content in load(logdir).PluginTagToContent("hparams").items()}
    hparams = data["_hparams_/session_start_info"].session_start_info.hparams
    metric_tags = {m.name.tag for m in data["_hparams_/experiment"].experiment.metric_infos}
    assert "ray/tune/acc" in metric_tags and "ray/tune/loss" not in metric_tags  # NaN is no final metric
    written = flat(config)
    assert set(hparams) == {escaped(k) for k in written}
    for key, value in written.items():
        got = hparams[escaped(key)]
        value = unwrapped(value)
        if isinstance(value, (bool, np.bool_)):
            assert got.WhichOneof("kind") == "bool_value" and got.bool_value == bool(value), key
        elif isinstance(value, str):
            assert got.WhichOneof("kind") == "string_value" and got.string_value == escaped(value), key
        elif is_real(value):
            assert got.WhichOneof("kind") == "number_value" and same(got.number_value, float(value)), key
        else:
            assert got.WhichOneof("kind") == "string_value" and got.string_value, key


def test_tensorboard_steps_beyond_int64_fall_back_to_the_iteration(tmp_path):
    trial = make_trial({}, logdir=str(tmp_path))
    logger = TensorBoardLogger({}, str(tmp_path), trial)
    logger.on_result({"training_iteration": 1, "timesteps_total": np.uint64(2 ** 64 - 1), "acc": 0.5})
    logger.on_result({"training_iteration": 2, "timesteps_total": 2 ** 70, "acc": 2 ** 1100})
    logger.on_result({"training_iteration": np.int64(3), "timesteps_total": np.float32("nan"), "acc": 0.75})
    logger.close()
    ea = load(tmp_path)
    assert [(e.step, e.value) for e in ea.Scalars("ray/tune/acc")] == [(1, 0.5), (3, 0.75)]  # 2**1100: no float
    assert [e.step for e in ea.Scalars("ray/tune/training_iteration")] == [1, 2, 3]


def test_tensorboard_histograms_leave_out_non_finite_values(tmp_path):
    trial = make_trial({}, logdir=str(tmp_path))
    logger = TensorBoardLogger({}, str(tmp_path), trial)
    logger.on_result({"training_iteration": 1, "weights": np.array([[1.0, np.nan], [np.inf, 3.0]]),
                      "hist_stats": {"rewards": [1, np.float32(2.5), 4]}, "all_nan": np.array([np.nan]),
                      "flags": np.array([True, False]), "names": ["a", "b"], "mixed": [1, None]})
    logger.close()
    ea = load(tmp_path)
    assert set(ea.Tags()["histograms"]) == {"ray/tune/weights", "ray/tune/hist_stats/rewards"}
    weights = ea.Histograms("ray/tune/weights")[0].histogram_value
    assert (weights.num, weights.min, weights.max, weights.sum) == (2, 1.0, 3.0, 4.0)
    rewards = ea.Histograms("ray/tune/hist_stats/rewards")[0].histogram_value
    assert (rewards.num, rewards.min, rewards.max, rewards.sum) == (3, 1.0, 4.0, 7.5)


@pytest.mark.parametrize("value", [2 ** 64, 2 ** 2000, np.uint64(2 ** 64 - 1), np.array(0.25), np.float16(1.5)],
                         ids=["2**64", "2**2000", "uint64", "0-d array", "float16"])
def test_tensorboard_hparams_of_numbers_tensorboardx_refuses(tmp_path, value):
    trial = make_trial({"x": value}, logdir=str(tmp_path))
    logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
    logger.on_result({"training_iteration": 1, "acc": 0.5})
    logger.close()
    data = {tag: plugin_data_pb2.HParamsPluginData.FromString(content)
            for tag, content in load(tmp_path).PluginTagToContent("hparams").items()}
    got = data["_hparams_/session_start_info"].session_start_info.hparams["x"]
    if isinstance(value, int) and value > 2 ** 1023:
        assert got.string_value.startswith("1.14813") and got.string_value.endswith("e+602")
    else:
        assert got.number_value == float(unwrapped(value))
