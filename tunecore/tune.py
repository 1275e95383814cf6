"""``run_experiments`` and ``tune.run``: the 2018 Tune-era fronts on :class:`ExperimentRun`."""

from __future__ import annotations

from typing import Any, Optional, Union

from tunecore.execution.lifecycle import ExperimentRun
from tunecore.execution.trial import Trial
from tunecore.experiment import Experiment


def run_experiments(experiments: Any = None, search_alg: Any = None, scheduler: Any = None,
                    with_server: bool = False, server_port: int = 4321, server_host: str = "127.0.0.1",
                    verbose: Union[bool, int] = True, queue_trials: bool = False,
                    trial_executor: Any = None, resume: bool = False, raise_on_failed_trial: bool = True,
                    address: Optional[str] = None, metric: Union[str, list[str], None] = None,
                    mode: Union[str, list[str], None] = None, reuse_actors: bool = True,
                    num_cpus: Optional[int] = None, num_gpus: Optional[int] = None,
                    printer: Any = None, callbacks: Optional[list] = None,
                    max_concurrent_trials: Optional[int] = None, time_budget_s: Any = None,
                    fail_fast: Union[bool, str] = False, trial_name_creator: Any = None,
                    trial_dirname_creator: Any = None, constraints: Optional[list[str]] = None) -> list[Trial]:
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
            used to name the best trial; for several objectives a list of metrics and a list
            of as many modes (``["min", "max"]``), taken by the components that accept them
            (the others refuse a list, naming those that take one) and used for the Pareto front.
        reuse_actors: keep worker processes between trials with the same resources.
        num_cpus, num_gpus: size of a local Ray started here.
        printer: what prints the status table and results, an object with the methods of
            ``tunecore.execution.status.ProgressPrinter`` (default: one at ``verbose``). Whatever it
            raises is reported once and skipped; the trials go on.
        callbacks: :class:`tunecore.Callback` instances (or names plugins registered).
        max_concurrent_trials: at most this many trials run at once (None: as many as fit).
        time_budget_s: end the run after this many seconds of wall-clock time (a number or
            a ``datetime.timedelta``): unfinished trials are stopped. Default: the
            ``TUNECORE_WALLTIME_LIMIT`` setting (none).
        fail_fast: True ends the run (other trials stopped) once a trial fails for good;
            ``"raise"`` also raises the failure from this call.
        trial_name_creator, trial_dirname_creator: ``f(trial) -> str``: the name shown for a
            trial, and its folder's name (default ``<name>_<trial id>``).
        constraints: (tunecore) result keys that must be ``<= 0`` for a trial to be feasible:
            an infeasible trial is never named best nor put on a Pareto front; searchers that
            model constraints (``OptunaSearch``) are told them.
    """
    return ExperimentRun(
        experiments, search_alg=search_alg, scheduler=scheduler, with_server=with_server,
        server_port=server_port, server_host=server_host, verbose=verbose, queue_trials=queue_trials,
        trial_executor=trial_executor, resume=resume, raise_on_failed_trial=raise_on_failed_trial,
        address=address, metric=metric, mode=mode, reuse_actors=reuse_actors, num_cpus=num_cpus,
        num_gpus=num_gpus, printer=printer, callbacks=callbacks, max_concurrent_trials=max_concurrent_trials,
        time_budget_s=time_budget_s, fail_fast=fail_fast, trial_name_creator=trial_name_creator,
        trial_dirname_creator=trial_dirname_creator, constraints=constraints).run()


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
    from tunecore.trainables.registry import trainable_name

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
