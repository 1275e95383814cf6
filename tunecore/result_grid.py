"""Ray Tune 2.x's ``ResultGrid`` and ``Result``: what ``Tuner.fit()`` returns, or an experiment folder read back.

A :class:`ResultGrid` holds one :class:`Result` per trial, in trial order. Both are built from
:class:`tunecore.records.TrialRecord` (the record every reader uses) plus what the trial knows
of its checkpoints, whether the trials are live (:meth:`ResultGrid.from_trials`, what the
Tuner calls after ``fit()``) or read from a folder (:meth:`ResultGrid.from_path`).

Semantics follow Ray Tune 2.x (``ray.tune.ResultGrid``, ``ray.train.Result``):

- ``Result.metrics`` is the trial's last result (``{}`` before its first); tunecore leaves its
  ``"config"`` out (it is ``Result.config``).
- ``Result.checkpoint`` is the trial's latest checkpoint; ``Result.best_checkpoints`` the
  ``(Checkpoint, metrics)`` pairs retention kept (``CheckpointConfig``): with ``num_to_keep``
  the best ``num_to_keep`` of them, ordered worst first and best last (Ray's order), else all
  of them in that order; the metrics are the result the checkpoint was reported with.
- ``Result.error`` is a :class:`tunecore.errors.TrialError` holding the failure text (the
  traceback) for a trial that did not end TERMINATED and failed; else None.
- ``ResultGrid.get_best_result`` compares one score a trial (see :func:`scope_score`); a
  nested metric is named by its ``/``-joined key (``"eval/loss"``). With one trial, that
  trial is the best whatever the metric (as in Ray).

Argument errors raise :class:`ResultGridError` (a ``TuneError`` and a ``ValueError``, as Ray
raises ``ValueError``), and "no trial has this metric" raises :class:`NoResultError` (a
``TuneError`` and a ``RuntimeError``, as in Ray).
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union, overload

from tunecore import result as R
from tunecore.errors import TrialError, TuneError
from tunecore.execution.retention import CheckpointConfig, CheckpointManager, TrackedCheckpoint, checkpoint_score
from tunecore.objective import Objective, check_constraints, check_objective
from tunecore.pareto import front_indices, hypervolume, is_feasible, minimized
from tunecore.records import TrialRecord, read_experiment
from tunecore.trainables.checkpoint import Checkpoint, checkpoint_number
from tunecore.util import as_float, flatten_dict, from_jsonable, lookup_metric, read_json_lines

__all__ = [
    "MODES",
    "SCOPES",
    "NoResultError",
    "Result",
    "ResultGrid",
    "ResultGridError",
    "metric_values",
    "scope_score",
]

#: The scopes of :meth:`ResultGrid.get_best_result`.
SCOPES = ("last", "avg", "all", "last-5-avg", "last-10-avg")
MODES = ("min", "max")
_WINDOWS = {"avg": None, "last-5-avg": 5, "last-10-avg": 10}

#: Keys a Result's repr leaves out (Ray's, plus the ones tunecore fills in itself).
_HIDDEN = frozenset(R.AUTO_RESULT_KEYS) | {"experiment_tag", "timesteps_total", "timesteps_this_iter"}
_REPR_LIMIT = 20


class ResultGridError(TuneError, ValueError):
    """An argument of :class:`ResultGrid`/:class:`Result` is missing or invalid (no metric or mode
    known, an unknown scope or mode). A ``ValueError`` too, as Ray raises."""


class NoResultError(TuneError, RuntimeError):
    """Nothing qualifies: no trial reported the metric with a usable value, or a trial has no
    checkpoint to choose from. A ``RuntimeError`` too, as Ray raises."""


# -- the scope arithmetic (pure) ------------------------------------------------------------
def metric_values(rows: Iterable[Any], metric: str) -> list[float]:
    """The values of ``metric`` in ``rows``, in order, as floats.

    Rows without the metric, or where it is not a real number (None, a string, a bool, a
    list), are skipped; numpy numbers and 0-d arrays count; NaN and infinities are kept.
    """
    values = []
    for row in rows:
        value = as_float(lookup_metric(row, metric))
        if value is not None:
            values.append(value)
    return values


def _mean(values: Sequence[float]) -> float:
    """The mean, with IEEE rules for non-finite values (any NaN, or both infinities: NaN)."""
    if any(math.isnan(v) for v in values):
        return math.nan
    up, down = math.inf in values, -math.inf in values
    if up or down:
        return math.nan if up and down else (math.inf if up else -math.inf)
    n = len(values)
    try:
        return math.fsum(values) / n
    except OverflowError:  # the sum leaves the float range, the mean does not
        return math.fsum(v / n for v in values)


def scope_score(values: Sequence[float], scope: str, mode: str) -> Optional[float]:
    """A trial's score for :meth:`ResultGrid.get_best_result`, from its values of the metric in order.

    - ``last``: the last value;
    - ``avg``: the mean of every value; ``last-5-avg``/``last-10-avg``: of the last 5/10 (a mean
      with a NaN is NaN; with ``+inf`` and ``-inf`` it is NaN);
    - ``all``: the best value by ``mode`` (the max for ``"max"``); NaN values are passed over
      (NaN only when every value is NaN).

    Returns:
        The score (possibly NaN or infinite), or None when there are no values.

    Raises:
        ResultGridError: an unknown scope or mode.
    """
    _check_scope(scope)
    _check_mode(mode, "mode")
    if not values:
        return None
    if scope == "last":
        return values[-1]
    if scope == "all":
        numbers = [v for v in values if not math.isnan(v)]
        if not numbers:
            return math.nan
        return max(numbers) if mode == "max" else min(numbers)
    window = _WINDOWS[scope]
    return _mean(values if window is None else values[-window:])


def _best_index(scores: Sequence[Optional[float]], mode: str, filter_nan_and_inf: bool) -> Optional[int]:
    """The index of the best score by ``mode`` (the first of equals); None scores never win.

    With ``filter_nan_and_inf``, NaN and infinite scores never win; without, an infinity is
    compared as a number and a NaN wins only when there is nothing else.
    """
    best: Optional[int] = None
    best_score = math.nan
    for i, score in enumerate(scores):
        if score is None or (filter_nan_and_inf and not math.isfinite(score)):
            continue
        if math.isnan(score):
            if best is None:
                best = i
            continue
        if best is None or math.isnan(best_score) or (score > best_score if mode == "max" else score < best_score):
            best, best_score = i, score
    return best


def _check_scope(scope: Any) -> None:
    if scope not in SCOPES:
        raise ResultGridError(f"scope must be one of {list(SCOPES)}, but got scope={scope!r}")


def _check_mode(mode: Any, name: str) -> None:
    if mode not in MODES:
        raise ResultGridError(f"{name} must be one of {list(MODES)}, but got {name}={mode!r}")


def _objective(metric: Any, mode: Any, constraints: Any, owner: str, partial: bool = False) -> Objective:
    """The checked objective; a bad one raises :class:`ResultGridError`."""
    try:
        metric, mode = check_objective(metric, mode, owner, partial=partial)
        keys = check_constraints(constraints, metric, owner)
    except ResultGridError:
        raise
    except TuneError as exc:
        raise ResultGridError(str(exc)) from None
    return Objective(metric, mode, tuple(keys) if keys else None)


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise TuneError(f"{what} needs pandas: pip install pandas (or tunecore[pandas])") from None
    return pd


# -- what is known of a trial's checkpoints ------------------------------------------------
@dataclass
class _Saved:
    """A trial's checkpoints as the runner or its state file knows them (all optional)."""

    latest: Optional[str] = None  #: its latest disk checkpoint (the state's ``checkpoint``)
    manager: Optional[dict] = None  #: ``CheckpointManager.to_json()`` (the state's ``checkpoints``)
    config: Optional[dict] = None  #: its ``CheckpointConfig`` as JSON (the state's ``checkpoint_config``)

    @classmethod
    def of_trial(cls, trial: Any) -> _Saved:
        ckpt = getattr(trial, "checkpoint", None)
        latest = getattr(ckpt, "value", None) if getattr(ckpt, "storage", None) == "disk" else None
        manager = getattr(trial, "checkpoint_manager", None)
        return cls(latest if isinstance(latest, str) else None,
                   manager.to_json() if manager is not None else None, getattr(trial, "checkpoint_config", None))

    @classmethod
    def of_state(cls, entry: dict) -> _Saved:
        ckpt = entry.get("checkpoint")
        latest = ckpt.get("value") if isinstance(ckpt, dict) and ckpt.get("storage") == "disk" else None
        manager, config = entry.get("checkpoints"), entry.get("checkpoint_config")
        return cls(latest if isinstance(latest, str) else None, manager if isinstance(manager, dict) else None,
                   config if isinstance(config, dict) else None)


def _relocate(path: str, logdir: Optional[str]) -> str:
    """``path``, or the folder of its name in ``logdir`` when it is gone (the experiment was moved)."""
    if logdir and not os.path.exists(path):
        beside = os.path.join(logdir, os.path.basename(path.rstrip(os.sep)))
        if os.path.exists(beside):
            return beside
    return path


def _checkpoint_folders(logdir: Optional[str]) -> list[str]:
    """The ``checkpoint_N`` folders of a trial folder, by N."""
    if not logdir:
        return []
    try:
        names = os.listdir(logdir)
    except OSError:
        return []
    numbered = [(checkpoint_number(n), n) for n in names if os.path.isdir(os.path.join(logdir, n))]
    return [os.path.join(logdir, n) for k, n in sorted((k, n) for k, n in numbered if k is not None)]


def _no_delete(path: str) -> None:  # pragma: no cover - a read-only manager never deletes
    raise TuneError(f"a ResultGrid never deletes checkpoints ({path})")


def _manager(saved: _Saved) -> Optional[CheckpointManager]:
    if saved.manager is None:
        return None
    try:
        return CheckpointManager.from_json(saved.manager, delete=_no_delete)
    except TuneError:  # a state file written by something else: read the folder instead
        return None


def _strip_config(row: Optional[dict]) -> dict:
    return {k: v for k, v in (row or {}).items() if k != "config"}


class _Source:
    """Where a :class:`Result` reads its rows and checkpoints from, on first use."""

    def __init__(self, record: TrialRecord, saved: _Saved) -> None:
        self.record = record
        self.saved = saved
        self.manager = _manager(saved)

    def rows(self) -> list[dict]:
        """Every result of the trial (its ``result.json``; its last result when the file has none)."""
        rows = self.record.results()
        if not rows and isinstance(self.record.last_result, dict):
            return [self.record.last_result]
        return rows

    def latest(self) -> Optional[str]:
        logdir = self.record.logdir
        if self.manager is not None and self.manager.latest is not None:
            return _relocate(self.manager.latest.path, logdir)
        if self.saved.latest:
            return _relocate(self.saved.latest, logdir)
        if self.manager is None:
            folders = _checkpoint_folders(logdir)
            return folders[-1] if folders else None
        return None

    def _config(self) -> CheckpointConfig:
        if self.manager is not None:
            return self.manager.config
        try:
            return CheckpointConfig.from_json(dict(self.saved.config or {}))
        except TuneError:
            return CheckpointConfig()

    def best_checkpoints(self) -> list[tuple[Checkpoint, dict]]:
        """Ray's ``best_checkpoints``: the kept checkpoints ranked as retention ranks them, worst first,
        the best ``num_to_keep`` of them when it is set; each with the metrics reported with it."""
        logdir = self.record.logdir
        rows = self.rows()
        by_name: dict[str, dict] = {}
        by_iteration: dict[Any, dict] = {}
        for row in rows:
            name = row.get(R.CHECKPOINT_DIR_NAME)
            if isinstance(name, str) and name:
                by_name[name] = row
            else:
                iteration = row.get(R.TRAINING_ITERATION)
                if isinstance(iteration, int) and not isinstance(iteration, bool):
                    by_iteration[iteration] = row

        def metrics_of(path: str, iteration: Optional[int]) -> dict:
            row = by_name.get(os.path.basename(path.rstrip(os.sep)))
            if row is None and iteration is not None:
                row = by_iteration.get(iteration)
            return _strip_config(row)

        config = self._config()
        entries: list[tuple[TrackedCheckpoint, dict]] = []
        if self.manager is not None:
            for tracked in self.manager.checkpoints:
                path = _relocate(tracked.path, logdir)
                entries.append((tracked, metrics_of(path, tracked.iteration)))
        else:  # no retention record (an older state file, a bare folder): the folders left on disk
            for path in _checkpoint_folders(logdir):
                metrics = metrics_of(path, checkpoint_number(path))
                iteration = metrics.get(R.TRAINING_ITERATION)
                if not isinstance(iteration, int) or isinstance(iteration, bool) or iteration < 0:
                    iteration = checkpoint_number(path) or 0
                entries.append((TrackedCheckpoint(path, iteration, checkpoint_score(
                    metrics, config.checkpoint_score_attribute)), metrics))

        def rank(index: int) -> tuple:  # as CheckpointManager ranks what it keeps: larger is better
            if config.checkpoint_score_attribute is None:
                return (index,)
            score = entries[index][0].score
            if score is None:
                return (False, 0.0, index)
            return (True, score if config.checkpoint_score_order == "max" else -score, index)

        order = sorted(range(len(entries)), key=rank)
        if config.num_to_keep is not None:
            order = order[-config.num_to_keep:] if order else order
        return [(Checkpoint(_relocate(entries[i][0].path, logdir)), entries[i][1]) for i in order]

    def error(self) -> Optional[TrialError]:
        record = self.record
        if record.status == "TERMINATED":
            return None
        message = record.error
        if not message and record.status == "ERROR":
            from tunecore.execution.endings import last_error

            message = last_error(record.logdir) or (
                f"trial {record.name} ended in ERROR; its error.txt was not found in {record.logdir}")
        return TrialError(str(message).strip()) if message else None


# -- Result ---------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class Result:
    """The outcome of one trial (``ray.train.Result``): its last metrics, checkpoints and error.

    Attributes:
        metrics: the last result the trial reported (``{}`` before the first), without ``"config"``.
        checkpoint: the trial's latest checkpoint (a :class:`tunecore.Checkpoint`), or None.
        error: a :class:`tunecore.errors.TrialError` with the failure (the traceback) when the
            trial failed and did not end TERMINATED; else None.
        path: the trial's folder (None for a trial that never started).
        config: the trial's config.
        trial_id, experiment_tag: the trial's id and tag (tunecore extras).

    ``best_checkpoints`` and ``metrics_dataframe`` are read from the trial folder on first use.
    Instances come from :class:`ResultGrid` or :meth:`from_path`.
    """

    metrics: dict
    checkpoint: Optional[Checkpoint]
    error: Optional[Exception]
    path: Optional[str]
    config: Any = field(default_factory=dict)
    trial_id: str = ""
    experiment_tag: str = ""
    _metrics_dataframe: Any = None
    _best_checkpoints: Optional[list] = None
    _source: Optional[_Source] = None
    _status: str = ""

    @classmethod
    def _of(cls, record: TrialRecord, saved: _Saved) -> Result:
        """The Result of one record: the one code path every constructor goes through."""
        source = _Source(record, saved)
        latest = source.latest()
        return cls(metrics=_strip_config(record.last_result), checkpoint=Checkpoint(latest) if latest else None,
                   error=source.error(), path=record.logdir,
                   config=record.config if record.config is not None else {}, trial_id=record.trial_id,
                   experiment_tag=record.experiment_tag, _source=source, _status=record.status)

    @classmethod
    def from_path(cls, path: Union[str, os.PathLike]) -> Result:
        """The Result of one trial folder (``result.json``, ``params.json``, ``checkpoint_N`` folders).

        Without the experiment's state file, the status comes from the folder's recorded ending
        (``events.jsonl``), else from ``error.txt`` and the last result's ``done``; every
        ``checkpoint_N`` folder counts as kept, oldest first (the retention config is not known).

        Raises:
            TuneError: ``path`` is not a folder.
        """
        logdir = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if not os.path.isdir(logdir):
            raise TuneError(f"Result.from_path needs a trial folder, but {logdir!r} is not a folder")
        return cls._of(_folder_record(logdir), _Saved())

    @property
    def best_checkpoints(self) -> list[tuple[Checkpoint, dict]]:
        """``(Checkpoint, metrics)`` of the checkpoints retention kept: worst first, best last;
        the best ``num_to_keep`` of them when ``CheckpointConfig.num_to_keep`` is set."""
        if self._best_checkpoints is None:
            self._best_checkpoints = self._source.best_checkpoints() if self._source is not None else []
        return self._best_checkpoints

    @property
    def metrics_dataframe(self) -> Any:
        """Every result the trial reported, one row each, as a pandas DataFrame with ``/``-joined
        column names of nested keys (``config/lr``); empty before the first result.

        Raises:
            TuneError: pandas is not installed.
        """
        if self._metrics_dataframe is None:
            pd = _pandas("Result.metrics_dataframe")
            rows = self._source.rows() if self._source is not None else ([self.metrics] if self.metrics else [])
            self._metrics_dataframe = pd.DataFrame([flatten_dict(r) for r in rows])
        return self._metrics_dataframe

    @property
    def log_dir(self) -> Optional[pathlib.Path]:
        """The trial folder as a ``pathlib.Path`` (the name of Ray 2.0-2.6)."""
        return pathlib.Path(self.path) if self.path else None

    @property
    def filesystem(self) -> Any:
        """The ``pyarrow.fs.FileSystem`` of :attr:`path`: the local one (needs pyarrow)."""
        return _local_filesystem()

    def get_best_checkpoint(self, metric: str, mode: str) -> Optional[Checkpoint]:
        """The kept checkpoint whose reported ``metric`` is best by ``mode`` (the first of equals).

        Checkpoints reported without a number for ``metric`` (or with NaN) are passed over.

        Raises:
            NoResultError: the trial has no checkpoint, or none with the metric.
            ResultGridError: ``mode`` is not ``"min"``/``"max"``.
        """
        if not self.best_checkpoints:
            raise NoResultError(f"No checkpoint exists for trial {self.trial_id or self.path}.")
        _check_mode(mode, "mode")
        scored = [(value, ckpt) for ckpt, metrics in self.best_checkpoints
                  if (value := as_float(lookup_metric(metrics, metric))) is not None and not math.isnan(value)]
        if not scored:
            raise NoResultError(f"Invalid metric name {metric!r}: no checkpoint of trial {self.trial_id or self.path} "
                                f"was reported with it. You may choose from the metrics {sorted(self.metrics)}.")
        best = _best_index([v for v, _ in scored], mode, filter_nan_and_inf=False)
        assert best is not None
        return scored[best][1]

    def _rows(self) -> list[dict]:
        if self._source is not None:
            return self._source.rows()
        return [dict(self.metrics, config=self.config)] if self.metrics else []

    def _last(self) -> dict:
        if self._source is not None and isinstance(self._source.record.last_result, dict):
            return self._source.record.last_result
        return self.metrics

    def _repr(self, indent: int = 0) -> str:
        shown: dict[str, Any] = {}
        if self.error is not None:
            shown["error"] = type(self.error).__name__
        shown["metrics"] = {k: v for k, v in self.metrics.items() if k not in _HIDDEN}
        shown["path"] = self.path
        shown["checkpoint"] = self.checkpoint
        pad, inner = " " * indent, " " * (indent + 2)
        body = ",\n".join(f"{inner}{k}={v!r}" for k, v in shown.items())
        return f"{pad}{type(self).__name__}(\n{body}\n{pad})"

    def __repr__(self) -> str:
        return self._repr()


def _local_filesystem() -> Any:
    try:
        import pyarrow.fs
    except ImportError:
        raise TuneError("filesystem needs pyarrow: pip install pyarrow") from None
    return pyarrow.fs.LocalFileSystem()


def _folder_record(logdir: str) -> TrialRecord:
    """A record of a trial folder read on its own (no state file)."""
    from tunecore.execution.endings import ENDED, EVENTS_FILE

    rows = read_json_lines(os.path.join(logdir, R.RESULT_FILE))
    last = rows[-1] if rows else None
    config: Any = {}
    try:
        import json

        with open(os.path.join(logdir, R.PARAMS_FILE), encoding="utf-8") as f:
            config = from_jsonable(json.load(f))
    except (OSError, ValueError):
        config = (last or {}).get("config") or {}
    ends = [e for e in read_json_lines(os.path.join(logdir, EVENTS_FILE)) if e.get("event") == ENDED]
    if ends:
        status = "ERROR" if ends[-1].get("how") == "error" else "TERMINATED"
    elif os.path.exists(os.path.join(logdir, R.ERROR_FILE)):
        status = "ERROR"
    else:
        status = "TERMINATED" if last and last.get(R.DONE) else "UNKNOWN"
    name = os.path.basename(logdir.rstrip(os.sep))
    trial_id = (last or {}).get(R.TRIAL_ID)
    record = TrialRecord(trial_id if isinstance(trial_id, str) else name, name, status, config, logdir, last)
    record._results = rows
    return record


# -- ResultGrid -----------------------------------------------------------------------------
class ResultGrid:
    """The :class:`Result` of every trial of an experiment, in trial order (``ray.tune.ResultGrid``).

    ``len()``, indexing (slices give lists) and iteration work as on a list. Trials of every
    status are included; one that has not ended shows its latest result and checkpoint.

    Args:
        results: the results, in trial order.
        experiment_path: the experiment folder.
        metric, mode: the defaults of :meth:`get_best_result` (the ``TuneConfig``'s); lists for
            several objectives: the defaults of :meth:`get_pareto_front` and :meth:`get_hypervolume`.
        constraints: result keys that must be ``<= 0`` in a trial's last result for it to be
            feasible; an infeasible trial is never the best one nor on the Pareto front.

    Build one with :meth:`from_path` (a folder) or :meth:`from_trials` (live trials).
    """

    def __init__(self, results: Sequence[Result] = (), experiment_path: Optional[str] = None,
                 metric: Any = None, mode: Any = None, constraints: Optional[Sequence[str]] = None) -> None:
        objective = _objective(metric, mode, constraints, "ResultGrid", partial=True)
        self._results = list(results)
        self._experiment_path = experiment_path
        self._metric = objective.metric
        self._mode = objective.mode
        self._constraints = list(objective.constraints or ())

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_records(cls, records: Iterable[TrialRecord], experiment_path: Optional[str] = None,
                     metric: Any = None, mode: Any = None, constraints: Optional[Sequence[str]] = None,
                     _saved: Optional[dict[str, _Saved]] = None) -> ResultGrid:
        """The grid of :class:`tunecore.records.TrialRecord` s (what ``read_records`` returns).

        A record's checkpoints are the ``checkpoint_N`` folders in its trial folder.
        """
        saved = _saved or {}
        return cls([Result._of(r, saved.get(r.trial_id) or _Saved()) for r in records], experiment_path, metric, mode,
                   constraints)

    @classmethod
    def from_trials(cls, trials: Iterable[Any], experiment_path: Optional[str] = None,
                    metric: Any = None, mode: Any = None, constraints: Optional[Sequence[str]] = None) -> ResultGrid:
        """The grid of live :class:`tunecore.execution.trial.Trial` s (what ``Tuner.fit()`` ran)."""
        trials = list(trials)
        records = [TrialRecord.from_trial(t) for t in trials]
        saved = {r.trial_id: _Saved.of_trial(t) for r, t in zip(records, trials)}
        return cls.from_records(records, experiment_path, metric, mode, constraints, _saved=saved)

    @classmethod
    def from_path(cls, experiment_path: Union[str, os.PathLike], metric: Any = None,
                  mode: Any = None, constraints: Optional[Sequence[str]] = None) -> ResultGrid:
        """The grid of an experiment folder (``<storage_path>/<name>``, or its ``experiment_state.json``).

        Reads the state file (a folder that was moved or copied is fine); without one, every
        trial folder with a ``result.json`` (as :meth:`Result.from_path`). ``metric``, ``mode``
        and ``constraints`` default to what the run was given (saved in the state file).

        Raises:
            TuneError: not a folder, a state file that cannot be read, or no trials at all.
        """
        from tunecore.execution.state import load_experiment_state

        path = os.path.abspath(os.path.expanduser(os.fspath(experiment_path)))
        if os.path.isfile(path) and path.endswith(".json"):
            path = os.path.dirname(path)
        if not os.path.isdir(path):
            raise TuneError(f"{path!r} is not a folder; give an experiment folder such as ~/ray_results/my_experiment")
        records, saved_objective = read_experiment(path)
        if metric is None and mode is None:
            metric, mode = saved_objective.metric, saved_objective.mode
        if constraints is None and saved_objective.constraints:
            constraints = list(saved_objective.constraints)
        if records is None:
            folders = sorted(e.path for e in os.scandir(path)
                             if e.is_dir() and os.path.isfile(os.path.join(e.path, R.RESULT_FILE)))
            if not folders:
                raise TuneError(f"No experiment in {path!r}: it has no experiment_state.json and no trial folders "
                                "with result.json.")
            return cls([Result.from_path(f) for f in folders], path, metric, mode, constraints)
        state = load_experiment_state(path) or {}
        saved = {e["trial_id"]: _Saved.of_state(e) for e in state.get("trials", [])
                 if isinstance(e, dict) and isinstance(e.get("trial_id"), str)}
        return cls.from_records(records, path, metric, mode, constraints, _saved=saved)

    # -- a list of results --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._results)

    @overload
    def __getitem__(self, i: int) -> Result: ...

    @overload
    def __getitem__(self, i: slice) -> list[Result]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[Result, list[Result]]:
        """The ``i``-th result (trial order)."""
        return self._results[i]

    def __iter__(self) -> Iterator[Result]:
        return iter(self._results)

    @property
    def experiment_path(self) -> Optional[str]:
        """The experiment folder."""
        return self._experiment_path

    @property
    def filesystem(self) -> Any:
        """The ``pyarrow.fs.FileSystem`` of :attr:`experiment_path`: the local one (needs pyarrow)."""
        return _local_filesystem()

    @property
    def errors(self) -> list[Exception]:
        """The errors of the trials that failed (and did not end TERMINATED), in trial order."""
        return [r.error for r in self._results if r.error is not None]

    @property
    def num_errors(self) -> int:
        """How many trials ended in ERROR."""
        return sum(r._status == "ERROR" for r in self._results)

    @property
    def num_terminated(self) -> int:
        """How many trials ended TERMINATED."""
        return sum(r._status == "TERMINATED" for r in self._results)

    # -- the best result ----------------------------------------------------------------------
    def get_best_result(self, metric: Optional[str] = None, mode: Optional[str] = None, scope: str = "last",
                        filter_nan_and_inf: bool = True) -> Result:
        """The result of the trial with the best score of ``metric``.

        Args:
            metric: the metric (``"a/b"`` for a nested one); default: the TuneConfig's.
            mode: ``"min"`` or ``"max"``; default: the TuneConfig's.
            scope: how a trial's values become its score (:func:`scope_score`): ``last`` (its
                last value), ``avg`` (the mean of all), ``last-5-avg``/``last-10-avg`` (of the
                last 5/10), ``all`` (its best value by ``mode``).
            filter_nan_and_inf: True (default): a trial whose score is NaN or infinite is never
                the best. False: infinities compare as numbers; a NaN is the best only when no
                trial has a number.

        Returns:
            The best trial's result (the first of equals); with one trial, that trial's. With
            constraints, only feasible trials compete (one infeasible trial is not the best).

        Raises:
            ResultGridError: no metric or mode given nor known, an unknown scope or mode, or a
                list of metrics (several objectives: :meth:`get_pareto_front`).
            NoResultError: no feasible trial has a usable value of the metric.
        """
        _check_scope(scope)
        if mode is not None:
            _check_mode(mode, "mode")
        for given in (metric, mode) if metric is not None else (self._metric, self._mode):
            if isinstance(given, (list, tuple)):
                raise ResultGridError(
                    "get_best_result ranks trials by one metric, but the objective is "
                    f"metric={metric or self._metric!r}. "
                    "Pass one metric and mode, e.g. get_best_result(metric='loss', mode='min'), or use "
                    "get_pareto_front() for the trials no other trial beats in every objective.")
        feasible = self._feasible()
        if len(self._results) == 1 and feasible[0]:  # as Ray: the only trial is the best one
            return self._results[0]
        metric = metric or self._metric
        if not metric:
            raise ResultGridError("No metric is provided. Either pass in a `metric` arg to `get_best_result` or "
                                  "specify a metric in the `TuneConfig` of your `Tuner`.")
        mode = mode or self._mode
        if not mode:
            raise ResultGridError("No mode is provided. Either pass in a `mode` arg to `get_best_result` or "
                                  "specify a mode in the `TuneConfig` of your `Tuner`.")
        if not self._results:
            raise NoResultError(f"No best trial found for the given metric: {metric}: the grid has no trials.")
        scores = [scope_score(self._values(r, metric, scope), scope, mode) if ok else None
                  for r, ok in zip(self._results, feasible)]
        best = _best_index(scores, mode, filter_nan_and_inf)
        if best is None:
            message = (f"No best trial found for the given metric: {metric}. This means that no trial has reported "
                       "this metric")
            if not all(feasible):
                message += (f" (only feasible trials count: {feasible.count(False)} of {len(feasible)} break the "
                            f"constraints {self._constraints!r})")
            if filter_nan_and_inf:
                message += (", or all values reported for this metric are NaN or infinite. To not ignore NaN "
                            "values, you can set the `filter_nan_and_inf` arg to False.")
            else:
                message += "."
            reported = sorted({k for r in self._results for k in flatten_dict(r.metrics) if k not in _HIDDEN})
            if reported:
                shown = ", ".join(reported[:20]) + (", ..." if len(reported) > 20 else "")
                message += f" The trials reported: {shown}."
            raise NoResultError(message)
        return self._results[best]

    @staticmethod
    def _values(result: Result, metric: str, scope: str) -> list[float]:
        if scope == "last":  # the last result, unless it lacks the metric: then the last row with it
            value = as_float(lookup_metric(result._last(), metric))
            if value is not None:
                return [value]
        return metric_values(result._rows(), metric)

    # -- several objectives -------------------------------------------------------------------
    def _feasible(self) -> list[bool]:
        """Per result: every constraint ``<= 0`` in its last result (all True without constraints)."""
        if not self._constraints:
            return [True] * len(self._results)
        return [is_feasible(r._last(), self._constraints) for r in self._results]

    def _objectives(self, metric: Any, mode: Any, what: str) -> tuple[list[str], list[str]]:
        metric = self._metric if metric is None else metric
        mode = self._mode if mode is None else mode
        if metric is None or mode is None:
            raise ResultGridError(f"No metric or mode is provided. Pass {what}(metric=['loss', 'latency'], "
                                  "mode=['min', 'min']) or give them in the TuneConfig of your Tuner.")
        metric = [metric] if isinstance(metric, str) else metric
        mode = [mode] * len(metric) if isinstance(mode, str) else mode
        objective = _objective(metric, mode, None, what)
        return list(objective.metric), list(objective.mode)

    def _points(self, metrics: Sequence[str], modes: Sequence[str], scope: str) -> list[list[float]]:
        points = []
        for result in self._results:
            row = []
            for metric, mode in zip(metrics, modes):
                score = scope_score(self._values(result, metric, scope), scope, mode)
                row.append(math.nan if score is None else score)
            points.append(row)
        return points

    def get_pareto_front(self, metric: Any = None, mode: Any = None, scope: str = "last") -> list[Result]:
        """The results no other trial beats in every objective: the Pareto front (tunecore).

        Only feasible trials whose every objective is a finite number take part (a NaN or an
        infinity cannot be ranked). ``scope`` turns each trial's values of each metric into one
        number, as in :meth:`get_best_result`.

        Args:
            metric: a list of metrics (one metric works too); default: the TuneConfig's.
            mode: a list of ``"min"``/``"max"``, one per metric (or one for all); default: the TuneConfig's.
            scope: ``last``, ``avg``, ``last-5-avg``, ``last-10-avg`` or ``all``.

        Returns:
            The front's results, in trial order (empty when no trial qualifies).

        Raises:
            ResultGridError: no metric or mode given nor known, lengths that differ, an unknown
                scope or mode.
        """
        _check_scope(scope)
        metrics, modes = self._objectives(metric, mode, "get_pareto_front")
        indices = front_indices(self._points(metrics, modes, scope), modes, self._feasible())
        return [self._results[i] for i in indices]

    def get_hypervolume(self, reference_point: Sequence[float], metric: Any = None, mode: Any = None,
                        scope: str = "last") -> float:
        """The hypervolume of the Pareto front (:meth:`get_pareto_front`) against ``reference_point``
        (tunecore): the volume of objective space its trials dominate, bounded by the reference.

        ``reference_point`` is in the metrics' own units, one value per metric, worse than every
        point that should count (above them for ``"min"``, below for ``"max"``).

        Raises:
            ResultGridError: a reference point of another length or not finite, and as
                :meth:`get_pareto_front`.
        """
        _check_scope(scope)
        metrics, modes = self._objectives(metric, mode, "get_hypervolume")
        reference = [as_float(v) for v in reference_point]
        if len(reference) != len(metrics) or any(v is None or not math.isfinite(v) for v in reference):
            raise ResultGridError(f"reference_point must be {len(metrics)} finite numbers (one per metric "
                                  f"{metrics!r}), but got {list(reference_point)!r}")
        points = self._points(metrics, modes, scope)
        front = front_indices(points, modes, self._feasible())
        return hypervolume(minimized([points[i] for i in front], modes), minimized([reference], modes)[0])

    def get_param_importances(self, metric: Optional[str] = None, *, params: Optional[Sequence[str]] = None,
                              scope: str = "last", method: str = "mdi", seed: int = 0) -> dict[str, float]:
        """How much each searched parameter explains ``metric`` across the trials (tunecore).

        A random forest (scikit-learn) is fitted on the trials' configs against their score
        (``scope`` as in :meth:`get_best_result`); see :mod:`tunecore.importance` for the
        methods (``"mdi"``, ``"permutation"``). Needs scikit-learn.

        Args:
            metric: one metric (default: the TuneConfig's, or its first for several objectives).
            params: the parameters to rank (``/``-joined for nested ones); default: every config
                key that varies across the trials.

        Returns:
            ``{parameter: share}``, largest first, summing to 1.

        Raises:
            ResultGridError: no metric given nor known; TuneError: fewer than 2 trials with a
                finite score, or scikit-learn missing.
        """
        from tunecore.importance import param_importances

        _check_scope(scope)
        if metric is None:
            metric = self._metric[0] if isinstance(self._metric, list) else self._metric
        if not isinstance(metric, str) or not metric:
            raise ResultGridError("get_param_importances needs one metric: get_param_importances(metric='loss'), "
                                  f"or a metric in the TuneConfig; got metric={metric!r}")
        mode = "min"
        if isinstance(self._metric, list) and metric in self._metric:
            mode = self._mode[self._metric.index(metric)] if isinstance(self._mode, list) else mode
        elif isinstance(self._mode, str):
            mode = self._mode
        values = [scope_score(self._values(r, metric, scope), scope, mode) for r in self._results]
        return param_importances([r.config for r in self._results], values, params=params, method=method, seed=seed)

    # -- a table ------------------------------------------------------------------------------
    def get_dataframe(self, filter_metric: Optional[str] = None, filter_mode: Optional[str] = None) -> Any:
        """One row a trial, in trial order: its last result (``/``-joined nested keys), its
        ``config/<key>`` columns and ``logdir`` (its folder).

        With ``filter_metric`` and ``filter_mode``, each trial's row is the result where
        ``filter_metric`` is best by ``filter_mode`` (the first of equals; NaN passed over), not
        the last (the last when no result has a number for it).

        Raises:
            ResultGridError: ``filter_mode`` is not ``"min"``/``"max"``, or given without ``filter_metric``.
            TuneError: pandas is not installed.
        """
        if filter_mode is not None:
            _check_mode(filter_mode, "filter_mode")
            if not filter_metric:
                raise ResultGridError("If a `filter_mode` is passed to `get_dataframe()`, you'll also have to pass "
                                      "a `filter_metric`!")
        pd = _pandas("ResultGrid.get_dataframe()")
        return pd.DataFrame(self._table(filter_metric, filter_mode))

    def _table(self, metric: Optional[str], mode: Optional[str]) -> list[dict]:
        table = []
        for result in self._results:
            source = result._last()
            if metric and mode:
                rows = result._rows()
                values = [as_float(lookup_metric(row, metric)) for row in rows]
                scores = [None if v is None or math.isnan(v) else v for v in values]
                best = _best_index(scores, mode, filter_nan_and_inf=False)
                if best is not None:
                    source = rows[best]
            row = flatten_dict(_strip_config(source))
            row.setdefault(R.TRIAL_ID, result.trial_id)
            if isinstance(result.config, dict):
                row.update(flatten_dict({"config": result.config}))
            else:
                row["config"] = result.config
            row["logdir"] = result.path
            table.append(row)
        return table

    def __repr__(self) -> str:
        shown = [r._repr(indent=2) for r in self._results[:_REPR_LIMIT]]
        if len(self._results) > _REPR_LIMIT:
            shown.append(f"  ... and {len(self._results) - _REPR_LIMIT} more")
        return "ResultGrid<[\n" + ",\n".join(shown) + "\n]>"
