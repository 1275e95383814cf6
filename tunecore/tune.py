"""``run_experiments``: validate everything, run the trials on Ray, report, return them."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any, Optional, Union

from tunecore.errors import TrialsDidNotComplete, TuneError
from tunecore.experiment import Experiment, convert_to_experiment_list
from tunecore.trial import Trial, TrialStatus


def _resolve_components(pm: Any, scheduler: Any, search_alg: Any, metric: Optional[str],
                        mode: Optional[str]) -> tuple:
    scheduler = pm.schedulers.create(scheduler if scheduler is not None else "fifo")
    search_alg = pm.searchers.create(search_alg if search_alg is not None else "variant_generator")
    if metric or mode:
        scheduler.set_search_properties(metric, mode)
        search_alg.set_search_properties(metric, mode)
    return scheduler, search_alg


def _literal_runs(experiment: Experiment) -> list[str]:
    run = experiment.spec["run"]
    if isinstance(run, str):
        return [run]
    if isinstance(run, dict) and isinstance(run.get("grid_search"), list):
        return [r for r in run["grid_search"] if isinstance(r, str)]
    return []


def _validate(experiments: list[Experiment], scheduler: Any, pm: Any) -> None:
    """Everything that can be checked before a trial starts."""
    from tunecore.registry import get_trainable_cls
    from tunecore.trainable import is_function_trainable

    for exp in experiments:
        for run in _literal_runs(exp):
            cls = get_trainable_cls(run)
            checkpointable = cls.is_checkpointable()
            if getattr(scheduler, "requires_checkpointing", False) and not checkpointable:
                kind = "a function trainable" if is_function_trainable(cls) else f"{cls.__name__}, which does not implement _save/_restore"
                raise TuneError(
                    f"Experiment {exp.name!r}: the scheduler {type(scheduler).__name__} pauses and resumes "
                    f"trials through checkpoints, but {run!r} is {kind}. Write it as a Trainable class with "
                    "_train, _save and _restore, or use a scheduler that only stops trials (e.g. 'async_hyperband')."
                )
            if not checkpointable and (exp.spec["checkpoint_freq"] or exp.spec["checkpoint_at_end"]):
                key = "checkpoint_freq" if exp.spec["checkpoint_freq"] else "checkpoint_at_end"
                raise TuneError(
                    f"Experiment {exp.name!r}: {key} is set but {run!r} cannot be checkpointed (a function "
                    "trainable, or a class without _save/_restore). Implement a Trainable class with "
                    f"_save and _restore, or remove {key}."
                )
        loggers = exp.spec.get("loggers")
        for name in loggers or []:
            if isinstance(name, str) and name not in pm.loggers:
                raise TuneError(f"Experiment {exp.name!r}: loggers: {pm.loggers.unknown_message(name)}")
        upload = exp.spec.get("upload_dir")
        if upload:
            from tunecore.syncers import validate_upload_dir

            validate_upload_dir(upload, pm)


def _fingerprint(experiment: Experiment) -> str:
    """A digest of what makes an experiment the same one (where it is stored aside)."""
    spec = {k: v for k, v in experiment.spec.items() if k not in ("local_dir", "upload_dir", "sync_period")}
    text = json.dumps({"name": experiment.name, "spec": spec}, sort_keys=True,
                      default=lambda o: getattr(o, "__name__", type(o).__name__))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_states(experiments: list[Experiment]) -> dict[str, dict]:
    """``{experiment_dir: state}`` for the experiments that left one; refuses another spec's."""
    from tunecore.state import load_experiment_state

    states = {}
    for exp in experiments:
        state = load_experiment_state(exp.dir)
        if state is None:
            continue
        found, expected = state.get("spec_fingerprint"), _fingerprint(exp)
        if found != expected:
            raise TuneError(
                f"Cannot resume experiment {exp.name!r} from {exp.dir}: its experiment_state.json was "
                f"written for a different spec (fingerprint {found} vs {expected} for this one); "
                "config, stop, run, num_samples and resources must be the same to resume.\n"
                "Run the same spec to resume it, or give another name/local_dir (or move the folder "
                "away) to start a new experiment."
            )
        states[exp.dir] = state
    return states


def _moved(path: Optional[str], old_dir: str, new_dir: str) -> Optional[str]:
    """``path`` under ``old_dir`` re-rooted under ``new_dir`` (the folder was moved)."""
    if not path or old_dir == new_dir or not isinstance(path, str):
        return path
    rel = os.path.relpath(path, old_dir)
    return path if rel.startswith("..") else os.path.join(new_dir, rel)


def _restored_trials(state: dict, experiment_dir: str) -> list[Trial]:
    """The trials of ``state``: finished ones as they were, the others ready to (re)start.

    RUNNING and PAUSED trials restart from their last disk checkpoint (from scratch
    without one); PENDING ones start.
    """
    from tunecore.state import trial_from_record

    trials = []
    for rec in state["trials"]:
        trial = trial_from_record(rec)
        old = trial.local_dir
        if os.path.abspath(old) != os.path.abspath(experiment_dir):
            trial.local_dir = experiment_dir
            trial.logdir = _moved(trial.logdir, old, experiment_dir)
            trial.error_file = _moved(trial.error_file, old, experiment_dir)
            if trial.checkpoint is not None:
                trial.checkpoint.value = _moved(trial.checkpoint.value, old, experiment_dir)
        if trial.status in (TrialStatus.RUNNING, TrialStatus.PAUSED, TrialStatus.PENDING):
            if trial.has_checkpoint() and isinstance(trial.checkpoint.value, str) \
                    and not os.path.exists(trial.checkpoint.value):
                print(f"tunecore: the checkpoint {trial.checkpoint.value} of trial {trial} is gone; "
                      "the trial restarts from scratch.", file=sys.stderr)
                trial.checkpoint = None
            trial.status = TrialStatus.PENDING
            trial.location = None
            if not trial.has_checkpoint():
                trial.last_result = None  # restarts from scratch
        trials.append(trial)
    return trials


def _resume(runner: Any, experiments: list[Experiment], states: dict[str, dict]) -> bool:
    """Load the trials and the search/scheduler state of ``states`` into ``runner``.

    Returns:
        True if there was an earlier state to resume.
    """
    if not states:
        return False
    first = next(iter(states.values()))
    for exp in experiments:
        state = states.get(exp.dir)
        if state is not None:
            for trial in _restored_trials(state, exp.dir):
                runner.add_trial(trial)
    for kind, component in (("search_alg", runner.search_alg), ("scheduler", runner.scheduler)):
        saved = first.get(kind) or {}
        if saved.get("state") is None:
            continue
        if saved.get("class") != type(component).__name__:
            print(f"tunecore: the experiment was run with the {kind} {saved.get('class')}, now "
                  f"{type(component).__name__}; its saved state is not used.", file=sys.stderr)
            continue
        component.restore_state(saved["state"])
    n = len(runner.get_trials())
    done = sum(t.is_finished() for t in runner.get_trials())
    print(f"tunecore: resuming {', '.join(states)}: {done} of {n} trials already finished.", file=sys.stderr)
    return True


def _finished_trials(experiments: list[Experiment], states: dict[str, dict]) -> Optional[list[Trial]]:
    """The trials, when every experiment's state says it finished; else None."""
    from tunecore.state import trial_from_record

    if not experiments or any(exp.dir not in states or not states[exp.dir].get("finished") for exp in experiments):
        return None
    return [trial_from_record(rec) for exp in experiments for rec in states[exp.dir]["trials"]]


def _say(text: str) -> None:
    """Print from a signal handler (never fails on a stream the main thread is writing)."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (RuntimeError, OSError):  # pragma: no cover - reentrant write
        pass


def _resume_hint() -> str:
    """How to continue this experiment: the exact ``tune run ... --resume`` when run by the CLI."""
    argv = list(sys.argv) if sys.argv else []
    prog = os.path.basename(argv[0]) if argv else ""
    if prog in ("tune", "tunecore", "__main__.py") and "run" in argv[1:]:
        cmd = ["tune"] + argv[1:] + ([] if "--resume" in argv else ["--resume"])
        return "Resume with: " + " ".join(cmd)
    script = " ".join(["python"] + argv) if argv and argv[0] not in ("", "-c") else "your script"
    return f"Resume with run_experiments(..., resume=True) (e.g. {script} with resume=True), or: tune run SPEC --resume"


def run_experiments(experiments: Any = None, search_alg: Any = None, scheduler: Any = None,
                    with_server: bool = False, server_port: int = 4321, server_host: str = "127.0.0.1",
                    verbose: Union[bool, int] = True, queue_trials: bool = False,
                    trial_executor: Any = None, resume: bool = False, raise_on_failed_trial: bool = True,
                    address: Optional[str] = None, metric: Optional[str] = None,
                    mode: Optional[str] = None, reuse_actors: bool = True,
                    num_cpus: Optional[int] = None, num_gpus: Optional[int] = None,
                    printer: Any = None) -> list[Trial]:
    """Run experiments and return every trial, in creation order.

    Args:
        experiments: an ``Experiment``, a list of them, or ``{name: spec}``.
        search_alg: a SearchAlgorithm, a registered name, or ``{"name": ..., **kwargs}``
            (default: the variant generator).
        scheduler: a TrialScheduler, a registered name or ``{"name": ..., **kwargs}``
            (default: FIFO).
        with_server, server_port, server_host: serve the HTTP API (127.0.0.1 by default).
        verbose: False/0 prints nothing but the final summary, 1 the status table,
            True/2 also each result.
        queue_trials: start trials the cluster cannot fit yet (autoscaling clusters).
        resume: continue the experiment found in ``<local_dir>/<name>``.
        raise_on_failed_trial: raise TrialsDidNotComplete when trials end in ERROR.
        address: join this Ray cluster (default: the Ray already started, else
            ``RAY_ADDRESS``, else a new local one).
        metric, mode: the objective, given to the scheduler and search algorithm and
            used to name the best trial.
        reuse_actors: keep worker processes between trials with the same resources.
        num_cpus, num_gpus: size of a local Ray started here.
        printer: what prints the status table and results, an object with the methods of
            ``tunecore.status.ProgressPrinter`` (default: one at ``verbose``). Whatever it
            raises is reported once and skipped; the trials go on.
    """
    from tunecore.executor import RayTrialExecutor, ensure_ray
    from tunecore.plugins import get_plugin_manager
    from tunecore.runner import TrialRunner
    from tunecore.status import ProgressPrinter

    verbosity = 2 if verbose is True else (0 if verbose is False else int(verbose))
    pm = get_plugin_manager()
    experiment_list = convert_to_experiment_list(experiments)
    scheduler, search_alg = _resolve_components(pm, scheduler, search_alg, metric, mode)
    _validate(experiment_list, scheduler, pm)
    states = _load_states(experiment_list) if resume else {}
    finished = _finished_trials(experiment_list, states) if states else None
    if finished is not None:
        print(f"tunecore: the experiment in {', '.join(e.dir for e in experiment_list)} has already "
              f"finished ({len(finished)} trials); nothing to resume. Use another name or local_dir, "
              "or resume=False, to run it again.")
        return finished
    ensure_ray(address, num_cpus=num_cpus, num_gpus=num_gpus)
    executor = trial_executor or RayTrialExecutor(queue_trials=queue_trials, reuse_actors=reuse_actors)
    runner = TrialRunner(search_alg, scheduler, executor, pm, verbose=verbosity, metric=metric, mode=mode,
                         printer=printer or ProgressPrinter(verbose=verbosity))
    runner.state_extra = {"spec_fingerprints": {exp.dir: _fingerprint(exp) for exp in experiment_list}}
    for exp in experiment_list:
        os.makedirs(exp.dir, exist_ok=True)
        if exp.dir not in runner.experiment_dirs:
            runner.experiment_dirs.append(exp.dir)

    _resume(runner, experiment_list, states)
    if experiment_list:
        search_alg.add_configurations(experiment_list)  # a restored searcher skips what it made

    server = None
    sync_managers = []
    interrupted = {"count": 0}
    old_handler = None

    def on_sigint(signum: int, frame: Any) -> None:
        # The first Ctrl-C asks the loop to wind down (trials stopped, state saved, the
        # resume command printed); the handler never touches the runner's state itself.
        interrupted["count"] += 1
        if interrupted["count"] >= 2:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _say(f"\ntunecore: exiting now; trials that were running restart from their last "
                 f"checkpoint on resume. {_resume_hint()}")
            raise KeyboardInterrupt
        _say("\ntunecore: stopping trials and saving the experiment state (Ctrl-C again to exit at once)...")
        runner.request_stop()

    try:
        for exp in experiment_list:
            if exp.spec.get("upload_dir"):
                from tunecore.syncers import SyncManager

                manager = SyncManager(exp.dir, exp.spec["upload_dir"], pm, period=float(exp.spec["sync_period"]))
                manager.start()
                sync_managers.append(manager)
        runner.sync_managers = sync_managers
        if with_server:
            from tunecore.web_server import TuneServer

            server = TuneServer(runner, port=server_port, host=server_host,
                                experiment_dir=runner.experiment_dirs[0] if runner.experiment_dirs else None)
            server.start()
        if threading.current_thread() is threading.main_thread():
            old_handler = signal.signal(signal.SIGINT, on_sigint)
        runner.trial_executor.refresh_cluster(force=True)
        runner.print_table(force=True, full=True)
        while not runner.is_finished():
            runner.step()
            runner.print_table()
        runner.save_state()
        runner.print_table(force=True, full=True)
    finally:
        try:
            runner.save_state()
        except Exception as exc:  # pragma: no cover - disk full etc.
            print(f"tunecore: could not save the experiment state: {exc}", file=sys.stderr)
        for trial in runner.trial_executor.get_running_trials():
            runner.loggers.close(trial)
        executor.cleanup()
        deadline = time.monotonic() + (1.0 if interrupted["count"] >= 2 else 120.0)
        for manager in sync_managers:  # one final-sync budget shared by all experiments
            manager.close(timeout=max(1.0, deadline - time.monotonic()))
        if server is not None:
            server.shutdown()
        runner.close()
        if old_handler is not None:  # only now: a Ctrl-C during the cleanup above still prints the hint
            signal.signal(signal.SIGINT, old_handler)
    if interrupted["count"]:
        print(f"tunecore: experiment interrupted; state saved in {', '.join(runner.experiment_dirs)}.\n"
              f"tunecore: {_resume_hint()}", file=sys.stderr)
        raise KeyboardInterrupt
    print(runner.summary())
    trials = runner.get_trials()
    failed = [t for t in trials if t.status != TrialStatus.TERMINATED]
    if failed and raise_on_failed_trial:
        raise TrialsDidNotComplete(failed)
    return trials


def run(run_or_experiment: Any, name: Optional[str] = None, *, stop: Any = None, config: Optional[dict] = None,
        resources_per_trial: Optional[dict] = None, num_samples: int = 1, local_dir: Optional[str] = None,
        upload_dir: str = "", checkpoint_freq: int = 0, checkpoint_at_end: bool = False, max_failures: int = 3,
        restore: Optional[str] = None, loggers: Optional[list] = None, sync_period: float = 300.0,
        seed: Optional[int] = None, **run_kwargs: Any) -> Any:
    """The one-experiment form Ray Tune users know: ``tune.run(trainable, config=..., ...)``.

    Returns an :class:`tunecore.Analysis` of the experiment, with ``.trials_run`` holding
    the Trial objects. Keyword arguments not listed go to :func:`run_experiments`
    (``scheduler``, ``search_alg``, ``metric``, ``mode``, ``resume``, ``verbose``...).
    """
    from tunecore.analysis import Analysis
    from tunecore.registry import trainable_name

    if isinstance(run_or_experiment, Experiment):
        experiment = run_or_experiment
    else:
        run_name = trainable_name(run_or_experiment)
        experiment = Experiment(name or run_name.replace(":", "_"), run_or_experiment, stop=stop, config=config,
                                trial_resources=resources_per_trial, num_samples=num_samples, local_dir=local_dir,
                                upload_dir=upload_dir, checkpoint_freq=checkpoint_freq,
                                checkpoint_at_end=checkpoint_at_end, max_failures=max_failures, restore=restore,
                                loggers=loggers, sync_period=sync_period, seed=seed)
    trials = run_experiments(experiment, **run_kwargs)
    analysis = Analysis(experiment.dir)
    analysis.trials_run = trials
    return analysis
