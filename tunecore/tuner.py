"""``Tuner``: Ray Tune 2.x's front door, on the same run owner as ``run_experiments``.

::

    tuner = tunecore.Tuner(train, param_space={"lr": tunecore.loguniform(1e-4, 1e-1)},
                           tune_config=tunecore.TuneConfig(metric="loss", mode="min", num_samples=20),
                           run_config=tunecore.RunConfig(name="lr_search", stop={"training_iteration": 50}))
    results = tuner.fit()                      # a ResultGrid
    best = results.get_best_result()           # metric and mode from the TuneConfig

``fit()`` writes ``tuner.pkl`` (the param_space, TuneConfig and RunConfig) into the
experiment folder before the first trial starts, so ``Tuner.restore(path, train)`` can
continue a run that was interrupted or whose driver died: finished trials are kept (never
rerun), unfinished ones resume from their latest checkpoint in their own folder.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Optional

from tunecore import result as R
from tunecore._logging import get_logger
from tunecore.errors import TuneError
from tunecore.tune_config import FailureConfig, RunConfig, TuneConfig

log = get_logger("tunecore.tuner")

__all__ = ["Tuner"]

#: What ``fit()`` keeps in the experiment folder for ``Tuner.restore``.
TUNER_FILE = "tuner.pkl"


class Tuner:
    """Run a hyperparameter search: ``Tuner(trainable, param_space=..., tune_config=..., run_config=...)``.

    Args:
        trainable: a function ``f(config)`` that calls ``tunecore.report``, a
            ``tunecore.Trainable`` subclass, or a registered name (``with_parameters``/
            ``with_resources`` wrappers too).
        param_space: the search space, a (nested) dict of values, ``tunecore.grid_search``
            and sample domains (``tunecore.uniform``, ``choice``, ...).
        tune_config: a :class:`tunecore.TuneConfig`.
        run_config: a :class:`tunecore.RunConfig`.
    """

    def __init__(self, trainable: Any = None, *, param_space: Optional[dict] = None,
                 tune_config: Optional[TuneConfig] = None, run_config: Optional[RunConfig] = None) -> None:
        if trainable is None:
            raise TuneError("Tuner needs a trainable: Tuner(train_fn, param_space=..., ...)")
        if param_space is not None and not isinstance(param_space, dict):
            raise TuneError(f"param_space must be a dict of config values and search domains, but got "
                            f"param_space={param_space!r}")
        if tune_config is not None and not isinstance(tune_config, TuneConfig):
            raise TuneError(f"tune_config must be a tunecore.TuneConfig, but got {tune_config!r}")
        if run_config is not None and not isinstance(run_config, RunConfig):
            raise TuneError(f"run_config must be a tunecore.RunConfig, but got {run_config!r}")
        from tunecore.trainables.registry import trainable_name

        self.trainable = trainable
        self.param_space = param_space or {}
        self.tune_config = tune_config or TuneConfig()
        self.run_config = run_config or RunConfig()
        self._trainable_name = trainable_name(trainable)
        self._name = self.run_config.name or _default_name(self._trainable_name)
        self._resume: Any = False
        self._results: Any = None
        self._experiment = self._make_experiment()  # every spec error now, before anything runs

    # -- the experiment ----------------------------------------------------------------------
    @property
    def experiment_path(self) -> str:
        """``<storage_path>/<name>``: where the experiment's state and trial folders go."""
        return self._experiment.dir

    def _make_experiment(self) -> Any:
        from tunecore.experiment import Experiment

        rc, tc = self.run_config, self.tune_config
        failure = rc.failure_config or FailureConfig()
        checkpoint = rc.checkpoint_config
        storage = os.path.expanduser(rc.storage_path) if rc.storage_path else R.DEFAULT_RESULTS_DIR
        return Experiment(self._name, self.trainable, stop=rc.stop, config=self.param_space,
                          num_samples=tc.num_samples, local_dir=storage, max_failures=failure.max_failures,
                          checkpoint_config=checkpoint)

    def _save(self) -> None:
        """Write ``tuner.pkl`` (what a restore needs besides the trainable), atomically."""
        import cloudpickle

        from tunecore.util import atomic_open

        os.makedirs(self.experiment_path, exist_ok=True)
        state: dict[str, Any] = {"trainable_name": self._trainable_name, "name": self._name}
        for key in ("param_space", "tune_config", "run_config"):
            value = getattr(self, key)
            try:
                cloudpickle.dumps(value)
                state[key] = value
            except Exception as exc:
                log.warning("the %s cannot be pickled (%s: %s): Tuner.restore(...) will need it again%s.", key,
                            type(exc).__name__, exc, " (param_space=...)" if key == "param_space" else "")
                state[key] = None
        with atomic_open(os.path.join(self.experiment_path, TUNER_FILE), "wb", durable=True) as f:
            f.write(cloudpickle.dumps(state))

    # -- running -----------------------------------------------------------------------------
    def fit(self) -> Any:
        """Run every trial to its end and return a :class:`tunecore.ResultGrid`.

        A trial's error does not raise (it is in ``ResultGrid.errors``), except with
        ``FailureConfig(fail_fast="raise")``. Ctrl-C stops the run with its state saved
        (``Tuner.restore`` continues it) and raises ``KeyboardInterrupt``.
        """
        from tunecore.execution.lifecycle import ExperimentRun
        from tunecore.result_grid import ResultGrid

        rc, tc = self.run_config, self.tune_config
        failure = rc.failure_config or FailureConfig()
        self._save()
        run = ExperimentRun(
            self._experiment, search_alg=tc.search_alg, scheduler=tc.scheduler, metric=tc.metric, mode=tc.mode,
            constraints=tc.constraints,
            verbose=1 if rc.verbose is None else min(int(rc.verbose), 2), resume=self._resume,
            raise_on_failed_trial=False, reuse_actors=True if tc.reuse_actors is None else tc.reuse_actors,
            address=rc.address, printer=rc.progress_reporter, callbacks=rc.callbacks,
            max_concurrent_trials=tc.max_concurrent_trials, time_budget_s=tc.time_budget_s,
            fail_fast=failure.fail_fast, trial_name_creator=tc.trial_name_creator,
            trial_dirname_creator=tc.trial_dirname_creator)
        trials = run.run()
        self._results = ResultGrid.from_trials(trials, self.experiment_path, metric=tc.metric, mode=tc.mode,
                                               constraints=tc.constraints)
        return self._results

    def get_results(self) -> Any:
        """The :class:`tunecore.ResultGrid` of the experiment (of this ``fit()``, else read from its folder)."""
        from tunecore.result_grid import ResultGrid

        if self._results is not None:
            return self._results
        if not os.path.exists(os.path.join(self.experiment_path, R.EXPERIMENT_STATE_FILE)):
            raise TuneError(f"No results yet: {self.experiment_path} holds no experiment; call fit() first.")
        return ResultGrid.from_path(self.experiment_path, metric=self.tune_config.metric, mode=self.tune_config.mode,
                                    constraints=self.tune_config.constraints)

    # -- restoring ---------------------------------------------------------------------------
    @classmethod
    def can_restore(cls, path: str) -> bool:
        """True when ``path`` is an experiment folder a Tuner wrote (it holds ``tuner.pkl``)."""
        path = os.path.expanduser(str(path))
        return os.path.isfile(os.path.join(path, TUNER_FILE))

    @classmethod
    def restore(cls, path: str, trainable: Any, *, resume_unfinished: bool = True, resume_errored: bool = False,
                restart_errored: bool = False, param_space: Optional[dict] = None) -> Tuner:
        """A Tuner that continues the experiment in ``path`` when ``fit()`` is called.

        Args:
            path: the experiment folder (``<storage_path>/<name>``); it may have been moved.
            trainable: the same trainable the experiment ran (code is not stored).
            resume_unfinished: run the trials that had not finished (from their latest
                checkpoint, else from scratch); False ends them as they are.
            resume_errored: rerun errored trials from their latest checkpoint.
            restart_errored: rerun errored trials from scratch (their folder is reused).
            param_space: the search space again, needed only when it could not be pickled
                (e.g. it held object references); it must be the same space.

        Raises:
            TuneError: ``path`` holds no Tuner experiment, or both errored options are set.
        """
        import cloudpickle

        path = os.path.abspath(os.path.expanduser(str(path)))
        if resume_errored and restart_errored:
            raise TuneError("resume_errored and restart_errored cannot both be True: resume errored trials from "
                            "their checkpoint, or restart them from scratch.")
        if not cls.can_restore(path):
            hint = (" It holds an experiment_state.json: a run_experiments experiment, continued with "
                    "run_experiments(..., resume=True)." if os.path.exists(os.path.join(path, R.EXPERIMENT_STATE_FILE))
                    else "")
            raise TuneError(f"Cannot restore a Tuner from {path!r}: no {TUNER_FILE} there. Give the experiment "
                            f"folder a Tuner.fit() wrote (<storage_path>/<name>).{hint}")
        try:
            with open(os.path.join(path, TUNER_FILE), "rb") as f:
                state = cloudpickle.load(f)
        except Exception as exc:
            raise TuneError(f"Cannot restore a Tuner from {path!r}: {TUNER_FILE} cannot be read "
                            f"({type(exc).__name__}: {exc}).") from None
        space = param_space if param_space is not None else state.get("param_space")
        if space is None and param_space is None and state.get("param_space") is None:
            raise TuneError(f"Cannot restore {path!r}: its param_space could not be pickled; pass it again, "
                            "Tuner.restore(path, trainable, param_space=...).")
        run_config = state.get("run_config") or RunConfig()
        run_config.name = os.path.basename(path)
        run_config.storage_path = os.path.dirname(path)
        tuner = cls(trainable, param_space=space, tune_config=state.get("tune_config") or TuneConfig(),
                    run_config=run_config)
        tuner._resume = {"unfinished": resume_unfinished,
                         "errored": "resume" if resume_errored else "restart" if restart_errored else "keep"}
        return tuner


def _default_name(trainable_name: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return f"{trainable_name.replace(':', '_').replace('/', '_')}_{stamp}"
