"""Which hyperparameters mattered: importances of the searched parameters for one metric.

A random forest (scikit-learn's ``RandomForestRegressor``) is fitted on the trials — each
trial's searched parameters against its value of the metric — and each parameter's importance
is how much the forest relies on it:

- ``method="mdi"`` (default): the mean decrease in impurity, as Optuna's
  ``MeanDecreaseImpurityImportanceEvaluator`` computes it;
- ``method="permutation"``: scikit-learn's ``permutation_importance`` — how much the forest's
  fit worsens when the parameter's values are shuffled (slower, unbiased toward parameters
  with many distinct values).

Numbers (ints, floats, bools) are used as they are (a tree does not care about log scales);
any other value (strings, None, lists) is a category, one-hot encoded, and its columns'
importances are summed back. Parameters that take one value in every trial are left out.
The importances are non-negative and sum to 1, largest first.

scikit-learn is imported only here, when asked (``pip install scikit-learn``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Optional

from tunecore.errors import TuneError
from tunecore.util import as_float, flatten_dict

__all__ = ["METHODS", "param_importances"]

METHODS = ("mdi", "permutation")


def _sklearn() -> Any:
    try:
        import sklearn.ensemble  # noqa: F401
        import sklearn.inspection  # noqa: F401
    except ImportError:
        raise TuneError("parameter importances need scikit-learn: pip install scikit-learn "
                        "(or tunecore[importance])") from None
    import sklearn

    return sklearn


def _category(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _columns(configs: Sequence[dict], params: Optional[Sequence[str]]) -> tuple[list[str], list[list], list[str]]:
    """``(names, columns, kinds)``: each parameter's values across trials, ``"number"`` or ``"category"``."""
    flat = [flatten_dict(c) if isinstance(c, dict) else {} for c in configs]
    names = list(params) if params is not None else sorted({k for row in flat for k in row})
    missing = [n for n in names if all(n not in row for row in flat)]
    if params is not None and missing:
        raise TuneError(f"params {missing!r} are not in any trial's config; the configs have "
                        f"{sorted({k for row in flat for k in row})[:20]!r}")
    out_names: list[str] = []
    columns: list[list] = []
    kinds: list[str] = []
    for name in names:
        values = [row.get(name) for row in flat]
        if len({_category(v) for v in values}) < 2:
            continue  # a constant says nothing
        numbers = [as_float(v) if not isinstance(v, str) else None for v in values]
        if all(n is not None and math.isfinite(n) for n in numbers):
            columns.append(list(numbers))
            kinds.append("number")
        else:
            columns.append([_category(v) for v in values])
            kinds.append("category")
        out_names.append(name)
    return out_names, columns, kinds


def param_importances(configs: Sequence[dict], values: Sequence[Any], *, params: Optional[Sequence[str]] = None,
                      method: str = "mdi", n_estimators: int = 64, seed: int = 0) -> dict[str, float]:
    """``{parameter: importance}`` for predicting ``values`` from ``configs`` (one each a trial).

    Trials whose value is not a finite number are left out. Nested parameters are named by
    their ``/``-joined keys (``"model/width"``).

    Raises:
        TuneError: an unknown method, fewer than 2 usable trials, no parameter that varies, or
            scikit-learn missing.
    """
    if method not in METHODS:
        raise TuneError(f"method must be one of {list(METHODS)}, but got method={method!r}")
    if len(configs) != len(values):
        raise TuneError(f"{len(configs)} configs for {len(values)} values; give one value a trial")
    pairs = [(c, as_float(v)) for c, v in zip(configs, values)]
    kept = [(c, v) for c, v in pairs if v is not None and math.isfinite(v)]
    if len(kept) < 2:
        raise TuneError(f"parameter importances need at least 2 trials with a finite value of the metric, "
                        f"but {len(kept)} of {len(configs)} have one")
    names, table, kinds = _columns([c for c, _ in kept], params)
    if not names:
        raise TuneError("no searched parameter takes more than one value across the trials, so none can "
                        "explain the metric")
    _sklearn()
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    blocks, owners = [], []
    for index, (values_of, kind) in enumerate(zip(table, kinds)):
        if kind == "number":
            blocks.append(np.asarray(values_of, dtype=float).reshape(-1, 1))
            owners.append(index)
        else:
            levels = sorted(set(values_of))
            blocks.append(np.asarray([[1.0 if v == level else 0.0 for level in levels] for v in values_of]))
            owners.extend([index] * len(levels))
    x = np.hstack(blocks)
    y = np.asarray([v for _, v in kept], dtype=float)
    forest = RandomForestRegressor(n_estimators=n_estimators, max_depth=64, min_samples_split=2,
                                   min_samples_leaf=1, random_state=seed)
    forest.fit(x, y)
    if method == "mdi":
        raw = np.asarray(forest.feature_importances_, dtype=float)
    else:
        from sklearn.inspection import permutation_importance

        raw = permutation_importance(forest, x, y, n_repeats=10, random_state=seed).importances_mean
        raw = np.clip(np.asarray(raw, dtype=float), 0.0, None)
    summed = np.zeros(len(names))
    for column, owner in enumerate(owners):
        summed[owner] += raw[column]
    total = float(summed.sum())
    shares = summed / total if total > 0 else np.full(len(names), 1.0 / len(names))
    order = sorted(range(len(names)), key=lambda i: (-shares[i], names[i]))
    return {names[i]: float(shares[i]) for i in order}
