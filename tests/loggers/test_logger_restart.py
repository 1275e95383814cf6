"""Logger.restore_iteration: loggers drop the rows an earlier run logged after a trial's restart point."""

from __future__ import annotations

import json
import os

import pytest

from tunecore import run_experiments
from tunecore.loggers import JsonLogger, Logger
from tunecore.loggers.json import trim_results
from tunecore.testing import FailsOnce, make_result, make_trial
from tunecore.trial import TrialStatus


def iterations(logdir) -> list[int]:
    with open(os.path.join(logdir, "result.json"), encoding="utf-8") as f:
        return [json.loads(line)["training_iteration"] for line in f]


def log(logdir, trial, restore, its, **extra) -> None:
    with Logger.restoring(restore):
        logger = JsonLogger(trial.config, str(logdir), trial)
    for i in its:
        logger.on_result(make_result(trial, i, **extra))
    logger.close()


@pytest.fixture
def trial(tmp_path):
    return make_trial({"lr": 0.1}, logdir=str(tmp_path))


def test_restore_iteration_is_none_outside_a_restoring_block(trial, tmp_path):
    logger = JsonLogger(trial.config, str(tmp_path), trial)
    logger.close()
    assert logger.restore_iteration is None and Logger.current_restore_iteration() is None


def test_restoring_sets_the_attribute_and_is_reset_afterwards_even_on_errors(trial, tmp_path):
    seen = []

    def factory(config, logdir, trial):  # a third-party factory that is not a Logger subclass
        seen.append(Logger.current_restore_iteration())
        return JsonLogger(config, logdir, trial)

    with Logger.restoring(3):
        logger = factory(trial.config, str(tmp_path), trial)
        with Logger.restoring(0):
            inner = JsonLogger(trial.config, str(tmp_path), trial)
        assert Logger.current_restore_iteration() == 3
    assert (seen, logger.restore_iteration, inner.restore_iteration) == ([3], 3, 0)
    with pytest.raises(RuntimeError), Logger.restoring(5):
        raise RuntimeError("boom")
    assert Logger.current_restore_iteration() is None
    logger.close()
    inner.close()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_restoring_rejects_a_bad_iteration(bad):
    with pytest.raises(ValueError, match=r"restore_iteration must be None or an int >= 0, but got restore_iteration="):
        with Logger.restoring(bad):
            pass


def test_json_logger_keeps_rows_up_to_k_then_the_new_ones(trial, tmp_path):
    log(tmp_path, trial, None, range(1, 6), gen=1)
    log(tmp_path, trial, 2, range(3, 5), gen=2)
    rows = [json.loads(line) for line in (tmp_path / "result.json").read_text().splitlines()]
    assert [(r["training_iteration"], r["gen"]) for r in rows] == [(1, 1), (2, 1), (3, 2), (4, 2)]


def test_json_logger_from_scratch_and_at_the_last_row(trial, tmp_path):
    log(tmp_path, trial, None, range(1, 4))
    log(tmp_path, trial, 3, [4])  # nothing after 3: only appends
    assert iterations(tmp_path) == [1, 2, 3, 4]
    log(tmp_path, trial, 0, [1, 2])  # restart from scratch: every earlier row goes
    assert iterations(tmp_path) == [1, 2]


def test_without_a_restore_point_the_json_logger_appends(trial, tmp_path):
    log(tmp_path, trial, None, range(1, 4))
    log(tmp_path, trial, None, range(2, 3))
    assert iterations(tmp_path) == [1, 2, 3, 2]


def test_trim_results_drops_a_torn_line_and_rewrites_only_when_needed(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("".join(json.dumps({"training_iteration": i}) + "\n" for i in range(1, 5))
                    + '{"training_iteration": 5, "tor')
    assert trim_results(str(tmp_path), 2) == 3
    assert iterations(tmp_path) == [1, 2]
    inode = os.stat(path).st_ino
    assert trim_results(str(tmp_path), 2) == 0
    assert os.stat(path).st_ino == inode  # not rewritten
    assert trim_results(str(tmp_path / "missing"), 0) == 0 and trim_results(None, 0) == 0
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")] == []


class RestartRecorder(Logger):
    """A third-party logger: records the restore point it was built with."""

    default_enabled = False

    def _init(self) -> None:
        with open(os.path.join(self.logdir, "restore_points.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(self.restore_iteration) + "\n")

    def on_result(self, result: dict) -> None:
        pass


def test_the_runner_tells_loggers_where_a_recovered_trial_restarts(ray_session, results_dir, tmp_path):
    [trial] = run_experiments({
        "restart_points": {
            "run": FailsOnce,
            "config": {"fail_at": 4, "marker": str(tmp_path / "failed")},
            "stop": {"training_iteration": 5},
            "checkpoint_freq": 2,
            "max_failures": 2,
            "local_dir": results_dir,
            "loggers": ["json", RestartRecorder],
        }
    }, verbose=False)
    assert trial.status == TrialStatus.TERMINATED and trial.num_failures == 1
    with open(os.path.join(trial.logdir, "restore_points.jsonl"), encoding="utf-8") as f:
        assert [json.loads(line) for line in f] == [0, 2]  # first start, then the checkpoint at 2
    rows = [json.loads(line) for line in open(os.path.join(trial.logdir, "result.json"), encoding="utf-8")]
    assert [r["training_iteration"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
