"""Resuming an experiment: what is kept, what restarts, what is refused; Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tunecore as tune
from tunecore.errors import TuneError
from tunecore.loggers.json import trim_results
from tunecore.state import restore_iteration
from tunecore.trial import Checkpoint

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_scripts")
sys.path.insert(0, SCRIPTS)

from fault_trainables import Steps  # noqa: E402


def spec(local_dir, iters=(3, 3, 3), **extra):
    return {"resumable": {"run": Steps, "local_dir": local_dir, "checkpoint_freq": 2, "max_failures": 1,
                          "config": {"iters": tune.grid_search(list(iters)), "sleep": 0.0}, **extra}}


def state_of(local_dir, name="resumable"):
    with open(os.path.join(local_dir, name, "experiment_state.json")) as f:
        return json.load(f)


def rows(logdir):
    with open(os.path.join(logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


# -- result.json stays consistent with the checkpoint a trial restarts from -------------------
def test_trim_results_drops_rows_after_the_checkpoint_and_a_torn_line(tmp_path):
    path = tmp_path / "result.json"
    lines = [json.dumps({"training_iteration": i, "v": i}) + "\n" for i in range(1, 6)]
    path.write_text("".join(lines) + '{"training_iteration": 6, "v"')  # the driver died mid-write
    assert trim_results(str(tmp_path), 3) == 3
    assert path.read_text() == "".join(lines[:3])
    assert trim_results(str(tmp_path), 3) == 0  # nothing to do: the file is not rewritten
    assert trim_results(str(tmp_path), 0) == 3 and path.read_text() == ""
    assert trim_results(str(tmp_path / "missing"), 0) == 0


def test_restore_iteration_reads_the_checkpoint_metadata(tmp_path):
    trainable = Steps(config={"iters": 9, "sleep": 0}, logdir=str(tmp_path))
    for _ in range(4):
        trainable.train()
    path = trainable.save()
    # the checkpoint's own metadata wins over the (possibly stale) recorded iteration
    assert restore_iteration(Checkpoint(Checkpoint.DISK, path, 2)) == 4
    assert restore_iteration(Checkpoint(Checkpoint.MEMORY, b"blob", 7)) == 7
    assert restore_iteration(None) == 0


# -- run_experiments(resume=True) -----------------------------------------------------------------
def test_resume_without_earlier_state_starts_fresh(ray_session, results_dir):
    trials = tune.run_experiments(spec(results_dir, iters=(2,)), resume=True, verbose=0)
    assert [t.status.value for t in trials] == ["TERMINATED"]
    assert state_of(results_dir)["finished"] is True
    assert [r["training_iteration"] for r in rows(trials[0].logdir)] == [1, 2]


def test_resume_of_a_finished_experiment_says_so_and_does_nothing(ray_session, results_dir, capsys):
    first = tune.run_experiments(spec(results_dir), verbose=0)
    before = state_of(results_dir)
    mtimes = {t.trial_id: os.stat(os.path.join(t.logdir, "result.json")).st_mtime_ns for t in first}
    capsys.readouterr()
    again = tune.run_experiments(spec(results_dir), resume=True, verbose=0)
    assert "already finished" in capsys.readouterr().out
    assert [(t.trial_id, t.status.value, t.logdir) for t in again] == \
        [(t.trial_id, t.status.value, t.logdir) for t in first]
    assert state_of(results_dir) == before
    assert {t.trial_id: os.stat(os.path.join(t.logdir, "result.json")).st_mtime_ns for t in again} == mtimes


def test_resume_refuses_the_state_of_another_spec(ray_session, results_dir):
    tune.run_experiments(spec(results_dir, iters=(2,)), verbose=0)
    with pytest.raises(TuneError, match="different spec") as err:
        tune.run_experiments(spec(results_dir, iters=(5,)), resume=True, verbose=0)
    assert "resumable" in str(err.value) and "another name" in str(err.value)


def test_resume_restarts_running_and_paused_trials_and_starts_pending_ones(ray_session, results_dir):
    trials = tune.run_experiments(spec(results_dir, iters=(6, 6, 6, 6)), verbose=0)
    path = os.path.join(results_dir, "resumable", "experiment_state.json")
    with open(path) as f:
        state = json.load(f)
    recs = state["trials"]
    # make it look like a crash: trial 1 RUNNING at 5 with its checkpoint at 4, trial 2 RUNNING
    # without checkpoint, trial 3 PAUSED at 4 with its checkpoint at 2; trial 0 stays finished
    def crash(rec, status, ckpt_iter, logged):
        rec["status"] = status
        rec["checkpoint"] = None if ckpt_iter is None else {
            "storage": "disk", "iteration": ckpt_iter,
            "value": os.path.join(rec["logdir"], f"checkpoint_{ckpt_iter:06d}")}
        kept = rows(rec["logdir"])[:logged]
        with open(os.path.join(rec["logdir"], "result.json"), "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in kept))
        rec["last_result"] = kept[-1]
    crash(recs[1], "RUNNING", 4, 5)
    crash(recs[2], "RUNNING", None, 3)
    crash(recs[3], "PAUSED", 2, 4)
    recs.append(dict(recs[2], trial_id="pending01", logdir=None, status="PENDING", checkpoint=None,
                     last_result=None, experiment_tag="4_pending"))
    state["finished"] = False
    with open(path, "w") as f:
        json.dump(state, f)
    finished_before = os.stat(os.path.join(trials[0].logdir, "result.json")).st_mtime_ns

    resumed = tune.run_experiments(spec(results_dir, iters=(6, 6, 6, 6)), resume=True, verbose=0)
    by_id = {t.trial_id: t for t in resumed}
    assert sorted(by_id) == sorted(r["trial_id"] for r in recs)
    assert all(t.status.value == "TERMINATED" for t in resumed)
    assert os.stat(os.path.join(trials[0].logdir, "result.json")).st_mtime_ns == finished_before
    for rec, restart_at in ((recs[1], 4), (recs[2], 0), (recs[3], 2), (recs[4], 0)):
        t = by_id[rec["trial_id"]]
        if rec["logdir"]:
            assert t.logdir == rec["logdir"]  # same folder
        r = rows(t.logdir)
        assert [x["training_iteration"] for x in r] == [1, 2, 3, 4, 5, 6]
        assert [x["value"] for x in r] == [1, 2, 3, 4, 5, 6]
        assert r[restart_at]["iterations_since_restore"] == 1
    assert state_of(results_dir)["finished"] is True


# -- Ctrl-C -----------------------------------------------------------------------------------------
def _start_cli(tmp_path, ray_session, iters):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({
        "experiments": {"sig": {"run": "fault_trainables:Steps", "local_dir": str(tmp_path / "results"),
                                "checkpoint_freq": 2, "config": {"iters": {"grid_search": iters}, "sleep": 0.1}}},
        "address": ray_session.get_runtime_context().gcs_address, "verbose": 1}))
    cmd = [sys.executable, "-m", "tunecore", "run", str(spec_file)]
    proc = subprocess.Popen(cmd, cwd=SCRIPTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return cmd, proc, tmp_path / "results" / "sig"


def _wait_running(proc, exp_dir, need_finished):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            state = json.loads((exp_dir / "experiment_state.json").read_text())
        except (OSError, ValueError):
            state = None
        if state:
            done = [t for t in state["trials"] if t["status"] == "TERMINATED"]
            busy = [t for t in state["trials"] if t["status"] == "RUNNING" and t["checkpoint"]]
            if busy and len(done) >= need_finished:
                return state
        time.sleep(0.05)
    pytest.fail("the trials never got going")


def test_first_ctrl_c_saves_state_stops_trials_and_prints_the_resume_command(ray_session, tmp_path):
    cmd, proc, exp_dir = _start_cli(tmp_path, ray_session, [2, 40, 40])
    try:
        _wait_running(proc, exp_dir, need_finished=1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.communicate()
    assert time.monotonic() - sent < 30
    assert proc.returncode == 130, err[-3000:]
    assert f"tune run {tmp_path / 'spec.json'} --resume" in err
    state = json.loads((exp_dir / "experiment_state.json").read_text())
    statuses = sorted(t["status"] for t in state["trials"])
    # nothing left RUNNING: stopped trials wait PAUSED at their checkpoint (PENDING without one)
    assert statuses[-1] == "TERMINATED" and statuses[0] == "PAUSED" and state["finished"] is False
    assert set(statuses[:2]) <= {"PAUSED", "PENDING"}

    resumed = subprocess.run(cmd + ["--resume"], cwd=SCRIPTS, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = json.loads((exp_dir / "experiment_state.json").read_text())
    assert state["finished"] is True
    for t in state["trials"]:
        r = rows(t["logdir"])
        assert [x["training_iteration"] for x in r] == list(range(1, t["config"]["iters"] + 1))
        assert [x["value"] for x in r] == [x["training_iteration"] for x in r]


def test_second_ctrl_c_exits_at_once(ray_session, tmp_path):
    _, proc, exp_dir = _start_cli(tmp_path, ray_session, [40, 40])
    try:
        _wait_running(proc, exp_dir, need_finished=0)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0
    assert took < 10, took
    assert "--resume" in err
    json.loads((exp_dir / "experiment_state.json").read_text())  # still a whole state file
