"""The two things a server can show: a live runner (read/write) or an experiment folder (read-only)."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from typing import Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.objective import Objective
from tunecore.records import TrialRecord, read_experiment
from tunecore.util import to_jsonable
from tunecore.web.checks import RequestError, check_add_body
from tunecore.web.history import HistoryStore
from tunecore.web.importances import ImportanceCache

#: How long a request waits for the runner's loop to carry out a change (seconds).
RUNNER_TIMEOUT = 30.0


def record_from_trial(trial: Any) -> TrialRecord:
    """A :class:`TrialRecord` of a live ``tunecore.execution.trial.Trial`` (read from another thread)."""
    return TrialRecord.from_trial(trial)


def trial_info(record: TrialRecord) -> dict:
    """The 2018 Tune's trial info: ``id``, ``trainable_name``, ``config``, ``status``, ``result``."""
    return to_jsonable({
        "id": record.trial_id,
        "trainable_name": record.trainable_name,
        "name": record.name,
        "config": record.config,
        "status": record.status,
        "result": record.last_result,
        "num_failures": record.num_failures,
        "logdir": record.logdir,
    })


class DataSource:
    """What the HTTP handler asks; subclasses say where the answers come from."""

    live = False
    name = ""

    def __init__(self) -> None:
        self._history: Optional[HistoryStore] = None
        self._importances: Optional[ImportanceCache] = None

    def records(self) -> list[TrialRecord]:
        raise NotImplementedError

    def objective(self) -> Optional[dict]:
        """The run's objective as saved (``{"metric", "mode", "constraints"}``), or None when it had none."""
        return None

    def importances(self, metric: str) -> dict:
        """What ``GET /api/importances?metric=NAME`` answers (:mod:`tunecore.web.importances`)."""
        if self._importances is None:
            self._importances = ImportanceCache(self.records)
        return self._importances.answer(metric)

    def list_trials(self) -> list[dict]:
        return [trial_info(r) for r in self.records()]

    def get_trial(self, trial_id: str) -> dict:
        for record in self.records():
            if record.trial_id == trial_id:
                return trial_info(record)
        raise RequestError(404, f"Trial ({trial_id}) not found.")

    def add_trials(self, body: Any) -> list[dict]:
        raise RequestError(405, "This server shows an experiment on disk; it cannot add trials.")

    def stop_trial(self, trial_id: str) -> dict:
        raise RequestError(405, "This server shows an experiment on disk; it cannot stop trials.")

    def history(self, since: int, generation: Optional[str]) -> dict:
        if self._history is None:
            self._history = HistoryStore(self.records, live_results=self.live)
        payload = self._history.since(since, generation)
        payload.update(live=self.live, experiment=self.name, objective=self.objective())
        return payload


class RunnerSource(DataSource):
    """A running experiment: reads take a snapshot, changes go through ``runner.submit``."""

    live = True

    def __init__(self, runner: Any, experiment_dir: Optional[str] = None,
                 timeout: float = RUNNER_TIMEOUT) -> None:
        super().__init__()
        self.runner = runner
        self.experiment_dir = experiment_dir
        self.name = os.path.basename(experiment_dir.rstrip(os.sep)) if experiment_dir else ""
        self.timeout = timeout
        self.closed = threading.Event()

    def objective(self) -> Optional[dict]:
        """The objective the runner was given (``metric``, ``mode``, ``constraints``)."""
        objective = getattr(self.runner, "objective", None)
        if not isinstance(objective, Objective):
            try:
                objective = Objective.of(getattr(self.runner, "metric", None), getattr(self.runner, "mode", None),
                                         getattr(self.runner, "constraints", None))
            except TuneError:
                return None
        return objective.to_json()

    def close(self) -> None:
        """The experiment is over: requests still waiting for the runner get 503 at once."""
        self.closed.set()

    def _on_runner(self, fn: Callable[[], Any]) -> Any:
        if self.closed.is_set():
            raise RequestError(503, "The experiment has finished; it takes no more changes.")
        future = self.runner.submit(fn)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    return future.result(timeout=min(0.05, max(0.0, deadline - time.monotonic())))
                except concurrent.futures.TimeoutError:
                    if self.closed.is_set() and future.cancel():
                        raise RequestError(503, "The experiment finished before carrying out the request.") from None
                    if time.monotonic() >= deadline:
                        raise
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RequestError(503, f"The experiment did not handle the request within {self.timeout:g} s "
                                    "(it may be finishing); try again.") from None
        except concurrent.futures.CancelledError:
            raise RequestError(503, "The experiment is shutting down; the request was not carried out.") from None
        except RequestError:
            raise
        except TuneError as exc:
            raise RequestError(400, str(exc)) from None

    def records(self) -> list[TrialRecord]:
        for _ in range(3):
            try:
                return [record_from_trial(t) for t in list(self.runner.get_trials())]
            except RuntimeError:  # a dict changed size while we copied it; the runner is busy
                continue
        return self._on_runner(lambda: [record_from_trial(t) for t in self.runner.get_trials()])

    def get_trial(self, trial_id: str) -> dict:
        trial = self.runner.get_trial(trial_id)
        if trial is None:
            raise RequestError(404, f"Trial ({trial_id}) not found.")
        return trial_info(record_from_trial(trial))

    def add_trials(self, body: Any) -> list[dict]:
        from tunecore.trainables.registry import has_trainable

        name, spec = check_add_body(body, has_trainable)
        spec = dict(spec)
        if self.experiment_dir:
            spec["local_dir"] = os.path.dirname(os.path.abspath(self.experiment_dir))
        try:
            trials = self._on_runner(lambda: self.runner.add_experiment(name, spec))
        except (TypeError, ValueError, KeyError) as exc:  # a bad value the spec checks missed
            raise RequestError(400, f"Invalid spec: {type(exc).__name__}: {exc}") from None
        return [trial_info(record_from_trial(t)) for t in trials or []]

    def stop_trial(self, trial_id: str) -> dict:
        def stop() -> Any:
            trial = self.runner.get_trial(trial_id)
            if trial is None:
                raise RequestError(404, f"Trial ({trial_id}) not found.")
            if not trial.is_finished():
                self.runner.stop_trial(trial)  # records the end: stopped by a user (tunecore.execution.endings)
            return trial

        return trial_info(record_from_trial(self._on_runner(stop)))


class FolderSource(DataSource):
    """An experiment folder written by the runner (finished, or running in another process)."""

    def __init__(self, experiment_dir: str) -> None:
        super().__init__()
        self.experiment_dir = os.path.abspath(os.path.expanduser(experiment_dir))
        self.name = os.path.basename(self.experiment_dir.rstrip(os.sep))
        self._cache: tuple[Optional[tuple], list[TrialRecord]] = (None, [])
        self._objective: Objective = Objective()

    @property
    def state_file(self) -> str:
        return os.path.join(self.experiment_dir, "experiment_state.json")

    def records(self) -> list[TrialRecord]:
        try:
            st = os.stat(self.state_file)
        except OSError:
            return []
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if self._cache[0] == key:
            return self._cache[1]
        try:
            found, objective = read_experiment(self.experiment_dir)
        except TuneError:
            return self._cache[1]  # mid-write elsewhere, or unreadable: keep what we had
        records = found or []
        self._cache, self._objective = (key, records), objective
        return records

    def objective(self) -> Optional[dict]:
        """The objective saved in ``experiment_state.json`` (read with the trials)."""
        self.records()
        return self._objective.to_json()
