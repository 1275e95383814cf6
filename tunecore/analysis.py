"""Reading an experiment back from disk: its trials, the best config, a DataFrame."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Optional

from tunecore import result as R
from tunecore.errors import TuneError
from tunecore.records import TrialRecord, read_records
from tunecore.util import as_float, flatten_dict, from_jsonable, read_json_lines

__all__ = ["Analysis", "TrialRecord", "read_results"]


def read_results(path: str) -> list[dict]:
    """The rows of a ``result.json``; a torn last line (a crash mid-write) is skipped."""
    return read_json_lines(path)


class Analysis:
    """An experiment folder (``<local_dir>/<name>``) read back.

    Uses ``experiment_state.json`` when present, else the trial folders
    (``params.json`` + ``result.json``).
    """

    def __init__(self, experiment_dir: str) -> None:
        experiment_dir = os.path.expanduser(experiment_dir)
        if not os.path.isdir(experiment_dir):
            raise TuneError(f"{experiment_dir!r} is not a folder; give an experiment folder such as "
                            "~/ray_results/my_experiment")
        self.experiment_dir = experiment_dir
        self.trials: list[TrialRecord] = []
        self.trials_run: list = []  # the live Trial objects, when tune.run made this Analysis
        records = read_records(experiment_dir)
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
        """The trial with the best ``metric`` (``scope``: ``last`` result, or ``max``/``min`` over all)."""
        if mode not in ("min", "max"):
            raise TuneError(f"mode must be 'min' or 'max', but got mode={mode!r}")
        values = [(self._value(t, metric, scope), t) for t in self.trials]
        scored = [(v, t) for v, t in values if v is not None]
        if not scored:
            return None
        return (max if mode == "max" else min)(scored, key=lambda vt: vt[0])[1]

    def get_best_config(self, metric: str, mode: str = "max", scope: str = "last") -> Optional[dict]:
        best = self.get_best_trial(metric, mode, scope)
        return best.config if best is not None else None

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
