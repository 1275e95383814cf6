"""The runner's state machine, driven step by step without Ray.

Every test builds a real :class:`TrialRunner` on :class:`tunecore.testing.InProcessExecutor`
(trials run in this process, through the same worker body as Ray's actors) with real
trainables and real files under ``tmp_path``, and steps it until it is finished: starts and
results, pause and resume, stops, failures and retries, exploits, requests from another
thread, stall detection, and the one recorded ending of every trial.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import subprocess
import sys
import threading
from typing import Any, Optional

import pytest

from tunecore import Experiment
from tunecore.endings import ENDED, EVENTS_FILE
from tunecore.errors import TuneError
from tunecore.execution.executor import TrialExecutor
from tunecore.loggers._base import Logger
from tunecore.runner import TrialRunner
from tunecore.schedulers import Decision
from tunecore.schedulers.fifo import FIFOScheduler
from tunecore.searchers import BasicVariantGenerator
from tunecore.testing import FailsOnce, InProcessExecutor, StepTrainable
from tunecore.trial import Checkpoint, Trial, TrialStatus

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- trainables ---------------------------------------------------------------------------
class RunnerStatesSteps(StepTrainable):
    """Counts steps (kept across checkpoints); ``score = step * config["scale"]``.

    ``config["done_at"]`` ends it by itself (``done``), ``config["raise_at"]`` raises every time.
    """

    def _train(self) -> dict:
        self.step += 1
        if self.step == self.config.get("raise_at"):
            raise RuntimeError(f"broken at step {self.step}")
        return {"step": self.step, "score": float(self.step * self.config.get("scale", 1)),
                "done": self.step == self.config.get("done_at")}


class RunnerStatesBrokenSetup(StepTrainable):
    def _setup(self, config: dict) -> None:
        raise ValueError("cannot set up")


def runner_states_reports(config: dict, reporter: Any) -> None:
    """A function trainable: reports ``config["n"]`` times, then returns."""
    for i in range(config["n"]):
        reporter(score=float(i), timesteps_total=i)


# -- components that count and decide --------------------------------------------------
class Counts:
    """What each component saw, per trial id."""

    def __init__(self) -> None:
        self.scheduler_results: collections.Counter = collections.Counter()
        self.scheduler_completes: collections.Counter = collections.Counter()
        self.searcher_results: collections.Counter = collections.Counter()
        self.searcher_completes: collections.Counter = collections.Counter()
        self.logged: collections.Counter = collections.Counter()

    def logger(self, config: dict, logdir: str, trial: Trial) -> Logger:
        counts = self

        class CountingLogger(Logger):
            def on_result(self, result: dict) -> None:
                counts.logged[result["trial_id"]] += 1

        return CountingLogger(config, logdir, trial)


class CountingScheduler(FIFOScheduler):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    def on_trial_result(self, runner: Any, trial: Trial, result: dict) -> Decision:
        self.counts.scheduler_results[trial.trial_id] += 1
        return Decision.CONTINUE

    def on_trial_complete(self, runner: Any, trial: Trial, result: Optional[dict]) -> None:
        self.counts.scheduler_completes[trial.trial_id] += 1


class CountingSearcher(BasicVariantGenerator):
    def __init__(self, counts: Counts) -> None:
        super().__init__()
        self.counts = counts

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.counts.searcher_results[trial_id] += 1

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None, error: bool = False,
                          early_terminated: bool = False) -> None:
        self.counts.searcher_completes[trial_id] += 1


class PauseOnce(FIFOScheduler):
    """Pauses every trial once, at iteration 2; a result of one trial unpauses the others.

    Starts PENDING trials only: a paused trial runs again only once it is unpaused.
    """

    def __init__(self) -> None:
        self.paused: set = set()
        self.checkpoints_seen: list = []

    def on_trial_result(self, runner: Any, trial: Trial, result: dict) -> Decision:
        for other in runner.get_trials():
            if other.status == TrialStatus.PAUSED:
                self.checkpoints_seen.append(other.checkpoint)
                runner.unpause_trial(other)
        if result["training_iteration"] == 2 and trial.trial_id not in self.paused:
            self.paused.add(trial.trial_id)
            return Decision.PAUSE
        return Decision.CONTINUE

    def choose_trial_to_run(self, runner: Any) -> Optional[Trial]:
        for trial in runner.get_trials():
            if trial.status == TrialStatus.PENDING and runner.has_resources(trial.resources):
                return trial
        return None


class StopAt(FIFOScheduler):
    """Stops the trials whose ``config["stop_at"]`` iteration is reached."""

    def on_trial_result(self, runner: Any, trial: Trial, result: dict) -> Decision:
        if result["training_iteration"] == trial.config.get("stop_at"):
            return Decision.STOP
        return Decision.CONTINUE


class CopyTheBest(FIFOScheduler):
    """Like PBT, once: at iteration 2 the trial with ``config["follower"]`` takes the state of
    the leader (saved then) and the leader's config with a new scale."""

    def __init__(self) -> None:
        self.donor_checkpoint: Optional[Checkpoint] = None

    def on_trial_result(self, runner: Any, trial: Trial, result: dict) -> Decision:
        if result["training_iteration"] == 2 and trial.config.get("follower") and self.donor_checkpoint is None:
            leader = next(t for t in runner.get_trials() if not t.config.get("follower"))
            self.donor_checkpoint = runner.save_trial(leader)
            runner.exploit_trial(trial, self.donor_checkpoint, {**leader.config, "scale": 10},
                                 experiment_tag="exploited",
                                 record={"event": "exploit", "donor": leader.trial_id})
        return Decision.CONTINUE


class NeverChooses(FIFOScheduler):
    def choose_trial_to_run(self, runner: Any) -> Optional[Trial]:
        return None


# -- helpers ------------------------------------------------------------------------------
def make_runner(tmp_path: Any, scheduler: Any = None, search_alg: Any = None, cpus: float = 2,
                **experiment: Any) -> TrialRunner:
    """A runner on an in-process executor of ``cpus`` CPUs, given one experiment (if any)."""
    search_alg = search_alg or BasicVariantGenerator()
    if experiment:
        experiment.setdefault("local_dir", str(tmp_path))
        experiment.setdefault("loggers", ["json"])
        search_alg.add_configurations([Experiment("states", **experiment)])
    else:
        search_alg.add_configurations([])
    return TrialRunner(search_alg, scheduler or FIFOScheduler(),
                       trial_executor=InProcessExecutor(cpus=cpus), verbose=0)


def run_to_end(runner: TrialRunner, between: Any = None, max_steps: int = 2000) -> None:
    """Step until finished, calling ``between(runner)`` after each step."""
    for _ in range(max_steps):
        if runner.is_finished():
            return
        runner.step()
        if between is not None:
            between(runner)
    raise AssertionError(f"the runner did not finish in {max_steps} steps: {runner.debug_string()}")


def rows(trial: Trial) -> list[dict]:
    path = os.path.join(trial.logdir, "result.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def ending(trial: Trial) -> dict:
    """The trial's one recorded ending, the same in ``trial.events`` and its ``events.jsonl``."""
    ended = [e for e in trial.events if e.get("event") == ENDED]
    assert len(ended) == 1, trial.events
    with open(os.path.join(trial.logdir, EVENTS_FILE)) as f:
        on_disk = [json.loads(line) for line in f]
    assert [e for e in on_disk if e.get("event") == ENDED] == [json.loads(json.dumps(ended[0]))]
    return ended[0]


# -- the tests ----------------------------------------------------------------------------
def test_both_executors_keep_the_executor_contract():
    from tunecore.executor import RayTrialExecutor

    assert isinstance(InProcessExecutor(cpus=2), TrialExecutor)
    assert isinstance(RayTrialExecutor(), TrialExecutor)  # building it does not start Ray


def test_every_result_reaches_the_scheduler_searcher_and_loggers(tmp_path):
    counts = Counts()
    seen_locations = set()

    def watch(runner: TrialRunner) -> None:
        for trial in runner.get_trials():
            if trial.status == TrialStatus.RUNNING and trial.last_result is not None:
                seen_locations.add(trial.location)

    runner = make_runner(tmp_path, CountingScheduler(counts), CountingSearcher(counts),
                         run=RunnerStatesSteps, stop={"training_iteration": 4},
                         config={"scale": {"grid_search": [1, 2, 3]}}, loggers=["json", counts.logger])
    run_to_end(runner, watch)

    trials = runner.get_trials()
    assert len(trials) == 3
    for trial in trials:
        assert trial.status == TrialStatus.TERMINATED
        assert [r["training_iteration"] for r in rows(trial)] == [1, 2, 3, 4]
        assert [r["step"] for r in rows(trial)] == [1, 2, 3, 4]
        assert counts.logged[trial.trial_id] == 4
        # the 4th result meets the stop criterion: it ends the trial instead of going to the scheduler
        assert counts.scheduler_results[trial.trial_id] == 3
        assert counts.searcher_results[trial.trial_id] == 3
        assert counts.scheduler_completes[trial.trial_id] == 1
        assert counts.searcher_completes[trial.trial_id] == 1
        assert trial.last_result["done"] is True
        assert trial.location is None
        assert ending(trial)["how"] == "stop_criterion"
    # the runner tells where a trial runs from its results: here, this very process
    assert seen_locations == {(socket.gethostname(), os.getpid())}
    assert runner.trial_executor.resource_string() == "Resources requested: 0/2 CPUs, 0/0 GPUs"


def test_function_trainable_results_in_batches_all_logged(tmp_path):
    counts = Counts()
    runner = make_runner(tmp_path, CountingScheduler(counts), run=runner_states_reports,
                         config={"n": 7}, loggers=["json", counts.logger])
    run_to_end(runner)

    (trial,) = runner.get_trials()
    assert trial.status == TrialStatus.TERMINATED
    assert [r["training_iteration"] for r in rows(trial)] == list(range(1, 8))
    assert counts.logged[trial.trial_id] == 7
    assert counts.scheduler_results[trial.trial_id] == 7
    assert ending(trial)["how"] == "returned"


def test_trials_start_only_while_the_ledger_has_room(tmp_path):
    most = 0

    def watch(runner: TrialRunner) -> None:
        nonlocal most
        most = max(most, len(runner.trial_executor.get_running_trials()))

    runner = make_runner(tmp_path, run=RunnerStatesSteps, stop={"training_iteration": 3}, num_samples=5)
    run_to_end(runner, watch)
    assert most == 2
    assert all(t.status == TrialStatus.TERMINATED for t in runner.get_trials())


def test_a_trial_the_cluster_can_never_hold_is_refused(tmp_path):
    runner = make_runner(tmp_path, run=RunnerStatesSteps, trial_resources={"cpu": 3})
    with pytest.raises(TuneError, match="Insufficient cluster resources.*3 CPUs, 0 GPUs.*the cluster has 2 CPUs"):
        runner.step()


def test_pause_and_resume_from_the_memory_checkpoint(tmp_path):
    scheduler = PauseOnce()
    runner = make_runner(tmp_path, scheduler, run=RunnerStatesSteps, stop={"training_iteration": 5},
                         config={"scale": {"grid_search": [1, 2]}})
    run_to_end(runner)

    trials = runner.get_trials()
    assert scheduler.paused == {t.trial_id for t in trials}
    # a paused trial holds the bytes of its state (what Ray keeps in its object store)
    assert scheduler.checkpoints_seen
    assert all(c.storage == Checkpoint.MEMORY and isinstance(c.value, bytes) for c in scheduler.checkpoints_seen)
    for trial in trials:
        assert trial.status == TrialStatus.TERMINATED
        # resumed from the state saved at the pause: the count goes on, nothing logged twice
        assert [(r["training_iteration"], r["step"]) for r in rows(trial)] == [(i, i) for i in range(1, 6)]
        paused = [e for e in trial.events if e.get("event") == "paused"]
        assert [(e["by"], e["scheduler"], e["iteration"]) for e in paused] == [("scheduler", "PauseOnce", 2)]
        assert ending(trial)["how"] == "stop_criterion"


def test_stops_by_the_scheduler_and_by_the_user(tmp_path):
    def user_stops(runner: TrialRunner) -> None:
        for trial in runner.get_trials():
            if trial.config["who"] == "user_pending" and trial.status == TrialStatus.PENDING:
                runner.stop_trial(trial)
            if trial.config["who"] == "user_running" and (trial.last_result or {}).get("training_iteration") == 3:
                runner.stop_trial(trial)

    runner = make_runner(tmp_path, StopAt(), run=RunnerStatesSteps, stop={"training_iteration": 50},
                         config={"who": {"grid_search": ["scheduler", "user_running", "user_pending"]},
                                 "stop_at": lambda spec: 2 if spec.config.who == "scheduler" else None})
    run_to_end(runner, user_stops)

    by_who = {t.config["who"]: t for t in runner.get_trials()}
    assert all(t.status == TrialStatus.TERMINATED for t in by_who.values())
    stopped = by_who["scheduler"]
    assert [r["training_iteration"] for r in rows(stopped)] == [1, 2]
    assert rows(stopped)[-1]["done"] is True
    assert ending(stopped)["how"] == "scheduler"
    assert ending(stopped)["scheduler"] == "StopAt"
    running = by_who["user_running"]
    assert [r["training_iteration"] for r in rows(running)] == [1, 2, 3]
    assert running.last_result["done"] is True
    assert ending(running) | {"time": 0} == {"event": "ended", "how": "user", "iteration": 3, "time": 0}
    # stopped while it waited for a CPU: it never ran
    assert ending(by_who["user_pending"])["how"] == "user"
    assert rows(by_who["user_pending"]) == []


def test_failure_recovers_from_the_last_checkpoint(tmp_path):
    runner = make_runner(tmp_path, run=FailsOnce, stop={"training_iteration": 5}, checkpoint_freq=1,
                         max_failures=1, config={"fail_at": 3, "marker": str(tmp_path / "failed_once")})
    run_to_end(runner)

    (trial,) = runner.get_trials()
    assert trial.status == TrialStatus.TERMINATED
    assert trial.num_failures == 1
    with open(trial.error_file) as f:
        assert "planned failure at step 3" in f.read()
    # restarted from the checkpoint of iteration 2, by a new trainable (gen 2); no row repeated
    assert [(r["training_iteration"], r["step"], r["gen"]) for r in rows(trial)] == [
        (1, 1, 1.0), (2, 2, 1.0), (3, 3, 2.0), (4, 4, 2.0), (5, 5, 2.0)]
    assert trial.checkpoint.storage == Checkpoint.DISK
    assert os.path.isdir(trial.checkpoint.value) and trial.checkpoint.value.startswith(trial.logdir)
    assert ending(trial)["how"] == "stop_criterion"


def test_failure_with_no_retries_left_ends_in_error(tmp_path):
    runner = make_runner(tmp_path, run=RunnerStatesSteps, stop={"training_iteration": 4},
                         checkpoint_freq=1, max_failures=1, config={"raise_at": {"grid_search": [3, None]}})
    run_to_end(runner)

    broken, fine = runner.get_trials()
    assert broken.status == TrialStatus.ERROR
    assert broken.num_failures == 2  # the first failure was retried from the checkpoint, the second not
    assert broken.error_file == os.path.join(broken.logdir, "error.txt")
    with open(broken.error_file) as f:
        text = f.read()
    assert text.count("RuntimeError: broken at step 3") == 2
    assert "=== failure 2 at" in text
    end = ending(broken)
    assert (end["how"], end["error"], end["failures"]) == ("error", "RuntimeError: broken at step 3", 2)
    # the other trial goes on to its end
    assert fine.status == TrialStatus.TERMINATED
    assert [r["training_iteration"] for r in rows(fine)] == [1, 2, 3, 4]


def test_a_trial_that_fails_to_start_ends_in_error(tmp_path):
    runner = make_runner(tmp_path, run=RunnerStatesBrokenSetup, max_failures=3)
    run_to_end(runner)

    (trial,) = runner.get_trials()
    assert trial.status == TrialStatus.ERROR
    with open(trial.error_file) as f:
        text = f.read()
    assert "Trial failed to start: ValueError: cannot set up" in text
    assert ending(trial)["error"] == "ValueError: cannot set up"  # the cause, as the dashboard shows it
    assert runner.trial_executor.get_running_trials() == []


def test_exploit_continues_from_another_trials_state(tmp_path):
    scheduler = CopyTheBest()
    runner = make_runner(tmp_path, scheduler, run=RunnerStatesSteps, stop={"training_iteration": 4},
                         config={"follower": {"grid_search": [False, True]}, "scale": 1})
    run_to_end(runner)

    leader, follower = runner.get_trials()
    assert scheduler.donor_checkpoint.storage == Checkpoint.MEMORY
    assert isinstance(scheduler.donor_checkpoint.value, bytes)
    assert follower.config == {"follower": False, "scale": 10}
    assert follower.experiment_tag == "exploited"
    assert [e for e in follower.events if e.get("event") == "exploit"] == [
        {"event": "exploit", "donor": leader.trial_id}]
    # after the exploit the follower runs the leader's state (saved at step 2) with the new config
    follower_rows = rows(follower)
    assert [(r["training_iteration"], r["step"]) for r in follower_rows] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert [r["score"] for r in follower_rows] == [1.0, 2.0, 30.0, 40.0]
    with open(os.path.join(follower.logdir, "params.json")) as f:
        assert json.load(f) == {"follower": False, "scale": 10}  # the loggers were told of the new config
    assert [ending(t)["how"] for t in (leader, follower)] == ["stop_criterion", "stop_criterion"]


def test_requests_from_another_thread(tmp_path):
    runner = make_runner(tmp_path, run=RunnerStatesSteps, stop={"training_iteration": 10_000})
    runner.step()
    (first,) = runner.get_trials()
    outcome: dict = {}

    def server() -> None:  # what the HTTP server does: everything through runner.submit
        try:
            added = runner.submit(lambda: runner.add_experiment(
                "more", {"run": "RunnerStatesSteps", "stop": {"training_iteration": 2},
                         "local_dir": str(tmp_path), "config": {"scale": {"grid_search": [5, 6]}}})).result(timeout=30)
            outcome["added"] = [t.trial_id for t in added]
            outcome["seen"] = runner.submit(lambda: [t.trial_id for t in runner.get_trials()]).result(timeout=30)
            runner.submit(lambda: runner.stop_trial(runner.get_trial(first.trial_id))).result(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            outcome["error"] = exc

    thread = threading.Thread(target=server)
    thread.start()
    run_to_end(runner, max_steps=100_000)
    thread.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    assert len(outcome["added"]) == 2
    assert outcome["seen"] == [first.trial_id] + outcome["added"]
    assert ending(first)["how"] == "user"
    for trial_id in outcome["added"]:
        trial = runner.get_trial(trial_id)
        assert trial.experiment_name == "more"
        assert trial.status == TrialStatus.TERMINATED
        assert [r["training_iteration"] for r in rows(trial)] == [1, 2]
        assert ending(trial)["how"] == "stop_criterion"
    runner.close()


def test_a_scheduler_that_never_chooses_a_trial_stalls_the_run(tmp_path):
    runner = make_runner(tmp_path, NeverChooses(), run=RunnerStatesSteps, num_samples=2)
    runner.stall_timeout = 0.2
    with pytest.raises(TuneError, match=r"2 trials are PENDING but the scheduler NeverChooses chose none"):
        run_to_end(runner)
    assert all(t.status == TrialStatus.PENDING for t in runner.get_trials())


def test_every_ended_trial_records_how_once(tmp_path):
    def user_stops(runner: TrialRunner) -> None:
        for trial in runner.get_trials():
            if trial.config["how"] == "user" and (trial.last_result or {}).get("training_iteration") == 2:
                runner.stop_trial(trial)

    plans = {"stop_criterion": {}, "returned": {"done_at": 2}, "scheduler": {"stop_at": 2},
             "user": {}, "error": {"raise_at": 2}}
    runner = make_runner(tmp_path, StopAt(), run=RunnerStatesSteps, stop={"training_iteration": 3}, max_failures=0,
                         config={"how": {"grid_search": list(plans)},
                                 "stop_at": lambda spec: plans[spec.config.how].get("stop_at"),
                                 "done_at": lambda spec: plans[spec.config.how].get("done_at"),
                                 "raise_at": lambda spec: plans[spec.config.how].get("raise_at")})
    run_to_end(runner, user_stops)

    trials = runner.get_trials()
    assert sorted(t.config["how"] for t in trials) == sorted(plans)
    for trial in trials:
        end = ending(trial)
        assert end["how"] == trial.config["how"]
        expected_iteration = 3 if end["how"] == "stop_criterion" else (1 if end["how"] == "error" else 2)
        assert end["iteration"] == expected_iteration
        assert trial.status == (TrialStatus.ERROR if end["how"] == "error" else TrialStatus.TERMINATED)


def test_the_in_process_path_never_imports_ray(tmp_path):
    script = f"""
import sys
from tunecore import Experiment
from tunecore.runner import TrialRunner
from tunecore.schedulers.fifo import FIFOScheduler
from tunecore.searchers import BasicVariantGenerator
from tunecore.testing import FailsOnce, InProcessExecutor

def reports(config, reporter):
    for i in range(3):
        reporter(score=i)

search = BasicVariantGenerator()
search.add_configurations([
    Experiment("a", FailsOnce, stop={{"training_iteration": 3}}, checkpoint_freq=1, local_dir={str(tmp_path)!r},
               config={{"fail_at": 2, "marker": {str(tmp_path / "marker")!r}}}),
    Experiment("b", reports, local_dir={str(tmp_path)!r}),
])
runner = TrialRunner(search, FIFOScheduler(), trial_executor=InProcessExecutor(cpus=2), verbose=0)
while not runner.is_finished():
    runner.step()
runner.save_state()
assert [t.status.value for t in runner.get_trials()] == ["TERMINATED", "TERMINATED"], runner.debug_string()
assert "ray" not in sys.modules, sorted(m for m in sys.modules if m.split(".")[0] == "ray")
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


class BatchingExecutor(InProcessExecutor):
    """Hands back one result of every running trial in a single ``wait()``, as Ray's does."""

    def wait(self, timeout: float) -> list:
        batch: list = []
        for _ in range(len(self.get_running_trials())):
            batch.extend(super().wait(timeout))
        return batch


class StopsTheOther(FIFOScheduler):
    """At its iteration 2, the ``leader`` trial stops the ``other``; counts what each sees."""

    def __init__(self) -> None:
        self.seen: collections.Counter = collections.Counter()
        self.completed: collections.Counter = collections.Counter()

    def on_trial_result(self, runner: Any, trial: Trial, result: dict) -> Decision:
        self.seen[trial.config["who"]] += 1
        if trial.config["who"] == "leader" and result["training_iteration"] == 2:
            other = next(t for t in runner.get_trials() if t.config["who"] == "other")
            runner.stop_trial(other)
        return Decision.CONTINUE

    def on_trial_complete(self, runner: Any, trial: Trial, result: Optional[dict]) -> None:
        self.completed[trial.config["who"]] += 1


def test_a_result_of_a_trial_stopped_earlier_in_the_same_batch_is_dropped(tmp_path):
    scheduler = StopsTheOther()
    search = BasicVariantGenerator()
    search.add_configurations([Experiment("batch", run=RunnerStatesSteps, local_dir=str(tmp_path),
                                          loggers=["json"], stop={"training_iteration": 4},
                                          config={"who": {"grid_search": ["leader", "other"]}})])
    runner = TrialRunner(search, scheduler, trial_executor=BatchingExecutor(cpus=2), verbose=0)
    batches = []
    original = runner.trial_executor.wait
    runner.trial_executor.wait = lambda timeout: batches.append(original(timeout)) or batches[-1]  # type: ignore
    run_to_end(runner)

    assert any(len(b) == 2 for b in batches)  # both trials did report in one batch
    by_who = {t.config["who"]: t for t in runner.get_trials()}
    assert by_who["other"].status == TrialStatus.TERMINATED
    # the leader came first in its batch: the other's iteration-2 result of that batch is stale
    assert scheduler.seen["other"] == 1
    assert [r["training_iteration"] for r in rows(by_who["other"])] == [1]
    assert scheduler.completed["other"] == 1
    assert [r["training_iteration"] for r in rows(by_who["leader"])] == [1, 2, 3, 4]
