"""XGBoost in a tunecore trial: report each boosting round, checkpoint the booster (Ray's names).

``ray.tune.integration.xgboost``'s API: pass a callback to ``xgboost.train`` (or
``xgboost.cv``) inside a function trainable, and every boosting round becomes a result of the
trial, so schedulers (ASHA, PBT) act between rounds::

    import xgboost as xgb
    import tunecore as tune
    from tune_integrations.xgboost import TuneReportCheckpointCallback

    def train(config):
        start = tune.get_checkpoint()            # set when PBT or a restore continues the trial
        booster = TuneReportCheckpointCallback.get_model(start) if start else None
        done = booster.num_boosted_rounds() if booster else 0
        xgb.train({**config, "objective": "binary:logistic", "eval_metric": "logloss"}, dtrain,
                  num_boost_round=100 - done, xgb_model=booster, evals=[(dvalid, "eval")],
                  verbose_eval=False, callbacks=[TuneReportCheckpointCallback(frequency=10)])

XGBoost is imported with this module (``pip install "tune-integrations[xgboost]"``); importing
:mod:`tune_integrations` alone does not import it. See :mod:`tune_integrations._report` for
what the LightGBM and XGBoost callbacks share.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

from tune_integrations._report import Metrics, PostProcess, ReportCallbackBase, require_framework
from tunecore.errors import TuneError

xgboost = require_framework("xgboost", "xgboost", "tune_integrations.xgboost")
from xgboost.callback import TrainingCallback  # noqa: E402 - after the check that names the extra

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]


class TuneReportCheckpointCallback(ReportCallbackBase, TrainingCallback):
    """XGBoost callback that reports each round's evaluation metrics and checkpoints the booster.

    ``ray.tune.integration.xgboost.TuneReportCheckpointCallback`` (Ray 2.x), an
    ``xgboost.callback.TrainingCallback``. Pass it in ``callbacks=[...]`` of ``xgboost.train``
    (or ``xgboost.cv``) in a function trainable. Each boosting round is reported once with
    ``tunecore.report``: the metrics of the round's ``evals``, as Python floats, named
    ``"<eval name>-<metric>"`` as Ray names them (``"eval-logloss"``, ``"train-error"``; in
    ``xgboost.cv`` ``"test-logloss-mean"`` and ``"test-logloss-std"``). The trial's
    ``training_iteration`` is therefore the number of rounds reported.

    A round that is checkpointed is reported together with its checkpoint: a folder holding
    the booster saved as ``filename`` (``Booster.save_model``; the extension picks the format,
    ``.ubj`` or ``.json``), which :meth:`get_model` loads back. Continue a trial from it with
    ``xgboost.train(..., xgb_model=booster, num_boost_round=total - booster.num_boosted_rounds())``;
    ``frequency`` counts the booster's rounds (``num_boosted_rounds()``), so it goes on from the
    checkpoint's count, as the trial's ``training_iteration`` does.

    Args:
        metrics: what to report. None: every metric evaluated. A name or a list of names
            (``"eval-logloss"``): those, under the same names. A dict ``{report name: XGBoost
            name}`` (``{"loss": "eval-logloss"}``): those, renamed.
        filename: the model file's name in the checkpoint folder. Default ``"model.ubj"``.
        frequency: checkpoint every ``frequency`` rounds of the booster (after rounds
            ``frequency``, ``2 * frequency``...). 0 (default): no checkpoint during training.
        checkpoint_at_end: also checkpoint the last round, unless ``frequency`` already did.
        results_postprocessing_fn: a function that gets the dict about to be reported
            (flattened and renamed) and returns the dict to report instead.

    Differences from Ray Tune, on purpose:
        - Ray reports the checkpoint at the end as one more result after the last round,
          repeating its metrics (so a run of N rounds has N + 1 results, and the scheduler sees
          a round N + 1 that was never trained). XGBoost tells a callback which round was the last only when
          training has ended, so with ``checkpoint_at_end=True`` this callback sends each
          round's result when the next round has been trained (or training ended), and the
          last round's result carries the final checkpoint: N rounds, N results, the last one
          checkpointed. A scheduler's decision on a round therefore comes one round later;
          with ``checkpoint_at_end=False`` every result is sent as soon as its round ends.
        - ``frequency`` counts the booster's rounds, not the rounds of this ``xgboost.train``
          call (Ray: the epoch, which restarts at 0 when training continues a checkpoint).
        - In ``xgboost.cv`` each metric is reported as ``<name>-mean`` and ``<name>-std`` (the
          names of ``xgboost.cv``'s own table; Ray reports a ``(mean, std)`` pair), and a
          callback that would checkpoint fails at once with a clear message, since the folds'
          boosters cannot be saved as one model (Ray fails at the end of training).
        - Arguments are checked when the callback is made, and a metric XGBoost did not
          evaluate fails the trial with a message naming the ones it did (Ray: ``KeyError``);
          so does a round with no evaluation result at all (no ``evals``).
    """

    CHECKPOINT_NAME = "model.ubj"
    FRAMEWORK = "XGBoost"
    EVAL_HINT = "Pass evals=[(dvalid, 'eval')] to xgboost.train."

    def __init__(self, metrics: Metrics = None, filename: str = CHECKPOINT_NAME, frequency: int = 0,
                 checkpoint_at_end: bool = True, results_postprocessing_fn: PostProcess = None) -> None:
        ReportCallbackBase.__init__(self, metrics=metrics, filename=filename, frequency=frequency,
                                    checkpoint_at_end=checkpoint_at_end,
                                    results_postprocessing_fn=results_postprocessing_fn)
        TrainingCallback.__init__(self)
        # with checkpoint_at_end, the round waiting to be reported: (metrics, a copy of its booster or None)
        self._pending: Optional[tuple[dict, Any]] = None

    def before_training(self, model: Any) -> Any:
        self._pending = None
        if not hasattr(model, "save_model") and (self._frequency or self._checkpoint_at_end):
            raise TuneError(f"{type(self).__name__}: xgboost.cv trains one booster per fold, which cannot be "
                            "checkpointed as one model. Pass frequency=0 and checkpoint_at_end=False (or use "
                            "TuneReportCallback) with xgboost.cv.")
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        metrics = self._metrics_of(_last_values(evals_log))
        due = self._due(int(model.num_boosted_rounds()))
        if not self._checkpoint_at_end:
            self._send(metrics, model if due else None)
            return False
        pending, self._pending = self._pending, (metrics, model.copy() if due else None)
        if pending is not None:
            self._send(*pending)
        return False

    def after_training(self, model: Any) -> Any:
        pending, self._pending = self._pending, None
        if pending is not None:
            metrics, saved = pending
            self._send(metrics, model if saved is None else saved)
        return model

    def _save(self, model: Any, path: str) -> None:
        model.save_model(path)

    @classmethod
    def _load(cls, path: str) -> Any:
        booster = xgboost.Booster()
        booster.load_model(path)
        return booster

    @classmethod
    def get_model(cls, checkpoint: Any, filename: Optional[str] = CHECKPOINT_NAME) -> Any:
        """The ``xgboost.Booster`` saved in ``checkpoint``.

        Args:
            checkpoint: a :class:`tunecore.Checkpoint` this callback reported
                (``result.checkpoint``, ``tunecore.get_checkpoint()``).
            filename: the callback's ``filename``. Default ``"model.ubj"``.

        Raises:
            TuneError: the checkpoint has no such file.
        """
        return super().get_model(checkpoint, filename)


class TuneReportCallback(TuneReportCheckpointCallback):
    """Report each round's metrics, never checkpoint (Ray's deprecated ``TuneReportCallback``).

    ``TuneReportCheckpointCallback(metrics, frequency=0, checkpoint_at_end=False,
    results_postprocessing_fn=...)``: each round is reported as soon as it ends. Ray 2.x
    removed it (making one raises there); tunecore keeps it for older scripts and warns with a
    ``DeprecationWarning``.
    """

    def __init__(self, metrics: Metrics = None, results_postprocessing_fn: PostProcess = None) -> None:
        warnings.warn("tune_integrations.xgboost.TuneReportCallback is deprecated, as in Ray Tune: use "
                      "TuneReportCheckpointCallback(frequency=0, checkpoint_at_end=False)", DeprecationWarning,
                      stacklevel=2)
        super().__init__(metrics=metrics, frequency=0, checkpoint_at_end=False,
                         results_postprocessing_fn=results_postprocessing_fn)


def _last_values(evals_log: Any) -> dict[str, dict[str, Any]]:
    """``{data_name: {metric: value}}`` of this round, from XGBoost's history ``{data: {metric: [values]}}``.

    ``xgboost.cv`` records ``(mean, std)`` pairs: reported as ``<metric>-mean`` and ``<metric>-std``.
    """
    out: dict[str, dict[str, Any]] = {}
    for data_name, metrics in (evals_log or {}).items():
        into = out.setdefault(str(data_name), {})
        for metric, history in metrics.items():
            value = history[-1] if isinstance(history, (list, tuple)) and history else history
            if isinstance(value, tuple) and len(value) == 2:
                into[f"{metric}-mean"], into[f"{metric}-std"] = value
            else:
                into[str(metric)] = value
    return out
