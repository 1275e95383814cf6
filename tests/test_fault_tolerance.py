"""Fault tolerance with real processes: a killed driver resumes, a killed worker recovers.

The driver runs as a subprocess (tests/fault_scripts/run_driver.py) attached to the
session's Ray, and is killed with SIGKILL by PID; workers are killed the same way.
After each, every finished trial's results are complete: iterations 1..N exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import tunecore as tune

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault_scripts")
sys.path.insert(0, SCRIPTS)

from fault_trainables import Steps  # noqa: E402


def gcs_address(ray_module) -> str:
    return ray_module.get_runtime_context().gcs_address


def read_state(exp_dir: str):
    try:
        with open(os.path.join(exp_dir, "experiment_state.json")) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def result_rows(logdir: str) -> list:
    with open(os.path.join(logdir, "result.json")) as f:
        return [json.loads(line) for line in f]


def snapshot(folder: str) -> dict:
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns, hashlib.sha1(f.read()).hexdigest())
    return out


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def wait_for(predicate, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the driver exited ({proc.returncode}) before {what}:\n{out}\n{err[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def assert_complete(trial_record: dict, iters: int) -> list:
    rows = result_rows(trial_record["logdir"])
    its = [r["training_iteration"] for r in rows]
    assert its == list(range(1, iters + 1)), f"{trial_record['name']}: iterations {its}"
    assert [r["value"] for r in rows] == its, f"{trial_record['name']}: state not restored: {rows}"
    return rows


@pytest.mark.parametrize("api", ["run_experiments", "tuner"])
def test_driver_killed_mid_run_then_resumed(ray_session, tmp_path, api):
    """SIGKILL of the driver, then a resume (``run_experiments(resume=True)``, or ``Tuner.restore``):
    no finished trial rerun, no trial folder duplicated, the others continue from their checkpoints."""
    local_dir = str(tmp_path)
    exp_dir = os.path.join(local_dir, "fault")
    cmd = [sys.executable, os.path.join(SCRIPTS, "run_driver.py"), local_dir, gcs_address(ray_session),
           "--api", api]
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def some_finished_others_midway():
            state = read_state(exp_dir)
            if not state:
                return None
            done = [t for t in state["trials"] if t["status"] == "TERMINATED"]
            mid = [t for t in state["trials"] if t["status"] == "RUNNING" and t["checkpoint"]
                   and (t["last_result"] or {}).get("training_iteration", 0) >= 3]
            return state if len(done) >= 2 and mid else None

        before = wait_for(some_finished_others_midway, 60, "2 finished trials and others mid-way", driver)
        os.kill(driver.pid, signal.SIGKILL)
        driver.communicate(timeout=10)
    finally:
        if driver.poll() is None:  # pragma: no cover - a failed wait
            driver.kill()
            driver.communicate()
    before = read_state(exp_dir)  # the last state the driver wrote
    finished = {t["trial_id"]: t for t in before["trials"] if t["status"] == "TERMINATED"}
    midway = {t["trial_id"]: t for t in before["trials"] if t["status"] == "RUNNING" and t["checkpoint"]}
    assert len(finished) >= 2 and midway
    untouched = {tid: snapshot(t["logdir"]) for tid, t in finished.items()}
    # the killed driver's workers go away with its job; wait so none writes any more
    pids = {t["last_result"]["pid"] for t in before["trials"] if t["last_result"]}
    wait_for(lambda: not any(pid_alive(p) for p in pids), 30, "the killed driver's workers to exit")

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "already finished" not in resumed.stdout
    after = read_state(exp_dir)
    assert after["finished"] is True
    by_id = {t["trial_id"]: t for t in after["trials"]}
    # same trials, same ids, same folders; none lost or added
    assert sorted(by_id) == sorted(t["trial_id"] for t in before["trials"])
    assert {tid: t["logdir"] for tid, t in by_id.items()} == {t["trial_id"]: t["logdir"] for t in before["trials"]}
    assert all(t["status"] == "TERMINATED" for t in by_id.values())
    assert sorted(os.listdir(exp_dir)) == sorted([os.path.basename(t["logdir"]) for t in by_id.values()]
                                                 + ["experiment_state.json"]
                                                 + (["tuner.pkl"] if api == "tuner" else []))
    for tid, snap in untouched.items():  # finished trials were never rerun
        assert snapshot(by_id[tid]["logdir"]) == snap
    for tid, t in by_id.items():
        iters = t["config"]["iters"]
        rows = assert_complete(t, iters)
        if tid in midway:  # continued from its checkpoint, not from scratch
            k = midway[tid]["checkpoint"]["iteration"]
            assert k >= 2
            assert rows[k]["iterations_since_restore"] == 1, rows[k]
            assert rows[k]["pid"] != rows[k - 1]["pid"]

    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already finished" in again.stdout
    assert read_state(exp_dir)["timestamp"] == after["timestamp"]


def test_worker_killed_recovers_through_max_failures(ray_session, tmp_path):
    marker = tmp_path / "victim.pid"
    killed = {}

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.02)
        if marker.exists():
            time.sleep(0.05)  # the pid is written
            pid = int(marker.read_text())
            killed["pid"] = pid
            os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    tune.register_trainable("Victim", Victim)
    trials = tune.run_experiments(
        {"victim": {"run": "Victim", "local_dir": str(tmp_path), "checkpoint_freq": 2, "max_failures": 2,
                    "config": {"iters": 8, "sleep": 0.02, "victim": tune.grid_search([True, False, False]),
                               "marker": str(marker)}}},
        verbose=0)
    thread.join(5)
    assert "pid" in killed
    statuses = [t.status.value for t in trials]
    assert statuses == ["TERMINATED"] * 3
    victim = trials[0]
    assert victim.num_failures == 1
    assert os.path.exists(victim.error_file)
    rows = assert_complete({"logdir": victim.logdir, "name": str(victim)}, 8)
    # iterations 1-2 came from the killed worker, 3.. from a new one restored at 2
    assert [r["pid"] for r in rows[:2]] == [killed["pid"]] * 2
    assert all(r["pid"] != killed["pid"] for r in rows[2:])
    assert rows[2]["iterations_since_restore"] == 1
    for other in trials[1:]:
        assert other.num_failures == 0
        assert_complete({"logdir": other.logdir, "name": str(other)}, 8)


class Victim(Steps):
    """Steps that, as the victim, stops at iteration 3 of its first life until killed."""

    def _train(self):
        if self.config["victim"] and self.step == 2 and not os.path.exists(self.config["marker"]):
            with open(self.config["marker"] + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.replace(self.config["marker"] + ".tmp", self.config["marker"])
            time.sleep(60)  # killed here
        return super()._train()


@pytest.mark.parametrize("kind", ["class", "function"])
def test_node_removed_its_trials_move_and_resume_from_checkpoints(tmp_path, kind):
    # its own 2-node Cluster, so in a subprocess: the test session already has a local Ray.
    # Checkpoints live in the trial folders on the driver's node: one taken on the worker node
    # is shipped there by a Ray task, and a trial moved to the head gets it back from there.
    proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "node_removal.py"), str(tmp_path), kind],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["removed"].get("trials"), f"the node was never removed while a trial ran on it: {out}"
    moved = out["removed"]["trials"]
    assert len(out["trials"]) == 4
    for trial_id, t in out["trials"].items():
        assert t["status"] == "TERMINATED", (trial_id, t)
        assert t["iterations"] == list(range(1, 21)), (trial_id, t)
        assert t["values"] == t["iterations"], (trial_id, t)  # restored state, not restarted
        if trial_id in moved:
            assert t["num_failures"] >= 1
            assert out["removed_node"] in t["nodes"]
            assert any(n != out["removed_node"] for n in t["nodes"]), t
            k = t["since_restore"].index(1, 1)  # resumed from the checkpoint at iteration k
            assert k >= 2 and t["since_restore"][k:] == list(range(1, 21 - k)), t
