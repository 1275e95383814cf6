"""``ExperimentRun``: the one owner of an experiment run, from validation to cleanup.

``run_experiments`` and ``tune.run`` are thin fronts on it. It validates everything that
can be checked before a trial starts, loads the state of an earlier run when resuming,
builds the runner with its executor, state store and syncers, owns SIGINT (the first
Ctrl-C winds down and saves, the second exits), runs the loop, and cleans up whatever
happens: state saved, loggers closed, workers released, a last upload, the server
stopped. See ``docs/architecture.md`` for how the pieces fit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional

from tunecore._logging import get_logger, verbosity
from tunecore.errors import TrialsDidNotComplete, TuneError
from tunecore.execution.state import ExperimentState
from tunecore.execution.trial import Trial, TrialStatus
from tunecore.experiment import Experiment, convert_to_experiment_list
from tunecore.objective import Objective, is_metric_list, refuse_metric_list

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.runner import TrialRunner

log = get_logger("tunecore.lifecycle")  # a stable name, whatever the module path

#: Seconds the closing upload of all experiments may take together (1 s after a second Ctrl-C).
FINAL_SYNC_BUDGET = 120.0


def resolve_components(pm: Any, scheduler: Any, search_alg: Any, metric: Any, mode: Any,
                       constraints: Optional[Sequence[str]] = None) -> tuple[Any, Any]:
    """The scheduler and search algorithm (instances, names or ``{"name": ...}``), told the objective.

    A :class:`tunecore.search.Searcher` (built or given) is driven through a ``SearchGenerator``.
    ``constraints`` reach the scheduler and searcher whose ``set_search_properties`` takes them.
    A list of metrics reaches only components that accept one (``multi_objective = True``, or a
    single-objective scheduler with a metric of its own); the others are refused here, before
    any trial starts.
    """
    from tunecore.search.searcher import SearchGenerator, as_search_algorithm, takes_keyword

    scheduler = pm.schedulers.create(scheduler if scheduler is not None else "fifo")
    search_alg = as_search_algorithm(pm.searchers.create(search_alg if search_alg is not None else "variant_generator"))
    if metric or mode:
        scheduler.set_search_properties(metric, mode)
        if is_metric_list(metric) and getattr(search_alg, "multi_objective", None) is False:
            refuse_metric_list(type(search_alg).__name__, metric)
        search_alg.set_search_properties(metric, mode)
    if constraints:
        if takes_keyword(scheduler.set_search_properties, "constraints"):
            scheduler.set_search_properties(metric, mode, constraints=list(constraints))
        if isinstance(search_alg, SearchGenerator):  # passed to its Searcher with the config
            search_alg.constraints = list(constraints)
        elif takes_keyword(search_alg.set_search_properties, "constraints", var_keyword=True):
            search_alg.set_search_properties(metric, mode, constraints=list(constraints))
    return scheduler, search_alg


def _literal_runs(experiment: Experiment) -> list[str]:
    run = experiment.spec["run"]
    if isinstance(run, str):
        return [run]
    if isinstance(run, dict) and isinstance(run.get("grid_search"), list):
        return [r for r in run["grid_search"] if isinstance(r, str)]
    return []


def validate_run(experiments: Sequence[Experiment], scheduler: Any, pm: Any) -> None:
    """What can only be checked with the scheduler and the plugins known (before any trial starts)."""
    from tunecore.trainables.function import is_function_trainable
    from tunecore.trainables.registry import get_trainable_cls

    for exp in experiments:
        for run in _literal_runs(exp):
            cls = get_trainable_cls(run)
            if getattr(scheduler, "requires_checkpointing", False) and not cls.is_checkpointable():
                raise TuneError(
                    f"Experiment {exp.name!r}: the scheduler {type(scheduler).__name__} pauses and resumes "
                    f"trials through checkpoints, but {run!r} is {cls.__name__}, which implements neither "
                    "save_checkpoint/load_checkpoint nor _save/_restore. Implement them, write the trainable "
                    "as a function that reports checkpoints, or use a scheduler that only stops trials "
                    "(e.g. 'async_hyperband')."
                )
            if exp.spec["checkpoint_freq"] and is_function_trainable(cls):
                raise TuneError(
                    f"Experiment {exp.name!r}: checkpoint_freq is set but {run!r} is a function trainable, which "
                    "cannot be checkpointed by the runner: it checkpoints itself, tunecore.report(metrics, "
                    "checkpoint=tunecore.Checkpoint.from_directory(folder)). Remove checkpoint_freq."
                )
            if not cls.is_checkpointable() and (exp.spec["checkpoint_freq"] or exp.spec["checkpoint_at_end"]):
                key = "checkpoint_freq" if exp.spec["checkpoint_freq"] else "checkpoint_at_end"
                raise TuneError(
                    f"Experiment {exp.name!r}: {key} is set but {run!r} cannot be checkpointed (a class "
                    "without save_checkpoint/load_checkpoint). Implement them (or the 2018 _save/_restore), "
                    f"or remove {key}."
                )
        for name in exp.spec.get("loggers") or []:
            if isinstance(name, str) and name not in pm.loggers:
                raise TuneError(f"Experiment {exp.name!r}: loggers: {pm.loggers.unknown_message(name)}")
        upload = exp.spec.get("upload_dir")
        if upload:
            from tunecore.syncers import validate_upload_dir

            validate_upload_dir(upload, pm)


class ExperimentRun:
    """One run of one or more experiments. Build it, then call :meth:`run` once.

    The arguments are those of :func:`tunecore.run_experiments`, which documents them.
    """

    def __init__(self, experiments: Any, *, search_alg: Any = None, scheduler: Any = None,
                 with_server: bool = False, server_port: int = 4321, server_host: str = "127.0.0.1",
                 verbose: Any = True, queue_trials: bool = False, trial_executor: Any = None,
                 resume: Any = False, raise_on_failed_trial: bool = True, address: Optional[str] = None,
                 metric: Any = None, mode: Any = None, reuse_actors: bool = True,
                 num_cpus: Optional[int] = None, num_gpus: Optional[int] = None, printer: Any = None,
                 callbacks: Optional[Sequence[Any]] = None, max_concurrent_trials: Optional[int] = None,
                 time_budget_s: Any = None, fail_fast: Any = False, trial_name_creator: Any = None,
                 trial_dirname_creator: Any = None, constraints: Optional[Sequence[str]] = None) -> None:
        from tunecore.callback import resolve_callbacks
        from tunecore.execution.notebook import default_printer
        from tunecore.plugins import get_plugin_manager

        self.verbosity = 2 if verbose is True else (0 if verbose is False else int(verbose))
        self.plugins = get_plugin_manager()
        self.experiments = convert_to_experiment_list(experiments)
        self.objective = Objective.of(metric, mode, constraints)
        metric, mode = self.objective.metric, self.objective.mode
        self.scheduler, self.search_alg = resolve_components(self.plugins, scheduler, search_alg, metric, mode,
                                                             self.objective.constraints)
        validate_run(self.experiments, self.scheduler, self.plugins)
        self.options = run_options(max_concurrent_trials, time_budget_s, fail_fast, trial_name_creator,
                                   trial_dirname_creator)
        limit_search(self.search_alg, self.options["max_concurrent_trials"])
        self.callbacks = resolve_callbacks(callbacks, self.plugins)
        self.metric, self.mode = metric, mode
        self.resume = resume
        self.raise_on_failed_trial = raise_on_failed_trial
        self.with_server, self.server_port, self.server_host = with_server, server_port, server_host
        self.queue_trials, self.reuse_actors = queue_trials, reuse_actors
        self.ray_options: dict[str, Any] = {"address": address, "num_cpus": num_cpus, "num_gpus": num_gpus}
        self._executor = trial_executor
        self.printer = printer or default_printer(verbose=self.verbosity)
        self.state = ExperimentState(self.experiments, objective=self.objective)
        self.runner: Optional[TrialRunner] = None
        self._interrupts = 0

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> list[Trial]:
        """Run every trial to its end; return them all, in creation order.

        Raises:
            TrialsDidNotComplete: trials ended in ERROR (unless ``raise_on_failed_trial=False``).
            KeyboardInterrupt: after Ctrl-C, once the state is saved (resume prints how).
        """
        with verbosity(self.verbosity):
            return self._run()

    def _run(self) -> list[Trial]:
        states = self.state.load(self.experiments) if self.resume else {}
        if states and isinstance(self.resume, dict):  # Tuner.restore's choices
            from tunecore.execution.state import apply_resume_policy

            apply_resume_policy(states, **self.resume)
        finished = ExperimentState.finished_trials(self.experiments, states) if states else None
        if finished is not None:
            self.printer.summary(f"tunecore: the experiment in {', '.join(e.dir for e in self.experiments)} has "
                                 f"already finished ({len(finished)} trials); nothing to resume. Use another "
                                 "name or local_dir, or resume=False, to run it again.")
            return finished
        runner = self._build_runner()
        ExperimentState.restore(runner, self.experiments, states)
        if self.experiments:
            self.search_alg.add_configurations(self.experiments)  # a restored searcher skips what it made
        with self._sigint(runner), self._services(runner):  # cleanup first, then the old handler back
            self._setup_callbacks(runner)
            runner.trial_executor.refresh_cluster(force=True)
            runner.print_table(force=True, full=True)
            while not runner.is_finished():
                runner.step()
                runner.print_table()
            runner.save_state()
            runner.print_table(force=True, full=True)
        if self._interrupts:
            log.warning("experiment interrupted; state saved in %s.\ntunecore: %s",
                        ", ".join(runner.experiment_dirs), resume_hint())
            raise KeyboardInterrupt
        runner.print_summary()
        trials = runner.get_trials()
        failed = [t for t in trials if t.status != TrialStatus.TERMINATED]
        if failed and self.raise_on_failed_trial:
            raise TrialsDidNotComplete(failed)
        return trials

    def _build_runner(self) -> TrialRunner:
        from tunecore.execution.ray_executor import RayTrialExecutor, ensure_ray
        from tunecore.execution.runner import TrialRunner

        ensure_ray(**self.ray_options)
        executor = self._executor or RayTrialExecutor(queue_trials=self.queue_trials,
                                                      reuse_actors=self.reuse_actors)
        dirs = []
        for exp in self.experiments:
            os.makedirs(exp.dir, exist_ok=True)
            if exp.dir not in dirs:
                dirs.append(exp.dir)
        self.runner = TrialRunner(self.search_alg, self.scheduler, executor, self.plugins,
                                  verbose=self.verbosity, metric=self.metric, mode=self.mode,
                                  constraints=self.objective.constraints,
                                  printer=self.printer, state=self.state, experiment_dirs=dirs,
                                  callbacks=self.callbacks, **self.options)
        return self.runner

    def _setup_callbacks(self, runner: TrialRunner) -> None:
        if not runner.callbacks:
            return
        stops = [exp.spec.get("stop") for exp in self.experiments]
        per_variant = [exp.spec.get("num_samples", 1) for exp in self.experiments]
        counts = [count_trials(exp) for exp in self.experiments]
        total = None if None in counts else sum(c or 0 for c in counts)
        runner.callbacks.call("setup", stop=stops[0] if len(stops) == 1 else stops,
                              num_samples=per_variant[0] if len(per_variant) == 1 else per_variant,
                              total_num_samples=total)

    # -- what runs beside the loop ------------------------------------------------------------
    @contextlib.contextmanager
    def _services(self, runner: TrialRunner) -> Iterator[None]:
        """Syncers and the server for the loop's life; afterwards everything cleaned up."""
        server = None
        try:
            for exp in self.experiments:
                if exp.spec.get("upload_dir"):
                    from tunecore.syncers import SyncManager

                    manager = SyncManager(exp.dir, exp.spec["upload_dir"], self.plugins,
                                          period=float(exp.spec["sync_period"]))
                    manager.start()
                    runner.sync_managers.append(manager)
            if self.with_server:
                from tunecore.web.server import TuneServer

                server = TuneServer(runner, port=self.server_port, host=self.server_host,
                                    experiment_dir=runner.experiment_dirs[0] if runner.experiment_dirs else None)
                server.start()
            yield
        finally:
            self._cleanup(runner, server)

    def _cleanup(self, runner: TrialRunner, server: Any) -> None:
        if runner.callbacks.wants("on_experiment_end"):
            runner.callbacks.call("on_experiment_end", trials=runner.get_trials())
        try:
            runner.save_state()
        except Exception as exc:  # pragma: no cover - disk full etc.
            log.error("could not save the experiment state: %s", exc)
        for trial in runner.trial_executor.get_running_trials():
            runner.loggers.close(trial)
        runner.trial_executor.cleanup()
        deadline = time.monotonic() + (1.0 if self._interrupts >= 2 else FINAL_SYNC_BUDGET)
        for manager in runner.sync_managers:  # one final-sync budget shared by all experiments
            manager.close(timeout=max(1.0, deadline - time.monotonic()))
        if server is not None:
            server.shutdown()
        runner.close()

    @contextlib.contextmanager
    def _sigint(self, runner: TrialRunner) -> Iterator[None]:
        """The first Ctrl-C asks the loop to wind down (trials stopped, state saved, the resume
        command printed); the second exits at once. The handler never touches the runner's state."""
        def on_sigint(signum: int, frame: Any) -> None:
            self._interrupts += 1
            if self._interrupts >= 2:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _say(f"\ntunecore: exiting now; trials that were running restart from their last "
                     f"checkpoint on resume. {resume_hint()}")
                raise KeyboardInterrupt
            _say("\ntunecore: stopping trials and saving the experiment state (Ctrl-C again to exit at once)...")
            runner.request_stop()

        old = None
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            if old is not None:  # after the cleanup: a Ctrl-C during it still prints the hint
                signal.signal(signal.SIGINT, old)


def count_trials(experiment: Experiment) -> Optional[int]:
    """Trials the experiment's grid makes (grid points x ``num_samples``); None when a grid is computed."""
    from tunecore.search.variants import unresolved_values

    points = 1
    for value in unresolved_values(experiment.spec).values():
        if isinstance(value, dict) and isinstance(value.get("grid_search"), list):
            points *= len(value["grid_search"])
    return points * int(experiment.spec.get("num_samples", 1))


def run_options(max_concurrent_trials: Any, time_budget_s: Any, fail_fast: Any, trial_name_creator: Any,
                trial_dirname_creator: Any) -> dict[str, Any]:
    """The runner's options of Ray Tune 2.x's ``TuneConfig``/``FailureConfig``, checked."""
    import datetime

    from tunecore.util import is_number

    if max_concurrent_trials is not None and (isinstance(max_concurrent_trials, bool) or not isinstance(
            max_concurrent_trials, int) or max_concurrent_trials < 0):
        raise TuneError(f"max_concurrent_trials must be None or an int >= 1 (0 or None: no limit), but got "
                        f"max_concurrent_trials={max_concurrent_trials!r}")
    if isinstance(time_budget_s, datetime.timedelta):
        time_budget_s = time_budget_s.total_seconds()
    if time_budget_s is not None and (not is_number(time_budget_s) or not float(time_budget_s) > 0):
        raise TuneError(f"time_budget_s must be None or a number of seconds > 0 (or a datetime.timedelta), but got "
                        f"time_budget_s={time_budget_s!r}")
    if fail_fast not in (True, False, "raise") or fail_fast in (1, 0) and not isinstance(fail_fast, bool):
        raise TuneError(f"fail_fast must be True, False or 'raise', but got fail_fast={fail_fast!r}")
    for name, creator in (("trial_name_creator", trial_name_creator),
                          ("trial_dirname_creator", trial_dirname_creator)):
        if creator is not None and not callable(creator):
            raise TuneError(f"{name} must be a function trial -> str, but got {name}={creator!r}")
    return {"max_concurrent_trials": max_concurrent_trials or None,
            "time_budget_s": None if time_budget_s is None else float(time_budget_s),
            "fail_fast": fail_fast, "trial_name_creator": trial_name_creator,
            "trial_dirname_creator": trial_dirname_creator}


def limit_search(search_alg: Any, max_concurrent_trials: Optional[int]) -> None:
    """A searcher that suggests one trial at a time keeps at most ``max_concurrent_trials`` live
    (as Ray Tune wraps it in a ConcurrencyLimiter), so it learns from what finished."""
    from tunecore.searchers.suggestion import SuggestionAlgorithm

    if max_concurrent_trials and isinstance(search_alg, SuggestionAlgorithm):
        current = search_alg.max_concurrent
        if current is None or current > max_concurrent_trials:
            search_alg.max_concurrent = max_concurrent_trials


def _say(text: str) -> None:
    """Print from a signal handler (never fails on a stream the main thread is writing)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (RuntimeError, OSError):  # pragma: no cover - reentrant write
        pass


def resume_hint() -> str:
    """How to continue this experiment: the exact ``tune run ... --resume`` when run by the CLI."""
    argv = list(sys.argv) if sys.argv else []
    prog = os.path.basename(argv[0]) if argv else ""
    if prog in ("tune", "tunecore", "__main__.py") and "run" in argv[1:]:
        cmd = ["tune"] + argv[1:] + ([] if "--resume" in argv else ["--resume"])
        return "Resume with: " + " ".join(cmd)
    script = " ".join(["python"] + argv) if argv and argv[0] not in ("", "-c") else "your script"
    return f"Resume with run_experiments(..., resume=True) (e.g. {script} with resume=True), or: tune run SPEC --resume"
