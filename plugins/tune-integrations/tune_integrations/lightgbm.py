"""LightGBM in a tunecore trial: report each boosting round, checkpoint the booster (Ray's names).

``ray.tune.integration.lightgbm``'s API: pass a callback to ``lightgbm.train`` (or
``lightgbm.cv``) inside a function trainable, and every boosting round becomes a result of the
trial, so schedulers (ASHA, PBT) act between rounds::

    import lightgbm as lgb
    import tunecore as tune
    from tune_integrations.lightgbm import TuneReportCheckpointCallback

    def train(config):
        start = tune.get_checkpoint()            # set when PBT or a restore continues the trial
        booster = TuneReportCheckpointCallback.get_model(start) if start else None
        done = booster.current_iteration() if booster else 0
        lgb.train({**config, "objective": "binary", "metric": "binary_logloss", "verbose": -1},
                  dtrain, num_boost_round=100 - done, init_model=booster, valid_sets=[dvalid],
                  valid_names=["eval"],
                  callbacks=[TuneReportCheckpointCallback({"loss": "eval-binary_logloss"}, frequency=10)])

LightGBM is imported with this module (``pip install "tune-integrations[lightgbm]"``); importing
:mod:`tune_integrations` alone does not import it. See :mod:`tune_integrations._report` for
what the LightGBM and XGBoost callbacks share.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

from tune_integrations._report import Metrics, PostProcess, ReportCallbackBase, require_framework

lightgbm = require_framework("lightgbm", "lightgbm", "tune_integrations.lightgbm")

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]


class TuneReportCheckpointCallback(ReportCallbackBase):
    """LightGBM callback that reports each round's evaluation metrics and checkpoints the booster.

    ``ray.tune.integration.lightgbm.TuneReportCheckpointCallback`` (Ray 2.x). Pass it in
    ``callbacks=[...]`` of ``lightgbm.train`` or ``lightgbm.cv`` in a function trainable. After
    every boosting round it calls ``tunecore.report`` once with the metrics LightGBM evaluated
    in that round, as Python floats, named ``"<valid_name>-<metric>"`` as Ray names them
    (``"valid_0-binary_logloss"``, ``"training-auc"``; in ``lightgbm.cv``
    ``"valid-binary_logloss-mean"`` and ``"valid-binary_logloss-stdv"``). The trial's
    ``training_iteration`` is therefore the number of rounds reported.

    A round that is checkpointed is reported together with its checkpoint: a folder holding
    the booster saved as ``filename`` (``Booster.save_model``, every round trained so far),
    which :meth:`get_model` loads back. Continue a trial from it with
    ``lightgbm.train(..., init_model=booster, num_boost_round=total - booster.current_iteration())``:
    LightGBM then counts rounds from the checkpoint's, and so do ``frequency`` and the trial's
    ``training_iteration``.

    Args:
        metrics: what to report. None: every metric evaluated. A name or a list of names
            (``"valid_0-l2"``): those, under the same names. A dict ``{report name: LightGBM
            name}`` (``{"loss": "eval-binary_logloss"}``): those, renamed.
        filename: the model file's name in the checkpoint folder. Default ``"model.txt"``.
        frequency: checkpoint every ``frequency`` rounds (after rounds ``frequency``,
            ``2 * frequency``...). 0 (default): no checkpoint during training.
        checkpoint_at_end: also checkpoint the last round (``num_boost_round``), unless
            ``frequency`` already did.
        results_postprocessing_fn: a function that gets the dict about to be reported
            (flattened and renamed) and returns the dict to report instead.

    Attributes:
        order: LightGBM runs its callbacks sorted by ``order``: 25 runs this one after
            ``log_evaluation`` (10) and ``record_evaluation`` (20), before ``early_stopping`` (30),
            so the round at which early stopping ends training is reported too.

    Differences from Ray Tune, on purpose:
        - Arguments are checked when the callback is made (a ``frequency`` that is not an int
          >= 0, a ``filename`` with a folder in it...), and a metric LightGBM did not evaluate
          fails the trial with a message naming the metrics it did evaluate (Ray: ``KeyError``).
        - A round with no evaluation result (no ``valid_sets``) fails the trial with a message
          saying so, instead of reporting an empty result.
        - The checkpoint saves every round trained (``num_iteration=-1``), whatever
          ``best_iteration`` says, so a continued trial resumes at the right round.
        - :meth:`get_model` also loads a ``lightgbm.cv`` checkpoint, as a ``CVBooster``.

    As in Ray, a run that ``early_stopping`` ends before ``num_boost_round`` gets no
    checkpoint at the end (LightGBM gives a callback no "training ended" hook): use
    ``frequency`` to checkpoint along the way.
    """

    CHECKPOINT_NAME = "model.txt"
    FRAMEWORK = "LightGBM"
    EVAL_HINT = "Pass valid_sets=[...] (and valid_names=[...]) to lightgbm.train."

    def __init__(self, metrics: Metrics = None, filename: str = CHECKPOINT_NAME, frequency: int = 0,
                 checkpoint_at_end: bool = True, results_postprocessing_fn: PostProcess = None) -> None:
        super().__init__(metrics=metrics, filename=filename, frequency=frequency,
                         checkpoint_at_end=checkpoint_at_end, results_postprocessing_fn=results_postprocessing_fn)
        self.order = 25
        self.before_iteration = False

    def __call__(self, env: Any) -> None:
        """LightGBM's hook, called after each boosting round with a ``lightgbm.callback.CallbackEnv``."""
        metrics = self._metrics_of(_eval_result(env.evaluation_result_list or []))
        rounds = env.iteration + 1  # LightGBM counts from init_model's rounds, so this is the booster's total
        last = env.iteration == env.end_iteration - 1
        checkpoint = self._due(rounds) or (last and self._checkpoint_at_end)
        self._send(metrics, env.model if checkpoint else None)

    def _save(self, model: Any, path: str) -> None:
        model.save_model(path, num_iteration=-1)

    @classmethod
    def _load(cls, path: str) -> Any:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
        if head.startswith(b"{"):  # CVBooster.save_model writes JSON, Booster.save_model text
            return lightgbm.CVBooster(model_file=path)
        return lightgbm.Booster(model_file=path)

    @classmethod
    def get_model(cls, checkpoint: Any, filename: Optional[str] = CHECKPOINT_NAME) -> Any:
        """The ``lightgbm.Booster`` saved in ``checkpoint`` (a ``lightgbm.CVBooster`` for ``lightgbm.cv``).

        Args:
            checkpoint: a :class:`tunecore.Checkpoint` this callback reported
                (``result.checkpoint``, ``tunecore.get_checkpoint()``).
            filename: the callback's ``filename``. Default ``"model.txt"``.

        Raises:
            TuneError: the checkpoint has no such file.
        """
        return super().get_model(checkpoint, filename)


class TuneReportCallback(TuneReportCheckpointCallback):
    """Report each round's metrics, never checkpoint (Ray's deprecated ``TuneReportCallback``).

    ``TuneReportCheckpointCallback(metrics, frequency=0, checkpoint_at_end=False,
    results_postprocessing_fn=...)``. Ray 2.x removed it (making one raises there); tunecore
    keeps it for older scripts and warns with a ``DeprecationWarning``.
    """

    def __init__(self, metrics: Metrics = None, results_postprocessing_fn: PostProcess = None) -> None:
        warnings.warn("tune_integrations.lightgbm.TuneReportCallback is deprecated, as in Ray Tune: use "
                      "TuneReportCheckpointCallback(frequency=0, checkpoint_at_end=False)", DeprecationWarning,
                      stacklevel=2)
        super().__init__(metrics=metrics, frequency=0, checkpoint_at_end=False,
                         results_postprocessing_fn=results_postprocessing_fn)


def _eval_result(entries: list) -> dict[str, dict[str, Any]]:
    """``{data_name: {metric: value}}`` of LightGBM's ``evaluation_result_list``, as Ray reads it.

    ``lightgbm.train`` gives ``(data_name, metric, value, is_higher_better)``; ``lightgbm.cv``
    adds the standard deviation, and the metric is reported as ``<metric>-mean`` and ``<metric>-stdv``.
    """
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        data_name, metric, value = entry[0], entry[1], entry[2]
        into = out.setdefault(str(data_name), {})
        if len(entry) > 4:
            into[f"{metric}-mean"] = value
            into[f"{metric}-stdv"] = entry[4]
        else:
            into[str(metric)] = value
    return out
