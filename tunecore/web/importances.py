"""``GET /api/importances?metric=NAME``: which searched parameters mattered for one metric.

Computed by :func:`tunecore.importance.param_importances` (a random forest, ``method="mdi"``)
from the *finished* trials' last results (``TERMINATED`` or ``ERROR``; a running trial's value is
still changing), and kept per ``(metric, finished trials)`` so the page's repeated requests cost
nothing until another trial finishes. When the importances cannot be computed (scikit-learn
missing, fewer than 2 finished trials with a value, no parameter that varies) the answer is still
``200`` with an empty list and the reason in ``message``, which the page shows instead of bars.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.records import TrialRecord
from tunecore.util import as_float, lookup_metric
from tunecore.web.checks import RequestError

#: Statuses whose last result is final.
FINISHED = ("TERMINATED", "ERROR")
#: At most this many answers are kept (one per metric and set of finished trials).
CACHE_SIZE = 32
METHOD = "mdi"


def _value(record: TrialRecord, metric: str) -> Optional[float]:
    value = as_float(lookup_metric(record.last_result, metric))
    return value if value is not None and math.isfinite(value) else None


def check_metric(params: dict) -> str:
    """The ``metric`` query parameter (required, one, at most 200 characters)."""
    values = params.get("metric") or []
    if len(values) != 1 or not values[0].strip():
        raise RequestError(400, "Give one metric: GET /api/importances?metric=NAME.")
    metric = values[0].strip()
    if len(metric) > 200:
        raise RequestError(400, "The metric name is too long (at most 200 characters).")
    return metric


class ImportanceCache:
    """Answers of ``/api/importances`` for the trials ``records()`` returns, cached."""

    def __init__(self, records: Callable[[], list[TrialRecord]]) -> None:
        self._records = records
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, dict] = OrderedDict()

    def answer(self, metric: str) -> dict:
        """``{"metric", "method", "trials", "finished", "importances": [{"param", "importance"}...],
        "message"}``; ``trials`` is how many finished trials had a finite value of the metric.

        Raises:
            RequestError: 400 when no trial reports ``metric`` (the message names those that do).
        """
        records = list(self._records())
        if not any(_value(r, metric) is not None for r in records):
            known = sorted({key for r in records for key in _metric_names(r.last_result)})
            listed = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
            raise RequestError(400, f"Unknown metric {metric!r}: no trial reported it as a number"
                                    + (f"; the trials report {listed}." if listed else " (no trial has reported yet)."))
        finished = [r for r in records if r.status in FINISHED]
        key = (metric, tuple((r.trial_id, _iteration(r)) for r in finished))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            answer = self._compute(metric, finished)
            self._cache[key] = answer
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return answer

    @staticmethod
    def _compute(metric: str, finished: list[TrialRecord]) -> dict:
        from tunecore.importance import param_importances

        configs = [r.config if isinstance(r.config, dict) else {} for r in finished]
        values = [_value(r, metric) for r in finished]
        used = sum(v is not None for v in values)
        answer: dict[str, Any] = {"metric": metric, "method": METHOD, "trials": used, "finished": len(finished),
                                  "importances": [], "message": None}
        try:
            shares = param_importances(configs, [math.nan if v is None else v for v in values], method=METHOD)
        except (TuneError, ValueError) as exc:
            message = str(exc)
            if isinstance(exc, TuneError) and used < 2:
                message = f"{message} (only finished trials count)"
            answer["message"] = message
            return answer
        answer["importances"] = [{"param": name, "importance": share} for name, share in shares.items()]
        return answer


def _iteration(record: TrialRecord) -> Any:
    last = record.last_result if isinstance(record.last_result, dict) else {}
    return last.get("training_iteration")


def _metric_names(result: Any) -> list[str]:
    from tunecore.web.history import numeric_metrics

    return list(numeric_metrics(result))
