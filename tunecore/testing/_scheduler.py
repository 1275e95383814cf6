"""``SchedulerContract``: the conformance suite every trial scheduler subclasses."""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pytest

from tunecore.execution.trial import Trial, TrialStatus
from tunecore.schedulers import Decision, TrialScheduler
from tunecore.testing._fakes import FakeRunner, make_result, make_trial
from tunecore.util import to_jsonable


class SchedulerContract:
    """Tests every :class:`~tunecore.schedulers.TrialScheduler` must pass.

    Subclass it in a ``Test...`` class and provide a ``make_scheduler`` fixture that
    returns a *factory*: calling it returns a fresh scheduler (the round-trip test needs
    two)::

        from tunecore.testing import SchedulerContract

        class TestMyScheduler(SchedulerContract):
            @pytest.fixture
            def make_scheduler(self):
                return lambda: MyScheduler(metric="episode_reward_mean", mode="max")

    Results come from :meth:`make_result` (``training_iteration``, ``time_total_s``,
    ``timesteps_total``, ``episode_reward_mean``, ``mean_loss``, ``mean_accuracy``,
    all growing with the iteration); override it if the scheduler needs other keys.
    Tune :attr:`num_trials`, :attr:`max_iterations`, :attr:`cpus` so a full
    experiment exercises the scheduler's decisions (e.g. past a grace period).
    """

    #: Trials in the simulated experiments.
    num_trials: int = 8
    #: Iterations after which a trial meets its stop condition.
    max_iterations: int = 12
    #: CPUs of the fake cluster (each trial takes 1), so some trials wait.
    cpus: int = 2

    @pytest.fixture
    def make_scheduler(self) -> Callable[[], TrialScheduler]:
        raise NotImplementedError(
            f"{type(self).__name__} subclasses SchedulerContract: define a make_scheduler "
            "fixture that returns a zero-argument factory of the scheduler under test")

    def make_result(self, trial: Trial, iteration: int) -> dict:
        """The result ``trial`` reports at ``iteration``; override for other metrics."""
        return make_result(trial, iteration)

    def runner(self, scheduler: TrialScheduler, **kwargs: Any) -> FakeRunner:
        kwargs.setdefault("cpus", self.cpus)
        return FakeRunner(scheduler, result_fn=self.make_result, **kwargs)

    # -- the contract ------------------------------------------------------------------
    def test_factory_returns_a_trial_scheduler(self, make_scheduler):
        scheduler = make_scheduler()
        assert isinstance(scheduler, TrialScheduler), f"{scheduler!r} is not a TrialScheduler"
        assert make_scheduler() is not scheduler, "make_scheduler must return a new scheduler each call"

    def test_full_experiment_finishes_with_decision_values(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(self.num_trials)
        runner.run(max_iterations=self.max_iterations)
        assert all(t.is_finished() for t in runner.trials), "run() returned with trials unfinished"
        assert runner.decisions, "on_trial_result was never called"
        for trial_id, decision in runner.decisions:
            assert isinstance(decision, Decision), (trial_id, decision)

    def test_pause_only_when_requires_checkpointing(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(self.num_trials)
        runner.run(max_iterations=self.max_iterations)
        if any(d == Decision.PAUSE for _, d in runner.decisions):
            assert scheduler.requires_checkpointing, (
                "the scheduler returned PAUSE but requires_checkpointing is False: the runner "
                "cannot pause a trainable that does not implement _save")

    def test_choose_with_no_trials_returns_none(self, make_scheduler):
        scheduler = make_scheduler()
        assert scheduler.choose_trial_to_run(self.runner(scheduler)) is None

    def test_choose_is_idempotent(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(4)
        statuses = [t.status for t in runner.trials]
        first = runner.choose()
        assert first is not None, "four PENDING trials that fit, but choose_trial_to_run returned None"
        for _ in range(3):
            assert runner.choose() is first, "choose_trial_to_run gave a different trial when called again"
        assert [t.status for t in runner.trials] == statuses, "choose_trial_to_run changed a trial's status"
        assert runner.requests == [], "choose_trial_to_run must not ask the runner for anything"

    def test_choose_returns_only_pending_or_paused_trials_that_fit(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler, cpus=3)
        trials = runner.add_trials(4)
        big = runner.add_trial(make_trial({"quality": 9.0}, cpu=100))
        # one finishes, one fails, one keeps running
        for _ in trials[:3]:
            chosen = runner.choose()
            assert chosen is not None and chosen is not big
            runner.start_trial(chosen)
        running = [t for t in runner.trials if t.status == TrialStatus.RUNNING]
        runner.report(running[0])
        if running[0].status == TrialStatus.RUNNING:
            runner.complete(running[0])
        if running[1].status == TrialStatus.RUNNING:
            runner.fail(running[1])
        for _ in range(3):
            chosen = runner.choose()  # checks state and fit itself
            assert chosen is not big

    def test_choose_returns_none_when_nothing_fits(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler, cpus=2)
        runner.add_trials(4)
        for _ in range(2):
            chosen = runner.choose()
            assert chosen is not None
            runner.start_trial(chosen)
        assert [t.status for t in runner.trials].count(TrialStatus.PENDING) == 2
        assert runner.choose() is None, "the cluster is full: no trial fits"

    def test_callbacks_tolerate_unknown_trials(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(2)
        stranger = make_trial({"quality": 3.0}, status=TrialStatus.RUNNING)
        scheduler.on_trial_complete(runner, stranger, self.make_result(stranger, 1))
        scheduler.on_trial_complete(runner, stranger, None)
        scheduler.on_trial_error(runner, stranger)
        stranger.status = TrialStatus.PAUSED
        scheduler.on_trial_remove(runner, stranger)
        assert isinstance(scheduler.debug_string(), str)

    def test_errors_and_removals_mid_experiment(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        trials = runner.add_trials(self.num_trials)
        first = runner.choose()
        runner.start_trial(first)
        runner.report(first)
        if first.status == TrialStatus.RUNNING:
            runner.fail(first)
        pending = [t for t in trials if t.status == TrialStatus.PENDING]
        runner.remove(pending[-1])  # a user stop of a PENDING trial
        assert pending[-1].status == TrialStatus.TERMINATED
        second = runner.choose()
        assert second is not None and second not in (first, pending[-1])
        runner.start_trial(second)
        runner.remove(second)  # a user stop of a RUNNING trial
        runner.run(max_iterations=self.max_iterations)
        assert first.status == TrialStatus.ERROR
        assert all(t.is_finished() for t in runner.trials)

    def test_debug_string_is_str(self, make_scheduler):
        scheduler = make_scheduler()
        assert isinstance(scheduler.debug_string(), str), "debug_string must return a str"
        runner = self.runner(scheduler)
        runner.add_trials(self.num_trials)
        runner.run(max_iterations=self.max_iterations)
        text = scheduler.debug_string()
        assert isinstance(text, str) and text.strip(), f"debug_string returned {text!r}"

    def test_save_and_restore_state_round_trip_through_json(self, make_scheduler):
        fresh = make_scheduler()
        state = fresh.save_state()
        json.dumps(state)
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(self.num_trials)
        for _ in range(self.num_trials * 3):  # part of an experiment
            chosen = runner.choose()
            if chosen is not None:
                runner.start_trial(chosen)
                continue
            running = [t for t in runner.trials if t.status == TrialStatus.RUNNING]
            if not running:
                break
            runner.report(min(running, key=runner.iteration))
        state = scheduler.save_state()
        text = json.dumps(state, sort_keys=True)  # must be JSON-able as is
        restored = make_scheduler()
        restored.restore_state(json.loads(text))
        again = json.dumps(restored.save_state(), sort_keys=True)
        assert again == text, (
            f"save_state -> restore_state -> save_state changed the state:\n  saved:    {text}\n"
            f"  restored: {again}")
        assert isinstance(restored.debug_string(), str)

    # -- values as users report them -----------------------------------------------------
    def test_metrics_of_every_numeric_type_and_odd_values(self, make_scheduler):
        """numpy scalars of every dtype, 0-d arrays, NaN, ±inf, None and a missing metric: no crash."""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        from tunecore.testing._values import NUMERIC_KINDS, as_kind

        kinds = st.sampled_from(NUMERIC_KINDS)
        odd = st.sampled_from([float("nan"), float("inf"), float("-inf"), np.float32("nan"), None, _MISSING])

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
        @given(kind=kinds, odd_values=st.dictionaries(st.integers(1, self.max_iterations), odd, max_size=4))
        def check(kind: Any, odd_values: dict) -> None:
            scheduler = make_scheduler()
            metric = getattr(scheduler, "metric", None)

            def result_fn(trial: Trial, iteration: int) -> dict:
                result = self.make_result(trial, iteration)
                for key in {metric, *_METRICS} - {None}:
                    if isinstance(result.get(key), (int, float)):
                        result[key] = as_kind(kind, result[key])
                if metric and iteration in odd_values and trial.trial_id[-1] in "02468ace":
                    if odd_values[iteration] is _MISSING:
                        result.pop(metric, None)
                    else:
                        result[metric] = odd_values[iteration]
                return result

            runner = FakeRunner(scheduler, result_fn=result_fn, cpus=self.cpus)
            runner.add_trials(self.num_trials)
            runner.run(max_iterations=self.max_iterations)
            assert all(t.is_finished() for t in runner.trials)
            for trial_id, decision in runner.decisions:
                assert isinstance(decision, Decision), (trial_id, decision)
            json.dumps(to_jsonable(scheduler.save_state()), allow_nan=False)
            assert isinstance(scheduler.debug_string(), str)

        check()


_MISSING = object()
_METRICS = ("episode_reward_mean", "mean_loss", "neg_mean_loss", "mean_accuracy")

