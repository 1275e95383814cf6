"""Values as users really report them: numpy scalars and arrays, NaN/inf, None, nested dicts...

Every component a result passes through on the driver takes them (property-based, with
the strategies of ``tunecore.testing._values``), and end to end on real Ray, with
``verbose`` at its default, every trainable API reports them without a trial failing.
A component that still raises (a printer, a logger) is contained: reported once, skipped
for that result, the trials go on and ``result.json`` keeps every row.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import tunecore as tune
from tunecore import TuneError
from tunecore.analysis import Analysis
from tunecore.loggers import Logger
from tunecore.state import trial_from_record, trial_to_record
from tunecore.status import ProgressPrinter, format_result, status_table, summary_text
from tunecore.testing import make_result, make_trial
from tunecore.testing._values import NUMPY_FLOATS, NUMPY_INTS, metric_values, result_dicts
from tunecore.trial import TrialStatus
from tunecore.util import as_float, dumps, from_jsonable, plain, to_jsonable
from tunecore.web.sources import record_from_trial, trial_info

FAST = settings(max_examples=150, deadline=None)


def strict_loads(text: str):
    """json.loads that refuses the NaN/Infinity tokens: plain JSON only."""
    def refuse(token):
        raise AssertionError(f"not plain JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def same_number(a, b) -> bool:
    a, b = as_float(a), as_float(b)
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


# -- the value helpers -------------------------------------------------------------------
@FAST
@given(metric_values())
def test_plain_turns_every_numeric_kind_into_a_python_number(value):
    out = plain(value)
    assert type(out) in (int, float), (value, out)
    assert same_number(out, value)


@FAST
@given(metric_values())
def test_numbers_survive_plain_json_and_read_back_as_floats(value):
    text = dumps({"m": value})
    back = from_jsonable(strict_loads(text))["m"]
    assert same_number(back, value), (value, text, back)


@FAST
@given(result_dicts())
def test_to_jsonable_is_total_and_plain(result):
    strict_loads(json.dumps(to_jsonable(result), allow_nan=False))


def test_nonfinite_spelling_and_other_types():
    assert to_jsonable([float("nan"), np.float32("inf"), -math.inf]) == ["NaN", "Infinity", "-Infinity"]
    assert to_jsonable(datetime.datetime(2026, 1, 2, 3, 4)) == "2026-01-02T03:04:00"
    assert to_jsonable(np.arange(3, dtype=np.uint8)) == [0, 1, 2]
    assert to_jsonable(2 ** 100) == 2 ** 100 and to_jsonable(np.float16(1.5)) == 1.5
    assert to_jsonable({1: np.bool_(True)}) == {"1": True}

    class Unprintable:
        def __str__(self):
            raise ValueError("no")

    assert to_jsonable(Unprintable()) == "<unprintable Unprintable>"
    assert type(to_jsonable(np.float64(0.5))) is float  # np.float64 subclasses float: no longer passes as is


# -- the status printer ----------------------------------------------------------------------
@FAST
@given(result_dicts(required=("mean_accuracy",)), st.booleans())
def test_result_dump_prints_any_result(extra, normalized):
    trial = make_trial({"lr": 0.1})
    result = make_result(trial, 3, **extra)
    text = format_result(trial, plain(result) if normalized else result)
    assert text.startswith(f"Result for {trial}:\n")
    body = yaml.safe_load("\n".join(line[2:] for line in text.splitlines()[1:]))
    assert body["training_iteration"] == 3 and "config" not in body
    assert same_number(body["mean_accuracy"], result["mean_accuracy"])


@FAST
@given(st.lists(result_dicts(required=("mean_accuracy", "episode_reward_mean", "mean_loss")), min_size=1,
                max_size=4))
def test_status_table_and_summary_take_any_last_result(extras):
    trials = []
    for i, extra in enumerate(extras):
        trial = make_trial({"i": i}, status=TrialStatus.TERMINATED, experiment_tag=f"{i}_i={i}")
        trial.last_result = make_result(trial, 2, **extra)
        trials.append(trial)
    table = status_table(trials, "Using FIFO scheduling algorithm.", None, ["/tmp/x"], max_rows=None)
    assert table.count(" - ") == len(trials)
    summary = summary_text(trials, "mean_accuracy", "max")
    assert summary.startswith(f"Finished {len(trials)} trials")
    finite = [as_float(t.last_result["mean_accuracy"]) for t in trials]
    if any(v is not None and not math.isnan(v) for v in finite):
        assert "Best trial:" in summary


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_printer_at_every_verbosity(verbose):
    out = io.StringIO()
    printer = ProgressPrinter(verbose=verbose, interval=0.0, out=out)
    trial = make_trial({"lr": np.float32(0.5)})
    trial.last_result = make_result(trial, 1, mean_accuracy=np.float32(0.25), loss=float("nan"),
                                    arr=np.ones((2, 2)), when=datetime.datetime(2026, 1, 1))
    printer.table(lambda: status_table([trial], "sched", None, []), force=True)
    printer.result(trial, dict(trial.last_result, done=True))
    assert ("Result for" in out.getvalue()) == (verbose >= 2)
    assert ("== Status ==" in out.getvalue()) == (verbose >= 1)


# -- stopping criteria -------------------------------------------------------------------------
@FAST
@given(metric_values(), st.floats(-1e6, 1e6))
def test_stopping_criterion_compares_any_number(value, threshold):
    trial = make_trial(stopping_criterion={"m": threshold})
    expected = as_float(plain(value))
    assert trial.should_stop({"m": value}) == (expected >= threshold)  # NaN meets nothing


def test_stopping_criterion_on_a_non_number_says_what_to_do():
    trial = make_trial(stopping_criterion={"m": 1})
    assert trial.should_stop({"m": None}) is False
    with pytest.raises(TuneError, match=r"Stopping criterion 'm' needs a number.*m='high'"):
        trial.should_stop({"m": "high"})


# -- experiment state and the HTTP API ------------------------------------------------------------
@FAST
@given(result_dicts(required=("mean_accuracy",)))
def test_state_record_is_plain_json_and_restores_numbers(extra):
    trial = make_trial({"lr": np.float32(0.5), "grid": [np.int64(1), 2]}, status=TrialStatus.TERMINATED)
    trial.last_result = make_result(trial, 4, **extra)
    text = json.dumps(trial_to_record(trial), allow_nan=False)
    back = trial_from_record(from_jsonable(strict_loads(text)))
    assert same_number(back.last_result["mean_accuracy"], extra["mean_accuracy"])
    assert back.config["lr"] == 0.5 and back.config["grid"] == [1, 2]


@FAST
@given(result_dicts(required=("mean_accuracy",)))
def test_http_trial_info_is_plain_json(extra):
    trial = make_trial({"lr": np.float64(0.5)}, status=TrialStatus.RUNNING)
    trial.last_result = make_result(trial, 1, **extra)
    info = strict_loads(json.dumps(trial_info(record_from_trial(trial)), allow_nan=False))
    assert info["result"]["training_iteration"] == 1 and info["config"] == {"lr": 0.5}


# -- a trainable that cannot be called is refused before any trial starts -------------------------
def _one_arg(config):
    pass


def _three_args(config, reporter, extra):
    pass


def _keyword_reporter(config, *, reporter):
    pass


@pytest.mark.parametrize("fn", [_three_args, _keyword_reporter])
def test_function_of_the_wrong_signature_is_refused_before_any_trial(fn, results_dir):
    with pytest.raises(TuneError, match=rf"the function {fn.__name__}\(.*can be called neither as "
                                        rf"{fn.__name__}\(config\) nor as {fn.__name__}\(config, reporter\)"
                                        r".*def train\(config\)"):
        tune.run_experiments({"bad": {"run": fn, "local_dir": results_dir}}, verbose=False)
    assert not os.listdir(results_dir)  # nothing started, nothing written


def test_accepted_function_forms_register():
    def with_default(config, reporter=None):
        pass

    def star(*args):
        pass

    for fn in (with_default, star, _one_arg):  # _one_arg: the Ray Tune 2.x form
        tune.register_trainable(f"ok_{fn.__name__}", fn)


def test_a_class_that_is_not_a_trainable_is_refused(results_dir):
    class NotATrainable:
        pass

    with pytest.raises(TuneError, match="NotATrainable is not a subclass of tunecore.Trainable"):
        tune.run_experiments({"bad": {"run": NotATrainable, "local_dir": results_dir}}, verbose=False)
    with pytest.raises(TuneError, match="Unknown trainable 'test_values:_three_args'.*can be called neither"):
        tune.run_experiments({"bad": {"run": "test_values:_three_args", "local_dir": results_dir}}, verbose=False)


# -- end to end, on real Ray, with verbose at its default ------------------------------------------
def every_kind(i: int) -> dict:
    """One result with every kind of value a training loop reports."""
    kinds = {f"f_{t.__name__}": t(0.25 * i) for t in NUMPY_FLOATS}
    kinds.update({f"i_{t.__name__}": t(i) for t in NUMPY_INTS})
    kinds.update({
        "mean_accuracy": np.float64(0.1 * i), "b": np.bool_(i % 2), "zero_d": np.array(0.5 * i),
        "vector": np.arange(3, dtype=np.float32) * i, "matrix": np.eye(2), "nan": float("nan"),
        "np_nan": np.float32("nan"), "inf": math.inf, "ninf": np.float64("-inf"), "none": None,
        "nested": {"loss": np.float32(1.0 / i), "deeper": {"grad": np.float16(0.5), "ok": True}},
        "items": [1, np.int64(2), "three"], "text": "ünïcødé ✓", "big": 2 ** 80,
        "when": datetime.datetime(2026, 12, 2, 12, 0, i),
    })
    return kinds


def report_everything(config, reporter):
    for i in range(1, config["iters"] + 1):
        reporter(**every_kind(i))


class ReportsEverything(tune.Trainable):
    def _setup(self, config):
        self.i = 0

    def _train(self):
        self.i += 1
        result = every_kind(self.i)
        if self.i >= self.config["iters"]:
            result["done"] = True
        return result


def check_experiment_folder(folder: str, iters: int, trials: int) -> None:
    analysis = Analysis(folder)
    assert len(analysis.trials) == trials
    for record in analysis.trials:
        rows = record.results()
        assert [r["training_iteration"] for r in rows] == list(range(1, iters + 1))
        last = rows[-1]
        assert math.isnan(last["nan"]) and math.isnan(last["np_nan"])  # read back as floats
        assert last["inf"] == math.inf and last["ninf"] == -math.inf
        assert last["f_float32"] == 0.25 * iters and last["i_uint64"] == iters and last["b"] is bool(iters % 2)
        assert last["vector"] == [0.0, iters, 2.0 * iters] and last["matrix"] == [[1.0, 0.0], [0.0, 1.0]]
        assert last["big"] == 2 ** 80 and last["text"] == "ünïcødé ✓" and last["when"] == "2026-12-02T12:00:03"
        assert last["nested"]["deeper"] == {"grad": 0.5, "ok": True}
        with open(os.path.join(record.logdir, "result.json"), encoding="utf-8") as f:
            for line in f:
                strict_loads(line)
    with open(os.path.join(folder, "experiment_state.json"), encoding="utf-8") as f:
        strict_loads(f.read())
    best = analysis.get_best_trial("mean_accuracy", "max")
    assert best is not None and best.last_result["mean_accuracy"] == pytest.approx(0.1 * iters)
    frame = analysis.dataframe()
    assert frame["nested/loss"].dtype.kind == "f" and frame["nan"].isna().all()


@pytest.mark.parametrize("run", [report_everything, ReportsEverything], ids=["function", "class"])
def test_every_kind_of_value_end_to_end_with_default_verbosity(ray_session, results_dir, run, capsys):
    trials = tune.run_experiments({"values": {
        "run": run, "config": {"iters": 3}, "num_samples": 2, "local_dir": results_dir,
        "stop": {"i_int8": 3}, "loggers": ["json", "csv", "tensorboard"],
    }}, scheduler="median_stopping", metric="mean_accuracy", mode="max")
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 2
    out = capsys.readouterr()
    assert "Result for" in out.out and "f_float16: 0.75" in out.out and "nan: .nan" in out.out
    assert "failed" not in out.err
    folder = os.path.join(results_dir, "values")
    check_experiment_folder(folder, iters=3, trials=2)

    from tunecore.cli import main
    assert main(["ls", folder]) == 0
    listing = capsys.readouterr().out
    assert listing.count("TERMINATED") == 2 and "Best (mean_accuracy, max)" in listing

    import http.client

    from tunecore.web_server import DashboardServer

    with DashboardServer(folder, port=0, token="v" * 40, verbose=False) as server:
        for path in ("/trials", "/api/history?since=0"):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", path, headers={"Authorization": "Bearer " + "v" * 40})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8")
            conn.close()
            assert resp.status == 200, body
            strict_loads(body)


# -- a failing component is contained ---------------------------------------------------------------
class ChokingLogger(Logger):
    """Raises on every other result."""

    def _init(self):
        self.seen = 0

    def on_result(self, result):
        self.seen += 1
        if self.seen % 2:
            raise ValueError(f"cannot log {result['training_iteration']}")


class ChokingPrinter(ProgressPrinter):
    def table(self, text, force=False, in_place=True):
        raise RuntimeError("the terminal went away")

    def result(self, trial, result):
        raise UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range")


def test_failing_logger_and_printer_are_reported_once_and_skipped(ray_session, results_dir, capsys):
    trials = tune.run_experiments({"contained": {
        "run": report_everything, "config": {"iters": 5}, "num_samples": 3, "local_dir": results_dir,
        "loggers": ["json", ChokingLogger],
    }}, printer=ChokingPrinter(verbose=2))
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 3
    err = capsys.readouterr().err
    assert err.count("tunecore: WARNING: logger 'ChokingLogger' failed") == 1
    assert "cannot log 1" in err and "the value it choked on: {" in err
    assert err.count("tunecore: WARNING: the status printer failed") == 1
    for trial in trials:
        with open(os.path.join(trial.logdir, "result.json"), encoding="utf-8") as f:
            assert [strict_loads(line)["training_iteration"] for line in f] == [1, 2, 3, 4, 5]
