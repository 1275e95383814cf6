"""MLflow tracking for tunecore runs (Ray Tune 2.x's ``ray.air.integrations.mlflow``).

Two ways in, with Ray's names and signatures:

- :class:`MLflowLoggerCallback`, an experiment callback on the driver: one MLflow run per trial,
  its config as the run's params and every numeric result as metrics, the run ended FINISHED or
  FAILED with the trial::

      from tune_integrations.mlflow import MLflowLoggerCallback

      tune.Tuner(train, param_space=space,
                 run_config=tune.RunConfig(callbacks=[MLflowLoggerCallback("sqlite:///mlflow.db",
                                                                           experiment_name="digits")])).fit()

  (or ``RunConfig(callbacks=["mlflow"])``, the tracking URI then coming from ``MLFLOW_TRACKING_URI``);

- :func:`setup_mlflow`, inside a function trainable: it starts a run for the trial in the
  worker and returns the ``mlflow`` module, so the trainable logs what it wants
  (``mlflow.log_metric``, ``mlflow.log_artifact``, ``mlflow.autolog()``).

MLflow is imported with this module (``pip install "tune-integrations[mlflow]"``: mlflow-skinny,
plus SQLAlchemy and Alembic for the ``sqlite:`` store that MLflow 3 uses by default); importing
:mod:`tune_integrations` alone does not import it.

What differs from Ray Tune on purpose is listed in each docstring; in short: the callback
never blocks the driver (MLflow is called from a thread of its own, flushed when the experiment
ends), a failing MLflow is reported and the run goes on, a resumed experiment continues each
trial's MLflow run, and the default MLflow experiment is named after the tunecore experiment.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from tune_integrations._report import require_framework
from tunecore.logger import LoggerCallback
from tunecore.util import as_float, flatten_dict

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.execution.trial import Trial

mlflow = require_framework("mlflow", "mlflow", "tune_integrations.mlflow")

__all__ = ["MLflowLoggerCallback", "setup_mlflow"]

log = logging.getLogger("tunecore.integrations.mlflow")

#: the run tag naming what made a run (the callback and setup_mlflow never continue each other's)
SOURCE_TAG = "tunecore.source"
#: the run tag holding the tunecore experiment's name
EXPERIMENT_TAG = "tunecore.experiment"

try:  # MLflow's limits (older versions: smaller ones)
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH
except ImportError:  # pragma: no cover - very old MLflow
    MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH = 250, 500, 5000

_TERMINAL = ("FINISHED", "FAILED", "KILLED")
_BAD_CHARS = re.compile(r"[^/\w.\- :]" if os.name != "nt" else r"[^/\w.\- ]")


# -- what MLflow accepts -----------------------------------------------------------------------
def mlflow_key(name: Any) -> str:
    """``name`` as a valid MLflow param, metric or tag key.

    MLflow takes letters and digits (any script), ``_ - . / :`` and spaces, and no key that a
    path would normalise to something else. Other characters become ``_`` (``"acc@1"`` ->
    ``"acc_1"``), empty, ``.`` and ``..`` path parts are dropped or replaced, and the key is cut
    to MLflow's 250 characters. A valid key comes back as it is.
    """
    key = _BAD_CHARS.sub("_", str(name))
    parts = [("_" * len(p) if p in (".", "..") else p) for p in key.split("/") if p]
    return "/".join(parts)[:MAX_ENTITY_KEY_LENGTH] or "_"


def _keyed(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` under valid MLflow keys (the first of names that clash wins)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        out.setdefault(mlflow_key(name), value)
    return out


def params_of(config: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """A trial's config as MLflow params: nested dicts flattened to ``"a/b"`` keys (as Ray
    does), values as text (``str``), cut to MLflow's length limit; top-level keys in ``skip`` left out."""
    flat = flatten_dict({k: v for k, v in config.items() if k not in skip}, "/")
    return {key: str(value)[:MAX_PARAM_VAL_LENGTH] for key, value in _keyed(flat).items()}


def metrics_of(result: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a result as MLflow metrics: nested dicts flattened to ``"a/b"``, bools as
    0/1 (as Ray's ``float(value)``), numpy scalars and 0-d arrays as floats, NaN and infinities
    kept; text, None, lists and the ``config`` entry left out."""
    out: dict[str, float] = {}
    for key, value in _keyed(flatten_dict({k: v for k, v in result.items() if k != "config"}, "/")).items():
        number = float(value) if isinstance(value, bool) or type(value).__name__ == "bool_" else as_float(value)
        if number is not None:
            out[key] = number
    return out


def step_of(result: Mapping[str, Any]) -> int:
    """The MLflow step of a result, as Ray takes it: ``timesteps_total`` when reported, else
    ``training_iteration``."""
    step = result.get("timesteps_total") or result.get("training_iteration") or 0
    try:
        return int(step)
    except (TypeError, ValueError):
        return int(result.get("training_iteration") or 0)


def _redact(text: str, secrets: tuple[Optional[str], ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", text)  # user:password@ in URIs


# -- the callback ------------------------------------------------------------------------------
class _Queue(queue.Queue):
    """The writer thread's work: ``(what, trial_id, fn, args)`` items, None to stop."""

    quiet = False  # set when the experiment ended and what was left got dropped


@dataclass
class _TrialStart:
    trial_id: str
    name: str
    experiment: str
    params: dict[str, str]
    continued: bool
    tags: dict[str, str] = field(default_factory=dict)


class MLflowLoggerCallback(LoggerCallback):
    """Log every trial of a run to MLflow: one run per trial, params, metrics, status, artifacts.

    ``ray.air.integrations.mlflow.MLflowLoggerCallback`` (Ray 2.x), with the same arguments.
    Pass it in ``RunConfig(callbacks=[...])`` (or name it: ``callbacks=["mlflow"]``). On the
    driver, for each trial:

    - when it first starts, an MLflow run named after the trial (``str(trial)``) is created in
      the experiment, tagged with ``tags`` and ``trial_name``, ``trial_id``,
      ``tunecore.experiment`` (the tunecore experiment's name) and ``tunecore.source``;
    - its config is logged as params (when it starts, or when it ends with
      ``log_params_on_trial_end=True``), flattened to ``"a/b"`` keys;
    - each result is logged as metrics at step ``timesteps_total`` if reported, else
      ``training_iteration``: every number in it (nested dicts flattened, bools as 0/1, numpy
      values as floats, NaN and infinities as they are; a SQL store keeps an infinity as
      +-1.8e308), not text and not the ``config`` entry;
    - when it ends, the run is set FINISHED, or FAILED when the trial ended in ERROR; with
      ``save_artifact=True`` the trial's folder (results, checkpoints) is logged as the run's
      artifacts first.

    A trial that is paused, retried after a failure, or resumed by ``Tuner.restore`` continues
    its run (reopened as RUNNING when it had ended): the run ids are part of the callback's state
    in ``experiment_state.json``, and a trial the state does not name is looked up by its tags.
    When the experiment ends, a run whose trial did not finish is set KILLED.

    Names MLflow refuses (``"acc@1"``) are logged with the refused characters as ``_``.
    MLflow params cannot change: a value that changes during a trial (PBT) keeps its first
    value; ``log_params_on_trial_end=True`` logs the final config instead.

    Args:
        tracking_uri: where MLflow stores the runs: ``"sqlite:///path/mlflow.db"``, an
            ``http(s)://`` tracking server, ``"databricks"``, or a folder / ``"file:..."`` (MLflow 3
            refuses the folder store unless ``MLFLOW_ALLOW_FILE_STORE=true``). None: MLflow's
            default, ``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///mlflow.db`` in the current
            folder (MLflow 3; ``./mlruns`` in MLflow 2).
        registry_uri: the model registry's URI, given to the ``MlflowClient``.
        experiment_name: the MLflow experiment, created if it does not exist. None:
            ``MLFLOW_EXPERIMENT_ID`` or ``MLFLOW_EXPERIMENT_NAME`` if set, else the tunecore
            experiment's name (``RunConfig(name=...)``).
        tags: tags of every run (keys and values as text).
        tracking_token: a token for the tracking server; set as ``MLFLOW_TRACKING_TOKEN`` in the
            driver's environment, as Ray does. It is never logged, never part of the state and
            not pickled into ``tuner.pkl``: a run restored in a new process reads
            ``MLFLOW_TRACKING_TOKEN`` (MLflow's other credential variables, ``MLFLOW_TRACKING_USERNAME``
            / ``_PASSWORD``, work as in MLflow).
        save_artifact: log the trial's folder as the run's artifacts when the trial ends.
        log_params_on_trial_end: log the params when the trial ends instead of when it starts.

    Differences from Ray Tune, on purpose:

    - MLflow is called from a thread of the callback's own, in order, so a slow or unreachable
      tracking server never holds up the driver; everything is written when the experiment
      ends (``fit()`` returns after at most ``flush_timeout_s`` seconds of waiting for MLflow).
    - A failing MLflow call (a bad URI, a server down, a refused value) is reported once per
      kind of error with a ``tunecore: WARNING`` line and skipped; the other trials and the
      experiment go on, and a count is printed at the end. (Ray's callback raises.)
    - Without ``experiment_name`` the runs go to an experiment named after the tunecore
      experiment (Ray requires ``experiment_name`` or ``MLFLOW_EXPERIMENT_NAME``); an explicit
      ``experiment_name`` wins over ``MLFLOW_EXPERIMENT_ID``.
    - Ray logs the result's ``config`` entry as metrics too (``config/lr``); here it is only
      the params. Text that happens to parse as a number is not a metric.
    - The MLflow client is used with explicit run ids only: the callback never sets the
      process's tracking URI, experiment or active run.
    """

    #: seconds ``on_experiment_end`` waits for MLflow to take what is queued
    flush_timeout_s: float = 60.0

    def __init__(self, tracking_uri: Optional[str] = None, *, registry_uri: Optional[str] = None,
                 experiment_name: Optional[str] = None, tags: Optional[dict] = None,
                 tracking_token: Optional[str] = None, save_artifact: bool = False,
                 log_params_on_trial_end: bool = False) -> None:
        self.tracking_uri = os.fspath(tracking_uri) if tracking_uri is not None else None
        self.registry_uri = registry_uri
        self.experiment_name = experiment_name
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.tracking_token = tracking_token
        self.should_save_artifact = bool(save_artifact)
        self.log_params_on_trial_end = bool(log_params_on_trial_end)
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        #: trial id -> MLflow run id (the state kept for a resumed run)
        self._trial_runs: dict[str, str] = getattr(self, "_trial_runs", {})
        self._queue: Optional[_Queue] = None
        self._thread: Optional[threading.Thread] = None
        # only the writer thread touches these
        self._client: Any = None
        self._experiment_ids: dict[str, str] = {}
        self._params: dict[str, dict[str, str]] = {}
        self._open: set[str] = set()
        self._warned: set[tuple] = set()
        self.failures = 0  # MLflow calls that failed in this run

    # pickling (tuner.pkl) keeps the settings and the runs, not the thread nor the token
    def __getstate__(self) -> dict:
        keep = ("tracking_uri", "registry_uri", "experiment_name", "tags", "should_save_artifact",
                "log_params_on_trial_end", "flush_timeout_s")
        state = {k: v for k, v in self.__dict__.items() if k in keep}
        with self._lock:
            state["_trial_runs"] = dict(self._trial_runs)
        state["tracking_token"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        uri = _redact(self.tracking_uri, ()) if self.tracking_uri else None
        return f"MLflowLoggerCallback(tracking_uri={uri!r}, experiment_name={self.experiment_name!r})"

    # -- state for a resumed run ------------------------------------------------------------
    def get_state(self) -> Optional[dict]:
        with self._lock:
            return {"runs": dict(self._trial_runs)}

    def set_state(self, state: dict) -> None:
        runs = state.get("runs") if isinstance(state, dict) else None
        if isinstance(runs, dict):
            with self._lock:
                self._trial_runs.update({str(k): str(v) for k, v in runs.items()})

    # -- the hooks (driver thread): snapshot what is needed, queue the MLflow calls -------------
    def setup(self, stop: Any = None, num_samples: Optional[int] = None, total_num_samples: Optional[int] = None,
              **info: Any) -> None:
        if self.tracking_token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.tracking_token
        self.failures = 0
        self._start_writer()

    def log_trial_start(self, trial: Trial) -> None:
        start = _TrialStart(trial_id=trial.trial_id, name=str(trial), experiment=trial.experiment_name or "",
                            params={} if self.log_params_on_trial_end else params_of(trial.config or {}),
                            continued=trial.last_result is not None)
        start.tags = {**_keyed(self.tags), "trial_name": str(trial), "trial_id": trial.trial_id,
                      EXPERIMENT_TAG: start.experiment, SOURCE_TAG: type(self).__name__}
        self._submit("start the MLflow run", trial.trial_id, self._do_start, start)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict) -> None:
        metrics = metrics_of(result)
        if metrics:
            self._submit("log metrics", trial.trial_id, self._do_metrics, trial.trial_id, metrics, step_of(result),
                         int(time.time() * 1000))

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        params = params_of(trial.config or {}) if self.log_params_on_trial_end else None
        folder = trial.path if self.should_save_artifact else None
        self._submit("end the MLflow run", trial.trial_id, self._do_end, trial.trial_id,
                     "FAILED" if failed else "FINISHED", params, folder)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        status = {t.trial_id: "FINISHED" if t.status.value == "TERMINATED" else
                  "FAILED" if t.status.value == "ERROR" else "KILLED" for t in trials}
        self._submit("end the MLflow runs", None, self._do_close, status)
        taken = self.flush(self.flush_timeout_s)
        if not taken:
            dropped = self._abandon()
            log.warning("MLflowLoggerCallback: MLflow did not take the queued calls within %g s (is the tracking "
                        "server reachable?); %d call(s) are dropped.", self.flush_timeout_s, dropped)
        self._stop_writer(wait=5.0 if taken else 0.0)  # a writer stuck in a call ends after it, on its own
        if self.failures:
            log.warning("MLflowLoggerCallback: %d MLflow call(s) failed in this run (see the warnings above); "
                        "the experiment itself was not affected.", self.failures)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until MLflow has taken every call queued so far (at most ``timeout`` seconds).

        Returns:
            True if it has; False if the wait timed out (the calls stay queued).
        """
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        assert self._queue is not None
        self._queue.put((None, None, done.set, ()))
        return done.wait(timeout)

    def _abandon(self) -> int:
        """Drop what is queued (the experiment has ended); the call in flight ends quietly."""
        q = self._queue
        if q is None:
            return 0
        q.quiet = True
        dropped = 0
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                return dropped
            if item is not None and item[0] is None:
                item[2]()  # a flush marker: release its waiter
            elif item is not None:
                dropped += 1

    # -- the writer thread -------------------------------------------------------------------
    def _start_writer(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._queue = _Queue()
        self._thread = threading.Thread(target=self._write_loop, args=(self._queue,), daemon=True,
                                        name="tunecore-mlflow")
        self._thread.start()

    def _stop_writer(self, wait: float = 5.0) -> None:
        thread, q = self._thread, self._queue
        if thread is None or q is None:
            return
        q.put(None)
        thread.join(timeout=wait)
        self._thread = self._queue = None

    def _submit(self, what: str, trial_id: Optional[str], fn: Callable, *args: Any) -> None:
        self._start_writer()
        assert self._queue is not None
        self._queue.put((what, trial_id, fn, args))

    def _write_loop(self, q: _Queue) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            what, trial_id, fn, args = item
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - MLflow failing never ends the experiment
                self.failures += 1
                if not q.quiet:  # (after the experiment ended and the rest was dropped: no more messages)
                    self._failed(what, trial_id, exc, counted=True)

    def _failed(self, what: str, trial_id: Optional[str], exc: BaseException, counted: bool = False) -> None:
        if not counted:
            self.failures += 1
        text = _redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "", (self.tracking_token,))
        kind = (what, type(exc).__name__, text[:200])
        if kind in self._warned:
            return
        self._warned.add(kind)
        where = f" for trial {trial_id}" if trial_id else ""
        log.warning("MLflowLoggerCallback could not %s%s: %s: %s\nThe experiment goes on; more errors like this "
                    "one are counted, not shown.", what, where, type(exc).__name__, text[:1000])

    def _mlflow_client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return self._client

    def _experiment_id(self, tunecore_name: str) -> str:
        if tunecore_name in self._experiment_ids:
            return self._experiment_ids[tunecore_name]
        client = self._mlflow_client()
        name = self.experiment_name
        experiment_id = None
        if name is None and os.environ.get("MLFLOW_EXPERIMENT_ID"):
            from mlflow.exceptions import MlflowException

            try:  # as in Ray: an id that does not exist falls through to the name
                found = client.get_experiment(os.environ["MLFLOW_EXPERIMENT_ID"])
                experiment_id = found.experiment_id if found.lifecycle_stage != "deleted" else None
            except MlflowException:
                experiment_id = None
        if experiment_id is None:
            name = name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or tunecore_name or "Default"
            experiment_id = _experiment_by_name(client, name, create=True)
        self._experiment_ids[tunecore_name] = experiment_id
        return experiment_id

    def _do_start(self, start: _TrialStart) -> None:
        from mlflow.exceptions import MlflowException

        client = self._mlflow_client()
        with self._lock:
            run_id = self._trial_runs.get(start.trial_id)
        if run_id is not None:
            try:
                run = client.get_run(run_id)
            except MlflowException:  # deleted, or another tracking store: a new run
                run = None
            if run is None or run.info.lifecycle_stage == "deleted":
                run_id = None
            elif run.info.status in _TERMINAL:
                client.update_run(run_id, status="RUNNING")
        if run_id is None and start.continued and "'" not in start.trial_id:  # resumed, but not in the state
            experiment_id = self._experiment_id(start.experiment)
            found = client.search_runs([experiment_id], max_results=1, order_by=["attributes.start_time DESC"],
                                       filter_string=f"tags.trial_id = '{start.trial_id}' and "
                                                     f"tags.`{SOURCE_TAG}` = '{type(self).__name__}'")
            if found:
                run_id = found[0].info.run_id
                if found[0].info.status in _TERMINAL:
                    client.update_run(run_id, status="RUNNING")
        if run_id is None:
            tags = {k: v[:MAX_TAG_VAL_LENGTH] for k, v in start.tags.items()}
            run = client.create_run(self._experiment_id(start.experiment), run_name=start.name, tags=tags)
            run_id = run.info.run_id
        with self._lock:
            self._trial_runs[start.trial_id] = run_id
        self._open.add(start.trial_id)
        if start.params:
            self._log_params(start.trial_id, run_id, start.params)

    def _log_params(self, trial_id: str, run_id: str, params: dict[str, str]) -> None:
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException

        client = self._mlflow_client()
        known = self._params.setdefault(trial_id, {})
        new = {k: v for k, v in params.items() if k not in known}
        changed = sorted(k for k, v in params.items() if k in known and known[k] != v)
        if new:
            try:
                client.log_batch(run_id, params=[Param(k, v) for k, v in new.items()])
            except MlflowException:  # a continued run already has some of them, maybe with other values
                logged = client.get_run(run_id).data.params
                changed += sorted(k for k, v in new.items() if k in logged and logged[k] != v)
                known.update({k: logged[k] for k in new if k in logged})
                new = {k: v for k, v in new.items() if k not in logged}
                if new:
                    client.log_batch(run_id, params=[Param(k, v) for k, v in new.items()])
            known.update(new)
        if changed and ("params changed", trial_id) not in self._warned:
            self._warned.add(("params changed", trial_id))
            log.warning("MLflowLoggerCallback: trial %s changed %s, but MLflow params cannot change; the run keeps "
                        "the first values (log_params_on_trial_end=True logs the final config).", trial_id,
                        ", ".join(changed))

    def _do_metrics(self, trial_id: str, metrics: dict[str, float], step: int, timestamp: int) -> None:
        from mlflow.entities import Metric

        with self._lock:
            run_id = self._trial_runs.get(trial_id)
        if run_id is None or trial_id not in self._open:
            return  # its run could not be started (already reported)
        self._mlflow_client().log_batch(run_id, metrics=[Metric(k, v, timestamp, step) for k, v in metrics.items()])

    def _do_end(self, trial_id: str, status: str, params: Optional[dict[str, str]], folder: Optional[str]) -> None:
        with self._lock:
            run_id = self._trial_runs.get(trial_id)
        if run_id is None or trial_id not in self._open:
            return
        client = self._mlflow_client()
        try:
            if params:
                self._log_params(trial_id, run_id, params)
            if folder and os.path.isdir(folder):
                client.log_artifacts(run_id, folder)
        except Exception as exc:  # noqa: BLE001 - the run is ended all the same
            self._failed("log the params or artifacts", trial_id, exc)
        client.set_terminated(run_id, status=status)
        self._open.discard(trial_id)

    def _do_close(self, status: dict[str, str]) -> None:
        for trial_id in sorted(self._open):
            with self._lock:
                run_id = self._trial_runs.get(trial_id)
            if run_id is not None:
                try:
                    self._mlflow_client().set_terminated(run_id, status=status.get(trial_id, "KILLED"))
                except Exception as exc:  # noqa: BLE001
                    self._failed("end the MLflow run", trial_id, exc)
        self._open.clear()


def _experiment_by_name(client: Any, name: str, create: bool, artifact_location: Optional[str] = None) -> str:
    """The id of the MLflow experiment ``name``; created when missing and ``create``."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None and create:
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException:  # another process created it meanwhile
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment is None:
        raise ValueError(f"There is no MLflow experiment named {name!r}. Create it, give the name or id of an "
                         "existing one, or pass create_experiment_if_not_exists=True.")
    if experiment.lifecycle_stage == "deleted":
        raise ValueError(f"The MLflow experiment {name!r} (id {experiment.experiment_id}) is deleted. Restore it "
                         f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) or log to "
                         "another experiment name.")
    return experiment.experiment_id


# -- setup_mlflow ------------------------------------------------------------------------------
def setup_mlflow(config: Optional[dict] = None, tracking_uri: Optional[str] = None,
                 registry_uri: Optional[str] = None, experiment_id: Optional[str] = None,
                 experiment_name: Optional[str] = None, tracking_token: Optional[str] = None,
                 artifact_location: Optional[str] = None, run_name: Optional[str] = None,
                 create_experiment_if_not_exists: bool = False, tags: Optional[dict] = None,
                 rank_zero_only: bool = True) -> Any:
    """Start an MLflow run for the calling trial and return the ``mlflow`` module.

    ``ray.air.integrations.mlflow.setup_mlflow`` (Ray 2.x), with the same arguments. Call it
    inside a function trainable, then log with MLflow's own API::

        def train(config):
            mlflow = setup_mlflow(config, tracking_uri="sqlite:////shared/mlflow.db",
                                  experiment_name="digits", create_experiment_if_not_exists=True)
            for epoch in range(10):
                ...
                mlflow.log_metric("loss", loss, step=epoch)
                tune.report({"loss": loss})

    It sets the process's tracking URI (and registry URI) when given, picks the experiment,
    starts a run (the active run of the calling thread; if that thread already has one, it is
    used) named after the trial and tagged ``trial_name``, ``trial_id``, ``tunecore.experiment``
    and ``tunecore.source``, and logs ``config`` as its params (flattened to ``"a/b"`` keys,
    without a top-level ``"mlflow"`` entry, which Ray's docs also leave out). When the trial's
    function ends, the run (if the function did not end it) is set FINISHED, or FAILED when the
    function raised, before the driver hears that the trial ended. A trial that continues from a
    checkpoint (a retry, PBT, ``Tuner.restore``) continues its run.

    The run lives in the trial's worker: the tracking store must be reachable from there (a
    server, or a folder/SQLite file every node sees). Call MLflow from the function's thread:
    MLflow's active run belongs to one thread.

    Args:
        config: logged as the run's params.
        tracking_uri: the tracking store (see :class:`MLflowLoggerCallback`). None: as already
            set in the process, else ``MLFLOW_TRACKING_URI`` in the worker's environment, else
            MLflow's default.
        registry_uri: the model registry's URI.
        experiment_id: the id of an existing experiment; wins over ``experiment_name`` when it
            exists. None: ``MLFLOW_EXPERIMENT_ID``.
        experiment_name: the experiment's name. None: ``MLFLOW_EXPERIMENT_NAME``, else the
            tunecore experiment's name.
        tracking_token: set as ``MLFLOW_TRACKING_TOKEN`` in the worker's environment.
        artifact_location: where a created experiment stores artifacts.
        run_name: the run's name. None: the trial's name (outside a trial: the experiment's name).
        create_experiment_if_not_exists: create the experiment when none has that name (else
            a ValueError, as in Ray).
        tags: more tags of the run.
        rank_zero_only: Ray Train's option; a tunecore trial is one process (rank 0), so it
            changes nothing, as in Ray Tune.

    Returns:
        The ``mlflow`` module.

    Raises:
        ValueError: no experiment with that id or name exists (and none is to be created).

    Differences from Ray Tune, on purpose: Ray names the experiment after the *trial* by default
    (so an experiment per trial, which must exist) and the run after the experiment; here the
    experiment is the tunecore experiment's and the run is the trial's. Ray resets the tracking
    URI when none is given; here a URI already set in the process stays. A continued trial
    continues its run instead of starting another, and the run is ended with the trial (Ray leaves
    that to MLflow's ``atexit``, which does not see a run started on the trial's thread).
    """
    del rank_zero_only  # one process per trial: always rank 0
    from mlflow.tracking import MlflowClient

    from tunecore.trainables.session import current_session

    session = current_session()
    context = session.context if session is not None else None
    if tracking_token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = tracking_token
    if tracking_uri is not None:
        mlflow.set_tracking_uri(os.fspath(tracking_uri))
    if registry_uri is not None:
        mlflow.set_registry_uri(registry_uri)
    client = MlflowClient()
    exp_id = _setup_experiment(client, experiment_id, experiment_name, context, artifact_location,
                               create_experiment_if_not_exists)
    run = mlflow.active_run()
    if run is None:
        run_id = None
        if context is not None and session is not None and session.checkpoint is not None:
            found = client.search_runs([exp_id], max_results=1, order_by=["attributes.start_time DESC"],
                                       filter_string=f"tags.trial_id = '{context.get_trial_id()}' and "
                                                     f"tags.`{SOURCE_TAG}` = 'setup_mlflow'")
            run_id = found[0].info.run_id if found else None
        if run_id is not None:
            run = mlflow.start_run(run_id=run_id)
        else:
            own = {"trial_name": context.get_trial_name(), "trial_id": context.get_trial_id(),
                   EXPERIMENT_TAG: context.get_experiment_name()} if context is not None else {}
            run_tags = {**_keyed({str(k): str(v) for k, v in (tags or {}).items()}), **own,
                        SOURCE_TAG: "setup_mlflow"}
            name = run_name or (context.get_trial_name() if context is not None else None) or \
                client.get_experiment(exp_id).name
            run = mlflow.start_run(experiment_id=exp_id, run_name=name, tags=run_tags)
        _end_with_trial(session, run.info.run_id)
    if config:
        _log_new_params(client, run.info.run_id, params_of(config, skip=("mlflow",)))
    return mlflow


def _setup_experiment(client: Any, experiment_id: Optional[str], experiment_name: Optional[str], context: Any,
                      artifact_location: Optional[str], create: bool) -> str:
    """The experiment ``setup_mlflow`` logs to (and makes the process's current one)."""
    from mlflow.exceptions import MlflowException

    experiment_id = experiment_id if experiment_id is not None else os.environ.get("MLFLOW_EXPERIMENT_ID")
    if experiment_id is not None:
        try:
            found = client.get_experiment(str(experiment_id))
            if found.lifecycle_stage != "deleted":
                mlflow.set_experiment(experiment_id=found.experiment_id)
                return found.experiment_id
        except MlflowException:
            pass
    name = experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or (
        context.get_experiment_name() if context is not None else None)
    if not name:
        raise ValueError(f"setup_mlflow: there is no MLflow experiment with id {experiment_id!r} and no "
                         "experiment_name was given. Pass experiment_name= (with create_experiment_if_not_exists="
                         "True to create it) or the id of an existing experiment.")
    exp_id = _experiment_by_name(client, name, create=create, artifact_location=artifact_location)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def _log_new_params(client: Any, run_id: str, params: dict[str, str]) -> None:
    """Log the params a (maybe continued) run does not have yet; changed values keep the first."""
    from mlflow.entities import Param

    logged = client.get_run(run_id).data.params
    new = [Param(k, v) for k, v in params.items() if k not in logged]
    if new:
        client.log_batch(run_id, params=new)


def _end_with_trial(session: Any, run_id: str) -> None:
    """End the run when the trial's function ends: FAILED if it raised, else FINISHED (unless the
    function ended it itself). Outside a trial, MLflow's own ``atexit`` ends it."""
    hooks = getattr(session, "exit_hooks", None)
    if hooks is None:
        return

    def end(error: Optional[BaseException]) -> None:  # on the function's thread, whose active run it is
        active = mlflow.active_run()
        if active is None or active.info.run_id != run_id:
            return  # the function ended it itself
        try:
            mlflow.end_run(status="FAILED" if error is not None else "FINISHED")
        except Exception as exc:  # noqa: BLE001 - a trial never fails over this
            log.warning("setup_mlflow: could not end the MLflow run %s: %s: %s", run_id, type(exc).__name__, exc)

    hooks.append(end)
