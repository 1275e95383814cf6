"""Reading an experiment back from disk: its trials, the best config, a DataFrame."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.objective import Objective
from tunecore.pareto import is_feasible
from tunecore.records import TrialRecord, read_experiment
from tunecore.util import as_float, flatten_dict, from_jsonable, read_json_lines

__all__ = ["Analysis", "TrialRecord", "read_results"]


def read_results(path: str) -> list[dict]:
    """The rows of a ``result.json``; a torn last line (a crash mid-write) is skipped."""
    return read_json_lines(path)


class Analysis:
    """An experiment folder (``<local_dir>/<name>``) read back.

    Uses ``experiment_state.json`` when present, else the trial folders
    (``params.json`` + ``result.json``).

    ``metric``, ``mode`` and ``constraints`` (result keys feasible when ``<= 0``) default to what
    the run was given (saved in the state file); an infeasible trial is never the best one
    nor on the Pareto front.
    """

    def __init__(self, experiment_dir: str, metric: Any = None, mode: Any = None,
                 constraints: Optional[list[str]] = None) -> None:
        experiment_dir = os.path.expanduser(experiment_dir)
        if not os.path.isdir(experiment_dir):
            raise TuneError(f"{experiment_dir!r} is not a folder; give an experiment folder such as "
                            "~/ray_results/my_experiment")
        self.experiment_dir = experiment_dir
        self.trials: list[TrialRecord] = []
        self.trials_run: list = []  # the live Trial objects, when tune.run made this Analysis
        records, saved = read_experiment(experiment_dir)
        if metric is None and mode is None:
            metric, mode = saved.metric, saved.mode
        objective = Objective.of(metric, mode, constraints if constraints is not None else saved.constraints,
                                 owner="Analysis")
        self.metric, self.mode = objective.metric, objective.mode
        self.constraints = list(objective.constraints or ())
        if records is not None:
            self.trials = records
        else:
            self._scan()
        if not self.trials:
            raise TuneError(f"No trials found in {experiment_dir!r}: it has no experiment_state.json and no "
                            "trial folders with result.json.")

    def _scan(self) -> None:
        for entry in sorted(os.listdir(self.experiment_dir)):
            logdir = os.path.join(self.experiment_dir, entry)
            result_path = os.path.join(logdir, R.RESULT_FILE)
            if not os.path.isfile(result_path):
                continue
            config = {}
            params = os.path.join(logdir, R.PARAMS_FILE)
            if os.path.exists(params):
                with open(params, encoding="utf-8") as f:
                    config = from_jsonable(json.load(f))
            rows = read_results(result_path)
            last = rows[-1] if rows else None
            status = "TERMINATED" if last and last.get(R.DONE) else "UNKNOWN"
            if os.path.exists(os.path.join(logdir, R.ERROR_FILE)):
                status = "ERROR"
            record = TrialRecord((last or {}).get(R.TRIAL_ID, entry), entry, status, config, logdir, last)
            record._results = rows
            self.trials.append(record)

    def _value(self, trial: TrialRecord, metric: str, scope: str) -> Optional[float]:
        if scope == "last":
            values = [(trial.last_result or {}).get(metric)]
        else:
            values = [r.get(metric) for r in trial.results()]
        floats = [v for v in map(as_float, values) if v is not None and not math.isnan(v)]
        if not floats:
            return None
        return floats[-1] if scope == "last" else (max(floats) if scope == "max" else min(floats))

    def get_best_trial(self, metric: str, mode: str = "max", scope: str = "last") -> Optional[TrialRecord]:
        """The feasible trial with the best ``metric`` (``scope``: ``last`` result, or ``max``/``min`` over all)."""
        if isinstance(metric, (list, tuple)):
            raise TuneError(f"get_best_trial ranks trials by one metric, but got metric={list(metric)!r}; use "
                            "get_pareto_front(metric=[...], mode=[...]) for several objectives")
        if mode not in ("min", "max"):
            raise TuneError(f"mode must be 'min' or 'max', but got mode={mode!r}")
        trials = [t for t in self.trials if not self.constraints or is_feasible(t.last_result or {}, self.constraints)]
        values = [(self._value(t, metric, scope), t) for t in trials]
        scored = [(v, t) for v, t in values if v is not None]
        if not scored:
            return None
        return (max if mode == "max" else min)(scored, key=lambda vt: vt[0])[1]

    def get_best_config(self, metric: str, mode: str = "max", scope: str = "last") -> Optional[dict]:
        best = self.get_best_trial(metric, mode, scope)
        return best.config if best is not None else None

    # -- several objectives (through ResultGrid, which holds the rules) ----------------------
    def _grid(self) -> Any:
        from tunecore.result_grid import ResultGrid

        return ResultGrid.from_records(self.trials, self.experiment_dir, self.metric, self.mode, self.constraints)

    def get_pareto_front(self, metric: Any = None, mode: Any = None, scope: str = "last") -> list[TrialRecord]:
        """The feasible trials no other trial beats in every objective (see ``ResultGrid.get_pareto_front``);
        ``metric``/``mode`` default to the run's."""
        ids = {r.trial_id for r in self._grid().get_pareto_front(metric, mode, scope)}
        return [t for t in self.trials if t.trial_id in ids]

    def get_hypervolume(self, reference_point: Any, metric: Any = None, mode: Any = None,
                        scope: str = "last") -> float:
        """The Pareto front's hypervolume against ``reference_point`` (see ``ResultGrid.get_hypervolume``)."""
        return float(self._grid().get_hypervolume(reference_point, metric, mode, scope))

    def get_param_importances(self, metric: Optional[str] = None, **kwargs: Any) -> dict[str, float]:
        """How much each searched parameter explains ``metric`` (see ``ResultGrid.get_param_importances``)."""
        return dict(self._grid().get_param_importances(metric, **kwargs))

    def rows(self) -> list[dict]:
        """One flat dict a trial: last result (``/``-joined keys) plus ``config/<key>`` columns."""
        out = []
        for t in self.trials:
            row = {"trial_id": t.trial_id, "name": t.name, "status": t.status, "logdir": t.logdir}
            last = {k: v for k, v in (t.last_result or {}).items() if k != "config"}
            row.update(flatten_dict(last))
            row.update(flatten_dict({"config": t.config}))
            out.append(row)
        return out

    def dataframe(self) -> Any:
        """A pandas DataFrame of :meth:`rows` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise TuneError("Analysis.dataframe() needs pandas: pip install pandas") from None
        return pd.DataFrame(self.rows())

    def trial_dataframe(self, trial_id: str) -> Any:
        """Every result of one trial as a DataFrame."""
        import pandas as pd

        for t in self.trials:
            if t.trial_id == trial_id:
                return pd.DataFrame([flatten_dict({k: v for k, v in r.items() if k != "config"}) for r in t.results()])
        raise TuneError(f"No trial {trial_id!r} in {self.experiment_dir}")
