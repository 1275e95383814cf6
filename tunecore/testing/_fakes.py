"""Fake trials and a fake runner for testing schedulers without Ray.

:class:`FakeRunner` implements :class:`tunecore.schedulers.SchedulerContext` and plays
the TrialRunner's part in one process: it adds trials, starts the one the
scheduler chooses, feeds results, acts on decisions and carries out queued requests
(``stop_trial``, ``unpause_trial``, ``exploit_trial``) after each callback returns.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.execution.trial import Checkpoint, Resources, Trial, TrialStatus
from tunecore.schedulers import Decision, TrialScheduler

_ids = itertools.count(1)

ResultFn = Callable[[Trial, int], dict]


def make_trial(config: Optional[dict] = None, *, trial_id: Optional[str] = None,
               trainable_name: str = "fake_trainable", cpu: float = 1, gpu: float = 0,
               status: TrialStatus = TrialStatus.PENDING, **fields: Any) -> Trial:
    """A :class:`Trial` for tests, with a unique, readable id (``t0001``...).

    Args:
        config: the trial's config (default ``{}``).
        trial_id: the id; default a fresh ``t<NNNN>``.
        trainable_name: the trainable's registered name (not looked up).
        cpu, gpu: the trial's resources.
        status: the initial status.
        **fields: any other :class:`Trial` field (``logdir``, ``experiment_tag``...).
    """
    return Trial(
        trainable_name=trainable_name,
        config=dict(config or {}),
        trial_id=trial_id or f"t{next(_ids):04d}",
        resources=Resources(cpu=cpu, gpu=gpu),
        status=status,
        **fields,
    )


def make_result(trial: Trial, iteration: int, **extra: Any) -> dict:
    """A plausible result of ``trial`` at ``iteration``.

    The trial's ``config["quality"]`` (default 1.0) sets how fast it improves:
    ``episode_reward_mean = quality * iteration`` and ``mean_loss`` its negation, so
    any of the usual metrics orders trials the same way. ``training_iteration``,
    ``time_total_s`` and ``timesteps_total`` all grow with ``iteration``.
    """
    quality = float(trial.config.get("quality", 1.0)) if isinstance(trial.config, dict) else 1.0
    result = {
        "training_iteration": iteration,
        "time_total_s": float(iteration),
        "time_this_iter_s": 1.0,
        "timesteps_total": 10 * iteration,
        "timesteps_this_iter": 10,
        "episode_reward_mean": quality * iteration,
        "mean_loss": -quality * iteration,
        "neg_mean_loss": quality * iteration,
        "mean_accuracy": quality * iteration / (1.0 + quality * iteration) if quality >= 0 else 0.0,
        "trial_id": trial.trial_id,
        "done": False,
        "config": dict(trial.config) if isinstance(trial.config, dict) else trial.config,
    }
    result.update(extra)
    return result


class FakeRunner:
    """A single-process stand-in for the TrialRunner, for scheduler tests.

    Args:
        scheduler: the scheduler under test (callbacks get this runner).
        cpus, gpus: the fake cluster's capacity.
        result_fn: ``(trial, iteration) -> result``; default :func:`make_result`.
        check_decisions: raise AssertionError when ``on_trial_result`` returns
            anything but a :class:`Decision`.

    Attributes:
        trials: every trial added, in order.
        decisions: ``(trial_id, decision)`` for every ``on_trial_result`` call.
        requests: ``(kind, trial_id)`` for every request the scheduler made.
        exploits: ``(trial_id, checkpoint, config, experiment_tag, record)`` carried out.
        started: trial ids in the order they were started (a resume counts again).
    """

    def __init__(self, scheduler: TrialScheduler, cpus: float = 4, gpus: float = 0,
                 result_fn: Optional[ResultFn] = None, check_decisions: bool = True) -> None:
        self.scheduler = scheduler
        self.cpus = cpus
        self.gpus = gpus
        self.result_fn = result_fn or make_result
        self.check_decisions = check_decisions
        self.trials: list[Trial] = []
        self.decisions: list[tuple[str, Decision]] = []
        self.requests: list[tuple[str, str]] = []
        self.exploits: list[tuple] = []
        self.started: list[str] = []
        self._queue: list[tuple] = []
        self._iteration: dict[str, int] = {}
        self._in_callback = False

    # -- SchedulerContext ------------------------------------------------------------
    def get_trials(self) -> list[Trial]:
        return list(self.trials)

    def get_trial(self, trial_id: str) -> Optional[Trial]:
        return next((t for t in self.trials if t.trial_id == trial_id), None)

    def has_resources(self, resources: Resources) -> bool:
        used_cpu = sum(t.resources.cpu_total() for t in self.trials if t.status == TrialStatus.RUNNING)
        used_gpu = sum(t.resources.gpu_total() for t in self.trials if t.status == TrialStatus.RUNNING)
        return (resources.cpu_total() <= self.cpus - used_cpu + 1e-9
                and resources.gpu_total() <= self.gpus - used_gpu + 1e-9)

    def stop_trial(self, trial: Trial) -> None:
        self.requests.append(("stop", trial.trial_id))
        self._queue.append(("stop", trial))

    def unpause_trial(self, trial: Trial) -> None:
        self.requests.append(("unpause", trial.trial_id))
        self._queue.append(("unpause", trial))

    def save_trial(self, trial: Trial) -> Checkpoint:
        self.requests.append(("save", trial.trial_id))
        if trial.status != TrialStatus.RUNNING:
            raise TuneError(f"save_trial needs a RUNNING trial, but {trial} is {trial.status.value}")
        iteration = self._iteration.get(trial.trial_id, 0)
        return Checkpoint(Checkpoint.MEMORY, {"trial_id": trial.trial_id, "config": dict(trial.config),
                                              "iteration": iteration}, iteration)

    def exploit_trial(self, trial: Trial, checkpoint: Checkpoint, config: dict,
                      experiment_tag: Optional[str] = None, record: Optional[dict] = None) -> None:
        self.requests.append(("exploit", trial.trial_id))
        self._queue.append(("exploit", trial, checkpoint, config, experiment_tag, record))

    # -- driving the scheduler like the runner does -------------------------------------
    def add_trial(self, trial: Trial) -> Trial:
        """``on_trial_add`` first, then the trial joins :meth:`get_trials`."""
        self._call(self.scheduler.on_trial_add, trial)
        self.trials.append(trial)
        return trial

    def add_trials(self, n: int, **make_trial_kwargs: Any) -> list[Trial]:
        """Add ``n`` fresh trials; ``quality`` varies (1, 2, ...) unless a config is given."""
        out = []
        for i in range(n):
            kwargs = dict(make_trial_kwargs)
            kwargs.setdefault("config", {"quality": float(i + 1)})
            out.append(self.add_trial(make_trial(**kwargs)))
        return out

    def choose(self) -> Optional[Trial]:
        """``choose_trial_to_run``, checked: a known PENDING/PAUSED trial that fits, or None."""
        trial = self.scheduler.choose_trial_to_run(self)
        if trial is None:
            return None
        if trial not in self.trials:
            raise AssertionError(f"choose_trial_to_run returned {trial}, which the runner does not have")
        if trial.status not in (TrialStatus.PENDING, TrialStatus.PAUSED):
            raise AssertionError(
                f"choose_trial_to_run returned {trial} in state {trial.status.value}; "
                "only PENDING or PAUSED trials may be chosen")
        if not self.has_resources(trial.resources):
            raise AssertionError(f"choose_trial_to_run returned {trial}, which does not fit")
        return trial

    def start_trial(self, trial: Trial) -> None:
        """Mark ``trial`` RUNNING (a PAUSED one resumes from its checkpoint's iteration)."""
        if trial.status == TrialStatus.PAUSED and trial.checkpoint is not None:
            self._iteration[trial.trial_id] = trial.checkpoint.iteration
        trial.status = TrialStatus.RUNNING
        self.started.append(trial.trial_id)

    def next_result(self, trial: Trial) -> dict:
        """The trial's next result from ``result_fn`` (its iteration counter advances)."""
        iteration = self._iteration.get(trial.trial_id, 0) + 1
        self._iteration[trial.trial_id] = iteration
        return self.result_fn(trial, iteration)

    def iteration(self, trial: Trial) -> int:
        return self._iteration.get(trial.trial_id, 0)

    def report(self, trial: Trial, result: Optional[dict] = None) -> Decision:
        """Feed one result to ``on_trial_result`` and act on the decision."""
        result = self.next_result(trial) if result is None else result
        decision = self._call(self.scheduler.on_trial_result, trial, result)
        if self.check_decisions and not isinstance(decision, Decision):
            raise AssertionError(
                f"on_trial_result returned {decision!r} ({type(decision).__name__}); return "
                "TrialScheduler.CONTINUE, PAUSE or STOP (tunecore.schedulers.Decision)")
        self.decisions.append((trial.trial_id, decision))
        trial.last_result = dict(result, done=True) if decision == Decision.STOP else result
        if decision == Decision.PAUSE:
            trial.checkpoint = Checkpoint(Checkpoint.MEMORY, {"trial_id": trial.trial_id},
                                          self._iteration.get(trial.trial_id, 0))
            trial.status = TrialStatus.PAUSED
        elif decision == Decision.STOP:
            trial.status = TrialStatus.TERMINATED
        self._drain()
        return decision

    def complete(self, trial: Trial, result: Optional[dict] = None) -> None:
        """The trial met its stop condition: ``on_trial_complete``, then TERMINATED."""
        result = self.next_result(trial) if result is None else result
        self._call(self.scheduler.on_trial_complete, trial, result)
        trial.last_result = dict(result, done=True)
        trial.status = TrialStatus.TERMINATED
        self._drain()

    def fail(self, trial: Trial) -> None:
        """A RUNNING trial failed for good: ``on_trial_error``, then ERROR."""
        self._call(self.scheduler.on_trial_error, trial)
        trial.status = TrialStatus.ERROR
        trial.num_failures += 1
        self._drain()

    def remove(self, trial: Trial) -> None:
        """A user stop of ``trial`` (any state), carried out like the runner's ``stop_trial``."""
        self._queue.append(("stop", trial))
        self._drain()

    def run(self, max_iterations: int = 10, max_steps: int = 10_000) -> None:
        """Run every trial to ``max_iterations`` (or until the scheduler stops it).

        One step starts the chosen trial or, if none, delivers one result of the running
        trial with the fewest results. Raises AssertionError when trials are left
        PENDING/PAUSED with nothing running (the scheduler stalled) or after ``max_steps``.
        """
        for _ in range(max_steps):
            if all(t.is_finished() for t in self.trials):
                return
            trial = self.choose()
            if trial is not None:
                self.start_trial(trial)
                continue
            running = [t for t in self.trials if t.status == TrialStatus.RUNNING]
            if not running:
                waiting = [f"{t} ({t.status.value})" for t in self.trials if not t.is_finished()]
                raise AssertionError(
                    f"scheduler stalled: nothing running and choose_trial_to_run returned None, "
                    f"but these trials are not finished: {', '.join(waiting)}")
            trial = min(running, key=lambda t: (self.iteration(t), self.trials.index(t)))
            if self.iteration(trial) + 1 >= max_iterations:
                self.complete(trial)
            else:
                self.report(trial)
        raise AssertionError(f"experiment did not finish within {max_steps} steps")

    # -- internals ------------------------------------------------------------------------
    def _call(self, method: Callable, *args: Any) -> Any:
        self._in_callback = True
        try:
            return method(self, *args)
        finally:
            self._in_callback = False

    def _drain(self) -> None:
        """Carry out queued requests in order, like the runner after a callback."""
        while self._queue:
            kind, trial, *rest = self._queue.pop(0)
            if kind == "stop":
                if trial.is_finished():
                    continue
                if trial.status == TrialStatus.RUNNING:
                    self._call(self.scheduler.on_trial_complete, trial, trial.last_result)
                else:
                    self._call(self.scheduler.on_trial_remove, trial)
                trial.status = TrialStatus.TERMINATED
            elif kind == "unpause":
                if trial.status == TrialStatus.PAUSED:
                    trial.status = TrialStatus.PENDING
            elif kind == "exploit":
                checkpoint, config, tag, record = rest
                trial.config = dict(config)
                trial.checkpoint = checkpoint
                if tag is not None:
                    trial.experiment_tag = tag
                if record is not None:
                    trial.events.append(record)
                if checkpoint is not None:
                    self._iteration[trial.trial_id] = checkpoint.iteration
                self.exploits.append((trial.trial_id, checkpoint, config, tag, record))


#: The same class under the name of the protocol it implements.
FakeContext = FakeRunner
