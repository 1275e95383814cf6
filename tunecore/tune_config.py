"""``TuneConfig``, ``RunConfig`` and ``FailureConfig``: Ray Tune 2.x's configuration of a Tuner.

The fields keep Ray Tune 2.x's names, defaults and meaning; the differences, on purpose:

- ``TuneConfig.reuse_actors`` defaults to None, tunecore's default (True): worker processes
  are kept between trials with the same resources, and each trial still gets a fresh
  trainable. Ray Tune defaults to False.
- ``RunConfig.progress_reporter`` takes a tunecore printer (an object with the methods of
  ``tunecore.execution.status.ProgressPrinter``), not a Ray ``ProgressReporter``.
- ``RunConfig.storage_path`` is a local folder (default ``~/ray_results``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from tunecore.errors import TuneError
from tunecore.execution.retention import CheckpointConfig
from tunecore.objective import Objective

__all__ = ["CheckpointConfig", "FailureConfig", "RunConfig", "TuneConfig"]


@dataclass
class TuneConfig:
    """How to search: the objective, the search algorithm and scheduler, how many trials.

    Args:
        metric, mode: the objective (``"min"``/``"max"``), given to the scheduler and the
            search algorithm and the default of ``ResultGrid.get_best_result``; for several
            objectives, a list of metrics and a list of as many modes (the default of
            ``ResultGrid.get_pareto_front``).
        search_alg: a ``tunecore.search.Searcher`` (e.g. ``tune_optuna.OptunaSearch``), a
            seed-API ``SearchAlgorithm``, or a registered name; default: random/grid search.
        scheduler: a trial scheduler (``tune_hyperband.ASHAScheduler``, ``tune_pbt.PopulationBasedTraining``,
            ...) or a registered name; default: FIFO.
        num_samples: how many times the ``param_space`` is sampled (each grid point that many times).
        max_concurrent_trials: at most this many trials run at once (None: as many as fit).
        time_budget_s: end the run after this many seconds (or a ``timedelta``) of wall-clock time.
        reuse_actors: keep worker processes between trials (None: tunecore's default, True).
        trial_name_creator, trial_dirname_creator: ``f(trial) -> str`` for a trial's name and folder.
        constraints: (tunecore) result keys that must be ``<= 0`` for a trial to be feasible;
            an infeasible trial is never the best one nor on a Pareto front, and searchers that
            model constraints (``OptunaSearch``) are told them.
    """

    mode: Union[str, list[str], None] = None
    metric: Union[str, list[str], None] = None
    search_alg: Any = None
    scheduler: Any = None
    num_samples: int = 1
    max_concurrent_trials: Optional[int] = None
    time_budget_s: Union[None, int, float, datetime.timedelta] = None
    reuse_actors: Optional[bool] = None
    trial_name_creator: Optional[Callable[[Any], str]] = None
    trial_dirname_creator: Optional[Callable[[Any], str]] = None
    constraints: Optional[list[str]] = None

    def __post_init__(self) -> None:
        objective = Objective.of(self.metric, self.mode, self.constraints, owner="TuneConfig")
        self.metric, self.mode = objective.metric, objective.mode
        self.constraints = list(objective.constraints) if objective.constraints else None
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int) or self.num_samples == 0 \
                or self.num_samples < -1:
            raise TuneError(f"num_samples must be an int >= 1, but got num_samples={self.num_samples!r}")
        if self.num_samples == -1:
            raise TuneError("num_samples=-1 (sample until time_budget_s runs out) is not supported; give a number "
                            "of samples (with time_budget_s to bound the run).")
        if self.reuse_actors is not None and not isinstance(self.reuse_actors, bool):
            raise TuneError(f"reuse_actors must be True, False or None, but got reuse_actors={self.reuse_actors!r}")
        from tunecore.execution.lifecycle import run_options

        run_options(self.max_concurrent_trials, self.time_budget_s, False, self.trial_name_creator,
                    self.trial_dirname_creator)


@dataclass
class FailureConfig:
    """What happens when trials fail.

    Args:
        max_failures: retries of a failed trial (from its latest checkpoint, else from scratch);
            -1 retries forever, 0 (default) never.
        fail_fast: True ends the run once a trial fails for good (the others are stopped);
            ``"raise"`` also raises the failure from ``Tuner.fit()``.
    """

    max_failures: int = 0
    fail_fast: Union[bool, str] = False

    def __post_init__(self) -> None:
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int) or self.max_failures < -1:
            raise TuneError(f"max_failures must be an int >= -1 (-1: retry forever), but got "
                            f"max_failures={self.max_failures!r}")
        if self.fail_fast not in (True, False, "raise") or (self.fail_fast in (0, 1)
                                                             and not isinstance(self.fail_fast, bool)):
            raise TuneError(f"fail_fast must be True, False or 'raise', but got fail_fast={self.fail_fast!r}")


@dataclass
class RunConfig:
    """Where and how the run goes: its name and folder, when trials stop, callbacks, failures.

    Args:
        name: the experiment's folder name under ``storage_path`` (default
            ``<trainable>_<date>_<time>``).
        storage_path: the folder experiments go in (default ``~/ray_results``, or
            ``TUNECORE_RESULTS_DIR``).
        stop: ``{result_key: threshold}``, a ``tunecore.stopper.Stopper`` or ``f(trial_id, result) -> bool``.
        callbacks: ``tunecore.Callback`` instances (or names plugins registered).
        failure_config: a :class:`FailureConfig`.
        checkpoint_config: a :class:`tunecore.CheckpointConfig` (which checkpoints are kept).
        verbose: 0 silent but the closing summary, 1 the status table (default), 2 and 3
            also each result.
        progress_reporter: a tunecore printer (see the module docs) instead of the default.
    """

    name: Optional[str] = None
    storage_path: Optional[str] = None
    stop: Any = None
    callbacks: Optional[list] = None
    failure_config: Optional[FailureConfig] = None
    checkpoint_config: Optional[CheckpointConfig] = None
    verbose: Optional[int] = None
    progress_reporter: Any = None
    #: tunecore extensions: the Ray cluster to join and the size of a local one
    address: Optional[str] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name or "/" in self.name):
            raise TuneError(f"RunConfig.name must be a non-empty folder name without '/', but got name={self.name!r}")
        if self.storage_path is not None and not isinstance(self.storage_path, str):
            import os

            if not isinstance(self.storage_path, os.PathLike):
                raise TuneError(f"storage_path must be a folder path, but got storage_path={self.storage_path!r}")
            self.storage_path = os.fspath(self.storage_path)
        if self.storage_path and "://" in self.storage_path and not self.storage_path.startswith("file://"):
            raise TuneError(f"storage_path={self.storage_path!r}: experiments are kept in a local folder; to mirror "
                            "one to cloud storage, set upload_dir on the experiment (tunecore.Experiment).")
        if self.storage_path and self.storage_path.startswith("file://"):
            self.storage_path = self.storage_path[len("file://"):]
        if self.failure_config is not None and not isinstance(self.failure_config, FailureConfig):
            raise TuneError(f"failure_config must be a tunecore.FailureConfig, but got {self.failure_config!r}")
        if self.checkpoint_config is not None and not isinstance(self.checkpoint_config, CheckpointConfig):
            raise TuneError(f"checkpoint_config must be a tunecore.CheckpointConfig, but got "
                            f"{self.checkpoint_config!r}")
        if self.verbose is not None and (isinstance(self.verbose, bool) or self.verbose not in (0, 1, 2, 3)):
            raise TuneError(f"verbose must be 0, 1, 2 or 3, but got verbose={self.verbose!r}")
        if self.callbacks is not None and not isinstance(self.callbacks, (list, tuple)):
            raise TuneError(f"callbacks must be a list of tunecore.Callback, but got callbacks={self.callbacks!r}")
