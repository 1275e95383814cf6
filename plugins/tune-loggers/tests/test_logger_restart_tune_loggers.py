"""CSVLogger and TensorBoardLogger after a restart from a checkpoint: every iteration once, the newest wins."""

from __future__ import annotations

import glob
import json
import os

import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2

from tune_loggers import CSVLogger, TensorBoardLogger
from tune_loggers.csv_logger import trim_progress
from tune_loggers.tensorboard_logger import purge_step_of
from tunecore import run_experiments
from tunecore.loggers import JsonLogger, Logger
from tunecore.testing import FailsOnce, make_result, make_trial
from tunecore.trial import TrialStatus

TAG = "ray/tune/"


@pytest.fixture
def trial(tmp_path):
    return make_trial({"lr": 0.01}, logdir=str(tmp_path))


def log(classes, trial, restore, its, gen, steps=None) -> None:
    """One run of ``classes``' loggers from restore point ``restore``: results ``its`` of generation ``gen``."""
    with Logger.restoring(restore):
        loggers = [cls(trial.config, trial.logdir, trial) for cls in classes]
    for i in its:
        extra = {"gen": float(gen)}
        if steps is not None:
            extra["timesteps_total"] = steps(i)
        for logger in loggers:
            logger.on_result(make_result(trial, i, **extra))
    for logger in loggers:
        logger.close()


def csv_rows(logdir) -> list[tuple[int, float]]:
    df = pd.read_csv(os.path.join(logdir, "progress.csv"))
    return list(zip(df["training_iteration"].astype(int), df["gen"]))


def tb_series(logdir, tag) -> list[tuple[int, float]]:
    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    ea.Reload()
    return [(e.step, e.value) for e in ea.Scalars(TAG + tag)]


def session_starts(logdir) -> list[int]:
    """The steps of the SessionLog.START events in the folder's event files."""
    out = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            if event.HasField("session_log"):
                out.append(event.step)
    return out


def hparams_sessions(logdir) -> int:
    """How many HParams sessions (``session_start_info`` summaries) the folder's event files hold."""
    count = 0
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in EventFileLoader(path).Load():
            count += sum(v.tag == "_hparams_/session_start_info" for v in event.summary.value)
    return count


def hparams_metrics(logdir) -> list[str]:
    """The metric tags of the HParams experiment TensorBoard shows for the folder."""
    ea = EventAccumulator(str(logdir))
    ea.Reload()
    content = ea.PluginTagToContent("hparams")["_hparams_/experiment"]
    return [m.name.tag for m in plugin_data_pb2.HParamsPluginData.FromString(content).experiment.metric_infos]


# -- CSVLogger ------------------------------------------------------------------------
def test_csv_keeps_rows_up_to_k_and_the_header_then_appends(trial, tmp_path):
    log([CSVLogger], trial, None, range(1, 6), 1)
    log([CSVLogger], trial, 2, range(3, 5), 2)
    assert csv_rows(tmp_path) == [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0)]
    assert (tmp_path / "progress.csv").read_text().count("training_iteration") == 1
    log([CSVLogger], trial, 0, [1], 3)  # from scratch: only the header survives
    assert csv_rows(tmp_path) == [(1, 3.0)]
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")] == []


def test_csv_restart_then_a_new_column(trial, tmp_path):
    log([CSVLogger], trial, None, range(1, 4), 1)
    with Logger.restoring(1):
        logger = CSVLogger(trial.config, str(tmp_path), trial)
    logger.on_result(make_result(trial, 2, gen=2.0, late=7.0))
    logger.close()
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df["training_iteration"]) == [1, 2]
    assert df["late"].isna().tolist() == [True, False]


def test_trim_progress_drops_torn_rows_and_rewrites_only_when_needed(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_bytes(b"training_iteration,loss\r\n1,0.5\r\n2,0.25\r\n3,0.1\r\n4,0.0")  # row 4 torn mid-write
    assert trim_progress(str(path), 3) == 1
    assert path.read_bytes() == b"training_iteration,loss\r\n1,0.5\r\n2,0.25\r\n3,0.1\r\n"
    inode = os.stat(path).st_ino
    assert trim_progress(str(path), 3) == 0 and os.stat(path).st_ino == inode  # not rewritten
    assert trim_progress(str(path), 1) == 2
    assert path.read_bytes() == b"training_iteration,loss\r\n1,0.5\r\n"
    path.write_bytes(b"training_itera")  # even the header is torn
    assert trim_progress(str(path), 1) == 0 and path.read_bytes() == b""
    assert trim_progress(str(tmp_path / "missing.csv"), 0) == 0


# -- TensorBoardLogger ----------------------------------------------------------------
def test_tensorboard_purges_the_steps_after_the_restore_point_and_the_new_values_win(trial, tmp_path):
    log([TensorBoardLogger], trial, None, range(1, 6), 1)
    log([TensorBoardLogger], trial, 2, range(3, 5), 2)
    assert tb_series(tmp_path, "gen") == [(10, 1.0), (20, 1.0), (30, 2.0), (40, 2.0)]
    assert tb_series(tmp_path, "training_iteration") == [(10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0)]


def test_tensorboard_purge_step_follows_row_k_not_the_first_new_step(trial, tmp_path):
    """Steps are timesteps_total; a replay need not reach the same step (here 45, not 30)."""
    log([JsonLogger, TensorBoardLogger], trial, None, range(1, 6), 1, steps=lambda i: 10 * i)
    assert purge_step_of(str(tmp_path), 2) == 21
    log([JsonLogger, TensorBoardLogger], trial, 2, range(3, 5), 2, steps=lambda i: 10 * i + 15)
    assert session_starts(tmp_path) == [21]
    assert tb_series(tmp_path, "training_iteration") == [(10, 1.0), (20, 2.0), (45, 3.0), (55, 4.0)]


def test_tensorboard_purge_step_from_progress_csv(trial, tmp_path):
    log([CSVLogger, TensorBoardLogger], trial, None, range(1, 6), 1, steps=lambda i: 100 * i)
    assert purge_step_of(str(tmp_path), 3) == 301
    log([CSVLogger, TensorBoardLogger], trial, 3, [4], 2, steps=lambda i: 100 * i + 50)
    assert session_starts(tmp_path) == [301]
    assert tb_series(tmp_path, "gen") == [(100, 1.0), (200, 1.0), (300, 1.0), (450, 2.0)]
    assert csv_rows(tmp_path) == [(1, 1.0), (2, 1.0), (3, 1.0), (4, 2.0)]


def test_tensorboard_alone_purges_from_the_first_new_step(trial, tmp_path):
    log([TensorBoardLogger], trial, None, range(1, 6), 1)
    assert purge_step_of(str(tmp_path), 2) is None  # no result.json, no progress.csv
    log([TensorBoardLogger], trial, 2, range(3, 5), 2)
    assert session_starts(tmp_path) == [30]


def test_tensorboard_restart_from_scratch_forgets_everything(trial, tmp_path):
    log([TensorBoardLogger], trial, None, range(1, 4), 1)
    log([TensorBoardLogger], trial, 0, [1, 2], 2)
    assert session_starts(tmp_path) == [0]
    assert tb_series(tmp_path, "gen") == [(10, 2.0), (20, 2.0)]


def test_tensorboard_first_start_writes_no_session_log(trial, tmp_path):
    log([TensorBoardLogger], trial, 0, [1, 2], 1)  # how the runner starts a new trial
    log([TensorBoardLogger], trial, None, [3], 1)  # outside a runner: nothing is purged
    assert session_starts(tmp_path) == []
    assert tb_series(tmp_path, "gen") == [(10, 1.0), (20, 1.0), (30, 1.0)]


def test_a_logger_closed_for_a_restart_leaves_the_hparams_session_to_the_next(trial, tmp_path):
    with Logger.restoring(0):
        first = TensorBoardLogger(trial.config, trial.logdir, trial)
    first.on_result(make_result(trial, 1, a=1.0))
    first.restarting = True  # as LoggerFanout.close(trial, restarting=True) sets it
    first.close()
    assert hparams_sessions(tmp_path) == 0
    with Logger.restoring(1):
        second = TensorBoardLogger(trial.config, trial.logdir, trial)
    second.on_result(make_result(trial, 2, a=2.0, b=5.0))  # a metric the first run never had
    second.close()
    # TensorBoard keeps a folder's first session: the only one holds the final metrics
    assert hparams_sessions(tmp_path) == 1
    assert {TAG + "a", TAG + "b"} <= set(hparams_metrics(tmp_path))


def test_event_files_sort_in_opening_order(trial, tmp_path):
    opened = []
    for _ in range(5):
        logger = TensorBoardLogger(trial.config, str(tmp_path), trial)
        opened.append(os.path.basename(logger._events._file_name))
        logger.close()
    assert sorted(opened) == opened and len(set(opened)) == 5


# -- end to end -------------------------------------------------------------------------
class Seen(Logger):
    """Appends every iteration it is given to ``seen.jsonl``: shows the replay really happened."""

    default_enabled = False

    def _init(self) -> None:
        self._path = os.path.join(self.logdir, "seen.jsonl")

    def on_result(self, result: dict) -> None:
        with open(self._path, "a", encoding="utf-8") as f:
            f.write(json.dumps([result["training_iteration"], result["gen"]]) + "\n")


def test_recovered_trial_logs_each_iteration_once_in_every_logger(ray_session, results_dir, tmp_path):
    # checkpoint at 2, row 3 logged, failure at 4: the trial restarts from 2 and logs 3 again
    [trial] = run_experiments({
        "logger_restart": {
            "run": FailsOnce,
            "config": {"fail_at": 4, "marker": str(tmp_path / "failed")},
            "stop": {"training_iteration": 6},
            "checkpoint_freq": 2,
            "max_failures": 1,
            "local_dir": results_dir,
            "loggers": ["json", "csv", "tensorboard", Seen],
        }
    }, verbose=False)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    logdir = trial.logdir
    with open(os.path.join(logdir, "seen.jsonl"), encoding="utf-8") as f:
        seen = [tuple(json.loads(line)) for line in f]
    assert seen == [(1, 1.0), (2, 1.0), (3, 1.0), (3, 2.0), (4, 2.0), (5, 2.0), (6, 2.0)]
    expected = [(1, 1.0), (2, 1.0), (3, 2.0), (4, 2.0), (5, 2.0), (6, 2.0)]
    with open(os.path.join(logdir, "result.json"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert [(r["training_iteration"], r["gen"]) for r in rows] == expected
    assert csv_rows(logdir) == expected
    assert tb_series(logdir, "gen") == [(10 * i, gen) for i, gen in expected]  # step: timesteps_total
    assert tb_series(logdir, "training_iteration") == [(10 * i, float(i)) for i, _ in expected]
    assert len(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))) == 2
    assert hparams_sessions(logdir) == 1  # written by the restarted logger only
