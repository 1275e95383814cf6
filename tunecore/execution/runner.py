"""The TrialRunner: the one event loop on the driver. Components decide; the runner acts."""

from __future__ import annotations

import collections
import concurrent.futures
import os
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from tunecore import result as R
from tunecore import settings
from tunecore._logging import get_logger
from tunecore.errors import TrialError, TuneError
from tunecore.execution.context import RunnerContext
from tunecore.execution.endings import append_event, ended_record
from tunecore.execution.executor import TrialExecutor
from tunecore.execution.failures import failure_message, record_failure
from tunecore.execution.guard import ComponentGuard
from tunecore.execution.inbox import Inbox
from tunecore.execution.retention import CheckpointConfig, CheckpointManager
from tunecore.execution.stall import StallWatch
from tunecore.execution.state import ExperimentState
from tunecore.execution.status import ProgressPrinter, StatusView, summary_text
from tunecore.execution.trial import Checkpoint, Trial, TrialStatus
from tunecore.loggers._fanout import LoggerFanout
from tunecore.schedulers._base import Decision, TrialScheduler
from tunecore.searchers._base import SearchAlgorithm
from tunecore.trainables.checkpoint import checkpoint_number

log = get_logger("tunecore.runner")  # a stable name, whatever the module path

_STATE_INTERVAL = 5.0
_STATE_MIN_INTERVAL = 1.0


class TrialRunner:
    """Asks the search algorithm for trials, starts them when resources allow, collects
    results in batches, asks the scheduler what to do, and does it.

    Thread-safety: only the thread calling :meth:`step` changes state. Other threads
    (the HTTP server) use :meth:`submit`.
    """

    def __init__(self, search_alg: SearchAlgorithm, scheduler: TrialScheduler,
                 trial_executor: Optional[TrialExecutor] = None, plugin_manager: Any = None,
                 verbose: int = 2, metric: Any = None, mode: Any = None,
                 printer: Optional[ProgressPrinter] = None, state: Optional[ExperimentState] = None,
                 experiment_dirs: Sequence[str] = (), sync_managers: Sequence[Any] = (),
                 callbacks: Sequence[Any] = (), max_concurrent_trials: Optional[int] = None,
                 time_budget_s: Optional[float] = None, fail_fast: Union[bool, str] = False,
                 trial_name_creator: Optional[Callable[[Trial], str]] = None,
                 trial_dirname_creator: Optional[Callable[[Trial], str]] = None,
                 constraints: Optional[Sequence[str]] = None) -> None:
        from tunecore.callback import CallbackList
        from tunecore.plugins import get_plugin_manager

        self.search_alg = search_alg
        self.scheduler = scheduler
        if trial_executor is None:
            from tunecore.execution.ray_executor import RayTrialExecutor

            trial_executor = RayTrialExecutor()
        self.trial_executor: TrialExecutor = trial_executor
        self.plugins = plugin_manager or get_plugin_manager()
        self.metric, self.mode = metric, mode
        self.constraints = list(constraints) if constraints else None
        self.printer = printer or ProgressPrinter(verbose=verbose)
        self._trials: list[Trial] = []
        self._by_id: dict[str, Trial] = {}
        #: display and recording components (printer, loggers, syncers) are called through it
        self.guard = ComponentGuard()
        self.loggers = LoggerFanout(self.plugins.loggers, self.guard)
        #: the run's callbacks (tunecore.callback documents when each hook is called)
        self.callbacks = callbacks if isinstance(callbacks, CallbackList) else CallbackList(callbacks, self.guard)
        self.iteration = 0  # turns of the loop, as the callbacks see them
        self.max_concurrent_trials = max_concurrent_trials or None
        self.fail_fast = fail_fast
        #: why the experiment ends before its trials do ("stopper", "time_budget_s", "fail_fast")
        self.ending: Optional[str] = None
        self._raise: Optional[BaseException] = None
        if time_budget_s is None:
            time_budget_s = settings.number("TUNECORE_WALLTIME_LIMIT")
        self.time_budget_s = time_budget_s
        self._deadline = time.monotonic() + time_budget_s if time_budget_s and time_budget_s != float("inf") \
            else None
        self._stoppers: list[Any] = []  # the distinct Stopper objects of the trials' criteria
        self._namers = (trial_name_creator, trial_dirname_creator)
        self._ctx = RunnerContext(self)
        self._requests: collections.deque = collections.deque()
        self._epochs: dict[str, int] = {}  # bumped whenever a trial's run changes (see _new_epoch)
        self._function_trainables: dict[str, bool] = {}
        self._pinned: dict[str, str] = {}  # the checkpoint each paused function trial resumes from
        self._run_rows: dict[str, int] = {}  # results of each trial's current run (since start or exploit)
        self._inbox = Inbox()
        self._state_dirty = True
        self._state_written = 0.0
        self._stop_requested = False
        self._checked_resources: set = set()
        #: the folders trials are written to (each gets an experiment_state.json)
        self.experiment_dirs: list[str] = list(experiment_dirs)
        self.state = state or ExperimentState()
        #: uploads of the experiment folders, nudged when a trial ends (owned by the run's owner)
        self.sync_managers: list[Any] = list(sync_managers)
        self._stall = StallWatch(settings.number("TUNECORE_STALL_TIMEOUT"))
        self._warned_forced = False

    @property
    def stall_timeout(self) -> float:
        """Seconds with nothing running and nothing chosen to run before the run fails (see StallWatch)."""
        return self._stall.timeout

    @stall_timeout.setter
    def stall_timeout(self, seconds: float) -> None:
        self._stall.timeout = seconds

    # -- public API ------------------------------------------------------------------
    def get_trials(self) -> list[Trial]:
        return list(self._trials)

    def get_trial(self, trial_id: str) -> Optional[Trial]:
        return self._by_id.get(trial_id)

    def has_resources(self, resources: Any) -> bool:
        return self.trial_executor.has_resources(resources)

    def add_trial(self, trial: Trial) -> None:
        """Queue a trial (PENDING, or as restored from experiment state)."""
        if trial.trial_id in self._by_id:
            raise TuneError(f"Trial id {trial.trial_id} is already in the experiment")
        self._watch_stopper(trial.stopping_criterion)
        self.scheduler.on_trial_add(self._ctx, trial)
        self._trials.append(trial)
        self._by_id[trial.trial_id] = trial
        if trial.local_dir not in self.experiment_dirs:
            self.experiment_dirs.append(trial.local_dir)
        self._state_dirty = True

    def add_experiment(self, name: str, spec: dict) -> list[Trial]:
        """Generate and add the trials of ``{name: spec}`` (the HTTP API's POST /trials)."""
        from tunecore.experiment import Experiment
        from tunecore.searchers import BasicVariantGenerator

        experiment = Experiment.from_json(name, spec)
        generator = BasicVariantGenerator()
        generator.add_configurations([experiment])
        trials = generator.next_trials()
        for trial in trials:
            self._check_fits(trial)
        for trial in trials:
            self.add_trial(trial)
        return trials

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future:
        """Run ``fn`` on the runner's thread at its next step (for other threads)."""
        return self._inbox.submit(fn)

    def close(self) -> None:
        """The loop has ended: fail whatever other threads still wait for."""
        self._inbox.close()

    def request_stop(self) -> None:
        """Ask the experiment to wind down: no new trials, running ones stopped."""
        self._stop_requested = True

    def end_experiment(self, reason: str) -> None:
        """End the experiment at the next step: every unfinished trial is stopped (TERMINATED,
        its end recorded as ``{"how": "experiment", "reason": reason}``) and no new one starts."""
        if self.ending is None:
            log.info("ending the experiment: %s", reason)
            self.ending = reason

    def is_finished(self) -> bool:
        if self._stop_requested:
            return not self.trial_executor.get_running_trials()
        if self.ending is not None:
            return all(t.is_finished() for t in self._trials)
        return all(t.is_finished() for t in self._trials) and self.search_alg.is_finished()

    def _watch_stopper(self, criterion: Any) -> None:
        if isinstance(criterion, dict) or not callable(criterion):
            return
        from tunecore.stopper import Stopper

        if isinstance(criterion, Stopper) and not any(criterion is s for s in self._stoppers):
            self._stoppers.append(criterion)

    def _check_stop_all(self) -> None:
        for stopper in self._stoppers:
            if stopper.stop_all():
                self.end_experiment("stopper")
                return

    # -- the loop ----------------------------------------------------------------------
    def step(self) -> None:
        """One turn of the loop: new trials, launches, a batch of results, requests.

        Raises:
            TrialError: a trial failed for good and ``fail_fast="raise"``.
        """
        self.iteration += 1
        if self.callbacks.wants("on_step_begin"):
            self.callbacks.call("on_step_begin", iteration=self.iteration, trials=self._trials)
        self._step()
        if self._stoppers and self.ending is None:  # a TimeoutStopper ends a run where nothing reports
            self._check_stop_all()
        if self.callbacks.wants("on_step_end"):
            self.callbacks.call("on_step_end", iteration=self.iteration, trials=self._trials)
        if self._raise is not None:
            error, self._raise = self._raise, None
            raise error

    def _step(self) -> None:
        self._drain_submitted()
        if self._stop_requested:
            self._wind_down()
            return
        if self._deadline is not None and self.ending is None and time.monotonic() >= self._deadline:
            self.end_experiment("time_budget_s")
        if self.ending is not None:
            self._end_trials()
            return
        self._update_from_search()
        self.trial_executor.refresh_cluster()
        launched = self._launch_trials()
        running = self.trial_executor.get_running_trials()
        if not running and not launched:
            self._stall.check_idle(self._trials, type(self.scheduler).__name__,
                                   self.trial_executor.resource_string(), self.trial_executor.queue_trials)
            self._drain_submitted(timeout=0.05)
        else:
            self._stall.progress()
            timeout = 0.2 if not launched else 0.0
            if self._deadline is not None:
                timeout = max(0.0, min(timeout, self._deadline - time.monotonic()))
            batch = self.trial_executor.wait(timeout=timeout)
            epochs = {trial.trial_id: self._epochs.get(trial.trial_id, 0) for trial, _, _ in batch}
            for trial, payload, error in batch:
                if self._epochs.get(trial.trial_id, 0) != epochs[trial.trial_id]:
                    # an earlier item of this batch stopped, paused or restarted the trial: what
                    # its old run sent is stale
                    log.debug("dropping a stale result of trial %s", trial)
                    continue
                if error is not None:
                    self._on_failure(trial, error)
                else:
                    assert payload is not None  # wait() gives results or an error
                    self._on_results(trial, *payload)
                self._apply_requests(current=None)
        self._maybe_save_state()

    def _drain_submitted(self, timeout: float = 0.0) -> None:
        self._inbox.drain(lambda: self._apply_requests(current=None), timeout)

    def _update_from_search(self) -> None:
        trials = [] if self.search_alg.is_finished() or self._enough_pending() else self.search_alg.next_trials()
        for trial in trials:
            self._name(trial)
            self._check_fits(trial)
        for trial in trials:
            self.add_trial(trial)
        if self._stall.check_search(bool(trials), all(t.is_finished() for t in self._trials),
                                    self.search_alg.is_finished()):
            time.sleep(0.05)

    def _enough_pending(self) -> bool:
        """A model-based search algorithm is asked for a new trial only when none is waiting to start
        (as Ray Tune does: at most one pending trial), so each suggestion sees every result reported
        before a slot freed up. Random and grid search (``BasicVariantGenerator``) are not held back."""
        from tunecore.searchers.basic_variant import BasicVariantGenerator

        if isinstance(self.search_alg, BasicVariantGenerator):
            return False
        return any(t.status is TrialStatus.PENDING for t in self._trials)

    def _name(self, trial: Trial) -> None:
        """Apply ``trial_name_creator``/``trial_dirname_creator`` to a new trial."""
        for attr, creator in zip(("custom_name", "custom_dirname"), self._namers):
            if creator is None:
                continue
            what = "trial_name_creator" if attr == "custom_name" else "trial_dirname_creator"
            try:
                name = creator(trial)
            except Exception as exc:
                raise TuneError(f"{what} raised on trial {trial.trial_id}: {type(exc).__name__}: {exc}") from exc
            if not isinstance(name, str) or not name.strip():
                raise TuneError(f"{what} must return a non-empty str, but returned {name!r} for trial "
                                f"{trial.trial_id}")
            setattr(trial, attr, name)

    def _check_fits(self, trial: Trial) -> None:
        """Refuse, before it starts, a trial the cluster can never hold."""
        key = trial.resources
        if key in self._checked_resources:
            return
        self.trial_executor.refresh_cluster(force=not self._checked_resources)
        self.trial_executor.refuse_unplaceable(trial)
        self._checked_resources.add(key)

    def _end_trials(self) -> None:
        """The experiment ended early (:meth:`end_experiment`): stop every trial still unfinished."""
        for trial in self._trials:
            if not trial.is_finished():
                self.stop_trial(trial, by="experiment", reason=self.ending)

    def _launch_trials(self) -> int:
        launched = 0
        limit = self.max_concurrent_trials
        running = len(self.trial_executor.get_running_trials()) if limit else 0
        for _ in range(len(self._trials)):
            if limit and running >= limit:
                break
            trial = self.scheduler.choose_trial_to_run(self._ctx)
            if trial is None:
                break
            if trial.status not in (TrialStatus.PENDING, TrialStatus.PAUSED) or not self.has_resources(trial.resources):
                break  # a misbehaving scheduler must not spin the loop
            self._start(trial)
            launched += 1
            running += 1
        return launched

    # -- starting and stopping ---------------------------------------------------------
    def _logdir(self, trial: Trial) -> str:
        if not trial.logdir:
            trial.logdir = os.path.join(trial.local_dir, trial.dirname())
        os.makedirs(trial.logdir, exist_ok=True)
        return trial.logdir

    def _new_epoch(self, trial: Trial) -> None:
        """The trial's run changes (started, stopped, paused, restored): results in flight are stale."""
        self._epochs[trial.trial_id] = self._epochs.get(trial.trial_id, 0) + 1

    def _start(self, trial: Trial) -> None:
        self._new_epoch(trial)
        self._run_rows[trial.trial_id] = 0
        if self._is_function(trial):
            self._drop_unused_checkpoints(trial)
        pinned = self._pinned.pop(trial.trial_id, None)
        if pinned is not None and trial.checkpoint_manager is not None:
            trial.checkpoint_manager.unpin(pinned)
        self._logdir(trial)
        if not self.loggers.has(trial):
            # (re)starting from a checkpoint at iteration k (0: from scratch): each logger drops
            # what an earlier run logged after k (Logger.restore_iteration), so no iteration repeats
            from tunecore.execution.state import restore_iteration

            self.loggers.open(trial, restore_iteration(trial.checkpoint if trial.has_checkpoint() else None))
        checkpoint = trial.checkpoint if trial.has_checkpoint() else None
        trial.status = TrialStatus.RUNNING
        self._state_dirty = True
        for attempt in (1, 2):
            try:
                self.trial_executor.start_trial(trial, checkpoint)
                self.callbacks.call("on_trial_start", iteration=self.iteration, trials=self._trials,
                                    trial=trial)
                if checkpoint is not None:
                    self.callbacks.call("on_trial_restore", iteration=self.iteration, trials=self._trials,
                                        trial=trial)
                return
            except TrialError as exc:
                if attempt == 2:
                    record_failure(trial, str(exc))
                    self._record_end(trial, "error")
                    self._finish(trial, TrialStatus.ERROR, error=True)
                    return
                time.sleep(0.5)

    def _finish(self, trial: Trial, status: TrialStatus, error: bool = False) -> None:
        """End a trial for good: actor gone, loggers closed."""
        self._new_epoch(trial)
        if error:
            self.trial_executor.kill_trial(trial)
        else:
            self.trial_executor.stop_trial(trial)
        if self._is_function(trial):
            self._drop_unused_checkpoints(trial)
        trial.status = status
        trial.location = None
        self.loggers.close(trial)
        self._state_dirty = True
        self._trial_ended(trial)

    def _trial_ended(self, trial: Trial) -> None:
        """Tell the callbacks ``trial`` ended; ``fail_fast`` ends the experiment on an error."""
        if trial.status == TrialStatus.ERROR:
            self.callbacks.call("on_trial_error", iteration=self.iteration, trials=self._trials, trial=trial)
            if self.fail_fast == "raise" and self._raise is None:
                from tunecore.execution.endings import error_headline

                self._raise = TrialError(f"Trial {trial} failed and fail_fast='raise' ends the run: "
                                         f"{error_headline(trial.error_msg) or 'see its error.txt'}\n"
                                         f"{trial.error_msg or ''}".rstrip())
                self.end_experiment("fail_fast")
            elif self.fail_fast:
                self.end_experiment("fail_fast")
        else:
            self.callbacks.call("on_trial_complete", iteration=self.iteration, trials=self._trials,
                                trial=trial)

    # -- results ----------------------------------------------------------------------
    def _on_results(self, trial: Trial, results: list[dict], finished: bool) -> None:
        if results:  # where the trial runs, as its trainable says
            trial.location = (results[-1].get("hostname"), results[-1].get("pid"))
        decision = Decision.CONTINUE
        natural_end = False
        how = "scheduler"  # how the trial ends, if it does (tunecore.execution.endings)
        processed: list[dict] = []
        force_checkpoint = False
        callbacks = self.callbacks.wants("on_trial_result")
        try:
            for result in results:
                trial.results_seen += 1
                if result.get(R.CHECKPOINT_DIR_NAME) and trial.logdir:  # reported with a checkpoint
                    self._keep_checkpoint(trial, os.path.join(trial.logdir, result[R.CHECKPOINT_DIR_NAME]),
                                          result.get(R.TRAINING_ITERATION, 0), result)
                if trial.should_stop(result):
                    how = "returned" if result.get(R.DONE) else "stop_criterion"
                    result[R.DONE] = True
                    natural_end = True
                else:
                    decision = self.scheduler.on_trial_result(self._ctx, trial, result)
                    if decision not in (Decision.CONTINUE, Decision.PAUSE, Decision.STOP):
                        raise TuneError(f"Scheduler {type(self.scheduler).__name__} returned {decision!r}; "
                                        "return CONTINUE, PAUSE or STOP")
                    decision = Decision(decision)
                    self.search_alg.on_trial_result(trial.trial_id, result)
                    if decision == Decision.STOP:
                        result[R.DONE] = True
                        self.search_alg.on_trial_complete(trial.trial_id,
                                                          early_terminated=not self._reached_budget(result))
                if callbacks:
                    self.callbacks.call("on_trial_result", iteration=self.iteration, trials=self._trials,
                                        trial=trial, result=result)
                if R.SHOULD_CHECKPOINT in result:  # asked by the trainable or a callback; not a metric
                    force_checkpoint = bool(result.pop(R.SHOULD_CHECKPOINT)) or force_checkpoint
                trial.last_result = result
                processed.append(result)
                self._run_rows[trial.trial_id] = self._run_rows.get(trial.trial_id, 0) + 1
                self.guard.call("the status printer", trial, result, self.printer.result, trial, result)
                if self._stoppers:
                    self._check_stop_all()
                if natural_end or decision != Decision.CONTINUE or self._exploit_queued(trial):
                    break  # the rest of the batch came from a run that ends or is replaced here
        except Exception as exc:
            if processed:
                self.loggers.log(trial, processed)
            self._on_failure(trial, exc)
            return
        if processed:
            self.loggers.log(trial, processed)
        if not natural_end and decision == Decision.CONTINUE and finished:
            if trial.last_result is None:
                self._on_failure(trial, TuneError("Trial finished without reporting a result."))
                return
            trial.last_result[R.DONE] = True
            natural_end = True
            how = "returned"
        if natural_end:
            self.scheduler.on_trial_complete(self._ctx, trial, trial.last_result)
            self.search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
            decision = Decision.STOP
        if decision == Decision.PAUSE:  # a STOP is recorded as the trial's end, below
            self._record_event(trial, {
                "event": "paused", "by": "scheduler",
                "scheduler": type(self.scheduler).__name__, "time": time.time(),
                "iteration": (trial.last_result or {}).get(R.TRAINING_ITERATION)})
        self._apply_requests(current=trial)
        if trial.status != TrialStatus.RUNNING or not self.trial_executor.is_running(trial):
            return
        try:
            if decision == Decision.CONTINUE:
                if trial.last_result is not None and (force_checkpoint or trial.should_checkpoint(trial.last_result)):
                    self._checkpoint(trial, forced=force_checkpoint)
                self.trial_executor.continue_training(trial)
            elif decision == Decision.PAUSE:
                self._pause(trial)
            else:
                if trial.last_result is not None and (force_checkpoint or trial.should_checkpoint(trial.last_result)):
                    self._checkpoint(trial, forced=force_checkpoint)
                self._record_end(trial, how)
                self._finish(trial, TrialStatus.TERMINATED)
                self._trigger_sync()
        except Exception as exc:
            self._on_failure(trial, exc)

    def _checkpoint(self, trial: Trial, forced: bool = False) -> None:
        """Checkpoint a class trainable now (``checkpoint_freq``, ``checkpoint_at_end``, a result's
        ``should_checkpoint``)."""
        if self._is_function(trial):  # it checkpoints itself, when it reports
            if trial.checkpoint is None and (trial.last_result or {}).get(R.DONE) and trial.checkpoint_at_end:
                log.warning("trial %s: checkpoint_at_end is set but the function reported no checkpoint; "
                            "report one with tunecore.report(metrics, checkpoint=...).", trial)
            elif forced and not self._warned_forced:
                self._warned_forced = True
                log.warning("trial %s: should_checkpoint was set, but a function trainable checkpoints itself: "
                            "report one with tunecore.report(metrics, checkpoint=...).", trial)
            return
        if forced and not self.trial_executor.is_running(trial):
            return
        self.loggers.flush(trial)  # every row up to the checkpoint is on disk before it is recorded
        checkpoint = self.trial_executor.save(trial, Checkpoint.DISK)
        self._keep_checkpoint(trial, checkpoint.value, checkpoint.iteration, trial.last_result)
        self.callbacks.call("on_trial_save", iteration=self.iteration, trials=self._trials, trial=trial)

    def _keep_checkpoint(self, trial: Trial, path: str, iteration: int, metrics: Optional[dict]) -> None:
        """``path`` (in the trial's folder) is the trial's latest checkpoint; retention may drop older ones."""
        trial.checkpoint = Checkpoint(Checkpoint.DISK, path, iteration)
        number = checkpoint_number(path)
        if number is not None:
            trial.checkpoint_index = max(trial.checkpoint_index, number)
        if trial.checkpoint_manager is None:
            config = CheckpointConfig.from_json(trial.checkpoint_config or {})
            trial.checkpoint_manager = CheckpointManager(config)
        trial.checkpoint_manager.register(path, iteration, metrics)
        self._state_dirty = True
        if self.callbacks.wants("on_checkpoint"):
            from tunecore.trainables.checkpoint import Checkpoint as UserCheckpoint

            self.callbacks.call("on_checkpoint", iteration=self.iteration, trials=self._trials, trial=trial,
                                checkpoint=UserCheckpoint.from_directory(path))

    def _drop_unused_checkpoints(self, trial: Trial) -> None:
        """Under a retention policy, delete the checkpoints a replaced run of a function trial wrote
        after the last result the runner took (their results were never logged; names above
        ``trial.checkpoint_index`` are never reused, so none of them is registered)."""
        manager = trial.checkpoint_manager
        if not trial.logdir or manager is None or manager.config.num_to_keep is None:
            return
        from tunecore.trainables.folders import delete_directory

        kept = {c.path for c in manager.checkpoints}
        try:
            names = os.listdir(trial.logdir)
        except OSError:
            return
        for name in names:
            number = checkpoint_number(name)
            path = os.path.join(trial.logdir, name)
            if number is not None and number > trial.checkpoint_index and path not in kept:
                try:
                    delete_directory(path)
                except OSError as exc:
                    log.warning("could not delete the unused checkpoint %s: %s", path, exc)

    def _is_function(self, trial: Trial) -> bool:
        """A function trainable: it reports its own checkpoints (the runner never asks it to save)."""
        name = trial.trainable_name
        if name not in self._function_trainables:
            from tunecore.trainables.function import is_function_trainable
            from tunecore.trainables.registry import get_trainable_cls

            try:
                self._function_trainables[name] = is_function_trainable(get_trainable_cls(name))
            except TuneError:
                self._function_trainables[name] = False
        return self._function_trainables[name]

    def save_to_memory(self, trial: Trial) -> Optional[Checkpoint]:
        """An in-memory checkpoint of ``trial`` (its last one when it is not running).

        For a function trainable: a copy of the latest checkpoint it reported, or None when
        it has reported none.
        """
        if self._is_function(trial):
            ckpt = trial.checkpoint
            if ckpt is None or ckpt.storage == Checkpoint.MEMORY:
                return ckpt
            return self.trial_executor.pack(ckpt)
        if not self.trial_executor.is_running(trial):
            if trial.checkpoint is not None and trial.checkpoint.storage == Checkpoint.MEMORY:
                return trial.checkpoint
            raise TuneError(f"save_trial({trial}): the trial is not running and has no in-memory checkpoint")
        return self.trial_executor.save(trial, Checkpoint.MEMORY)

    def _pause(self, trial: Trial) -> None:
        self._new_epoch(trial)
        if self._is_function(trial):
            # it resumes from the latest checkpoint it reported (from scratch if none); the
            # loggers drop what it logged after that checkpoint when it restarts
            ckpt = trial.checkpoint
            if ckpt is not None and ckpt.storage == Checkpoint.DISK and trial.checkpoint_manager is not None:
                trial.checkpoint_manager.pin(ckpt.value)
                self._pinned[trial.trial_id] = ckpt.value
            self.trial_executor.stop_trial(trial)
            behind = ckpt is None or ckpt.iteration < (trial.last_result or {}).get(R.TRAINING_ITERATION, 0)
            if behind and self._run_rows.get(trial.trial_id, 0):
                self.loggers.close(trial, restarting=True)  # reopened at the checkpoint's iteration
            else:
                self.loggers.flush(trial)
        else:
            trial.checkpoint = self.trial_executor.save(trial, Checkpoint.MEMORY)
            self.trial_executor.stop_trial(trial)
            self.loggers.flush(trial)
        trial.status = TrialStatus.PAUSED
        trial.location = None
        self._state_dirty = True

    # -- failures -----------------------------------------------------------------------
    def _on_failure(self, trial: Trial, exc: BaseException) -> None:
        message = failure_message(exc)
        # from the latest checkpoint, or from scratch without one; max_failures=-1 retries forever
        recover = trial.max_failures < 0 or trial.num_failures < trial.max_failures
        record_failure(trial, message)
        self._new_epoch(trial)
        self.trial_executor.kill_trial(trial)
        trial.location = None
        log.warning("trial %s failed (%d failures): %s", trial, trial.num_failures,
                    message.strip().splitlines()[-1] if message.strip() else exc)
        if recover:
            source = "its last checkpoint" if trial.has_checkpoint() else "scratch (no checkpoint yet)"
            log.warning("attempting to recover trial %s from %s (failure %d of at most %d).", trial, source,
                        trial.num_failures, trial.max_failures)
            # reopened by _start, which tells each logger the restore point
            self.loggers.close(trial, restarting=True)
            self.callbacks.call("on_trial_recover", iteration=self.iteration, trials=self._trials,
                                trial=trial)
            trial.status = TrialStatus.PENDING
            # a lost node shrinks the cluster: restart now only if the trial still fits, else
            # it waits PENDING (with its checkpoint) instead of blocking on an unplaceable actor
            self.trial_executor.refresh_cluster(force=True)
            if self.has_resources(trial.resources):
                self._start(trial)
            self._state_dirty = True
            return
        self.scheduler.on_trial_error(self._ctx, trial)
        self.search_alg.on_trial_complete(trial.trial_id, error=True)
        self._record_end(trial, "error")
        self._finish(trial, TrialStatus.ERROR, error=True)

    def _reached_budget(self, result: dict) -> bool:
        """The scheduler's ``reached_budget`` (False for one without it, or when it raises)."""
        check = getattr(self.scheduler, "reached_budget", None)
        try:
            return bool(check(result)) if callable(check) else False
        except Exception:  # a scheduler's courtesy must not end the run
            return False

    # -- requests from schedulers and clients -----------------------------------------
    def stop_trial(self, trial: Trial, by: str = "user", **detail: Any) -> None:
        """Stop a trial now (``by`` a user or client, the ``"scheduler"``, or the ``"experiment"``
        ending); no-op when already finished. ``detail`` goes into the recorded end."""
        if trial.is_finished():
            return
        self._record_end(trial, by, **detail)
        if trial.status in (TrialStatus.PENDING, TrialStatus.PAUSED):
            self.scheduler.on_trial_remove(self._ctx, trial)
            self.search_alg.on_trial_complete(trial.trial_id, early_terminated=True)
            trial.status = TrialStatus.TERMINATED
            self.loggers.close(trial)
            self._trial_ended(trial)
        else:
            if trial.last_result is not None:
                trial.last_result[R.DONE] = True
            self.scheduler.on_trial_complete(self._ctx, trial, trial.last_result)
            self.search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
            self._finish(trial, TrialStatus.TERMINATED)
        self._state_dirty = True
        self._apply_requests(current=None)

    def _exploit_queued(self, trial: Trial) -> bool:
        return any(kind == "exploit" and t is trial for kind, t, _ in self._requests)

    def queue_request(self, kind: str, trial: Trial, payload: Any = None) -> None:
        """A scheduler's request (``"stop"``, ``"unpause"``, ``"exploit"``), carried out by the loop
        once the callback that made it has returned."""
        self._requests.append((kind, trial, payload))

    def _apply_requests(self, current: Optional[Trial]) -> None:
        while self._requests:
            kind, trial, payload = self._requests.popleft()
            try:
                if kind == "stop":
                    if trial is current:
                        continue
                    self.stop_trial(trial, by="scheduler")
                elif kind == "unpause":
                    if trial.status == TrialStatus.PAUSED:
                        trial.status = TrialStatus.PENDING
                        self._state_dirty = True
                elif kind == "exploit":
                    self._exploit(trial, *payload)
            except Exception as exc:
                if trial.status == TrialStatus.RUNNING:
                    self._on_failure(trial, exc)
                else:
                    raise

    def _exploit(self, trial: Trial, checkpoint: Checkpoint, config: dict, tag: Optional[str],
                 record: Optional[dict]) -> None:
        trial.config = config
        if tag is not None:
            trial.experiment_tag = tag
        if self.trial_executor.is_running(trial):
            self._new_epoch(trial)
            self._run_rows[trial.trial_id] = 0
            self.trial_executor.exploit(trial, checkpoint)
            if self._is_function(trial):  # what it resumes from if paused before it reports again
                trial.checkpoint = checkpoint
                self._drop_unused_checkpoints(trial)
        else:
            trial.checkpoint = checkpoint
        self.loggers.update_config(trial, config)
        if record is not None:
            self._record_event(trial, record)
        self._state_dirty = True

    def _record_end(self, trial: Trial, how: str, **detail: Any) -> None:
        """Record how ``trial`` ends: one ``{"event": "ended", "how": how}`` line (see tunecore.execution.endings)."""
        if how == "scheduler":
            detail["scheduler"] = type(self.scheduler).__name__
        self._record_event(trial, ended_record(trial, how, **detail))

    def _record_event(self, trial: Trial, record: dict) -> None:
        """Keep a scheduler decision or a trial's end in ``trial.events`` and its ``events.jsonl``."""
        trial.events.append(record)
        append_event(self._logdir(trial), record)

    def _wind_down(self) -> None:
        for trial in self.trial_executor.get_running_trials():
            self.loggers.flush(trial)
            self.trial_executor.stop_trial(trial)
            trial.status = TrialStatus.PAUSED if trial.has_checkpoint() else TrialStatus.PENDING
            trial.location = None
            self.loggers.close(trial)
        self._state_dirty = True

    # -- syncing and state ------------------------------------------------------------
    def _trigger_sync(self) -> None:
        for manager in self.sync_managers:
            what = f"the syncer to {getattr(manager, 'remote_uri', manager)}"
            self.guard.call(what, None, manager.local_dir, manager.trigger)

    def print_table(self, force: bool = False, full: bool = False) -> None:
        """The status table through the printer (when due, or now with ``force``); never raises."""
        self.guard.call("the status printer", None, "the status table", self.printer.table,
                        self.status_view(max_rows=None if full else 20), force, not full)

    def _maybe_save_state(self, force: bool = False) -> None:
        now = time.monotonic()
        since = now - self._state_written
        if force or (self._state_dirty and since >= _STATE_MIN_INTERVAL) or since >= _STATE_INTERVAL:
            self.save_state()

    def save_state(self) -> None:
        # the state names each trial's latest checkpoint (a function trainable's comes with a
        # result): every row up to it must be on disk first, or a killed driver loses them
        for trial in self._trials:
            if trial.status == TrialStatus.RUNNING:
                self.loggers.flush(trial)
        self.state.save(self.experiment_dirs, self._trials, self.search_alg, self.scheduler, self.callbacks)
        self._state_dirty = False
        self._state_written = time.monotonic()

    # -- printing ----------------------------------------------------------------------
    def status_view(self, max_rows: Optional[int] = 20) -> StatusView:
        """What the status table shows now (the text is made only when the view is called)."""
        try:
            sched = self.scheduler.debug_string()
        except Exception as exc:  # a broken scheduler's text must not end the run
            sched = f"Using {type(self.scheduler).__name__} (debug_string failed: {exc})"
        return StatusView(list(self._trials), sched, self.trial_executor.resource_string(),
                          list(self.experiment_dirs), max_rows, self.trial_executor.driver_host,
                          self.metric, self.mode)

    def debug_string(self, max_rows: Optional[int] = 20) -> str:
        return self.status_view(max_rows)()

    def summary(self) -> str:
        return summary_text(self._trials, self.metric, self.mode, self.constraints)

    def print_summary(self) -> None:
        """The closing lines (counts by state, the best trial) through the printer; never raises."""
        self.guard.call("the status printer", None, "the summary", lambda: self.printer.summary(self.summary()))
