"""What the LightGBM and XGBoost callbacks share: metric names, the report, the checkpoint.

:mod:`tune_integrations.lightgbm` and :mod:`tune_integrations.xgboost` differ only in how they
read a round's evaluation results and how a booster is saved and loaded; everything else
(naming, selecting and renaming metrics, when to checkpoint, how to report) is here, once.
Nothing here imports a framework.

The names are Ray Tune's: the evaluation results of one round are a nested dict
``{eval_name: {metric_name: value}}`` flattened with ``"-"`` (``"eval-logloss"``,
``"valid_0-l2"``), as ``ray.tune.utils.flatten_dict(..., delimiter="-")`` does.
"""

from __future__ import annotations

import contextlib
import difflib
import numbers
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

import tunecore
from tunecore.errors import TuneError

__all__ = ["MissingFrameworkError", "ReportCallbackBase", "require_framework"]

Metrics = Union[str, Sequence[str], Mapping[str, str], None]
PostProcess = Optional[Callable[[dict], dict]]


class MissingFrameworkError(TuneError, ImportError):
    """A framework an integration module needs is not installed (both a TuneError and an ImportError)."""


def require_framework(module: str, extra: str, what: str) -> Any:
    """Import ``module`` or raise :class:`MissingFrameworkError` naming the extra that installs it.

    Args:
        module: the framework's import name (``"lightgbm"``).
        extra: the tune-integrations extra that installs it (``"lightgbm"``).
        what: the integration module asking (``"tune_integrations.lightgbm"``).

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingFrameworkError(
            f"{what} needs {module}, which is not installed ({e}). Install it with "
            f'pip install "tune-integrations[{extra}]"') from None


def _check_metrics(metrics: Any, cls: str, names_of: str = "evaluation metric",
                   everything: str = "every evaluation metric") -> Union[list[str], dict[str, str], None]:
    """Ray's ``metrics`` argument, checked: None, a str, a list of str or a dict {report name: source name}.

    ``names_of`` says what the source names are (``"evaluation metric"``, ``"Keras log"``) and
    ``everything`` what None reports, for the messages.
    """
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return [metrics]
    if isinstance(metrics, Mapping):
        bad = [(k, v) for k, v in metrics.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TuneError(f"{cls}(metrics={{...}}) maps the names to report to {names_of} names, both str, "
                            f"but got {bad[0][0]!r}: {bad[0][1]!r}")
        if not metrics:
            raise TuneError(f"{cls}(metrics={{}}) names no metric: pass None to report {everything}")
        return dict(metrics)
    if isinstance(metrics, Sequence) and not isinstance(metrics, (bytes, bytearray)):
        names = list(metrics)
        bad_names = [m for m in names if not isinstance(m, str)]
        if bad_names:
            raise TuneError(f"{cls}(metrics=[...]) takes {names_of} names (str), but got {bad_names[0]!r}")
        if not names:
            raise TuneError(f"{cls}(metrics=[]) names no metric: pass None to report {everything}")
        return names
    raise TuneError(f"{cls}(metrics=...) takes None, one {names_of} name, a list of names or a dict "
                    f"{{report name: {names_of} name}}, but got {type(metrics).__name__}: {metrics!r}")


def _check_frequency(frequency: Any, cls: str) -> int:
    if not isinstance(frequency, numbers.Integral) or isinstance(frequency, bool) or frequency < 0:
        raise TuneError(f"{cls}(frequency=...) is how many boosting rounds apart checkpoints are taken "
                        f"(0: none during training), an int >= 0, but got frequency={frequency!r}")
    return int(frequency)


def _check_filename(filename: Any, cls: str) -> str:
    if not isinstance(filename, str) or not filename or filename in (".", "..") or "/" in filename \
            or os.sep in filename:
        raise TuneError(f"{cls}(filename=...) is the model file's name inside the checkpoint folder "
                        f"(\"model.txt\"), without a folder, but got filename={filename!r}")
    return filename


def python_values(value: Any) -> Any:
    """``value`` with numpy numbers (and arrays) as Python ones: floats stay floats, integers ints.

    Dicts, lists and tuples are converted inside (a tuple becomes a list, as JSON has it).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray):
        return python_values(value.tolist() if value.ndim else value[()])
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {k: python_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [python_values(v) for v in value]
    return value


def flatten(evals: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"eval": {"logloss": 0.1}}`` -> ``{"eval-logloss": 0.1}`` (Ray's names)."""
    flat: dict[str, Any] = {}
    for data_name, metrics in evals.items():
        for metric_name, value in metrics.items():
            flat[f"{data_name}-{metric_name}"] = value
    return flat


class ReportCallbackBase:
    """The framework-free half of the LightGBM and XGBoost ``TuneReportCheckpointCallback``.

    A subclass sets :attr:`CHECKPOINT_NAME` and :attr:`FRAMEWORK`, implements :meth:`_save`
    and :meth:`_load`, and calls :meth:`_metrics_of` and :meth:`_send` from its hook.
    """

    CHECKPOINT_NAME = "model"
    FRAMEWORK = ""
    #: what a user passes to have evaluation results at all (named in the error when there are none)
    EVAL_HINT = ""

    def __init__(self, metrics: Metrics = None, filename: Optional[str] = None, frequency: int = 0,
                 checkpoint_at_end: bool = True, results_postprocessing_fn: PostProcess = None) -> None:
        cls = type(self).__name__
        self._metrics = _check_metrics(metrics, cls)
        self._filename = _check_filename(self.CHECKPOINT_NAME if filename is None else filename, cls)
        self._frequency = _check_frequency(frequency, cls)
        if not isinstance(checkpoint_at_end, bool):
            raise TuneError(f"{cls}(checkpoint_at_end=...) is True or False, but got {checkpoint_at_end!r}")
        self._checkpoint_at_end = checkpoint_at_end
        if results_postprocessing_fn is not None and not callable(results_postprocessing_fn):
            raise TuneError(f"{cls}(results_postprocessing_fn=...) takes a function dict -> dict, but got "
                            f"{results_postprocessing_fn!r}")
        self._results_postprocessing_fn = results_postprocessing_fn

    # -- what a subclass provides -----------------------------------------------------------
    def _save(self, model: Any, path: str) -> None:  # pragma: no cover - abstract
        """Write ``model`` to the file ``path``."""
        raise NotImplementedError

    @classmethod
    def _load(cls, path: str) -> Any:  # pragma: no cover - abstract
        """The booster saved in the file ``path``."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def _metrics_of(self, evals: Mapping[str, Mapping[str, Any]]) -> dict:
        """The dict to report for one round's ``{eval_name: {metric: value}}`` (values as Python floats).

        Raises:
            TuneError: a metric asked for was not evaluated, or nothing was evaluated at all.
        """
        evaluated = flatten(evals)
        cls = type(self).__name__
        if not evaluated:
            raise TuneError(f"{cls}: {self.FRAMEWORK} evaluated no metric in this round, so there is nothing to "
                            f"report. {self.EVAL_HINT}")
        if self._metrics is None:
            report = evaluated
        else:
            pairs = self._metrics.items() if isinstance(self._metrics, dict) else ((m, m) for m in self._metrics)
            report = {}
            for name, key in pairs:
                if key not in evaluated:
                    raise TuneError(self._missing(key, evaluated))
                report[name] = evaluated[key]
        if self._results_postprocessing_fn is not None:
            processed = self._results_postprocessing_fn(dict(report))
            if not isinstance(processed, Mapping):
                raise TuneError(f"{cls}(results_postprocessing_fn=...) must return a dict of metrics, but it "
                                f"returned {type(processed).__name__}: {processed!r}")
            report = dict(processed)
        values: dict = python_values(report)
        return values

    def _missing(self, key: str, evaluated: Mapping[str, Any]) -> str:
        names = ", ".join(repr(k) for k in evaluated)
        close = difflib.get_close_matches(key, list(evaluated), n=1, cutoff=0.5)
        ending = [k for k in evaluated if k.endswith("-" + key)]
        hint = f" Did you mean {ending[0]!r}?" if ending else (f" Did you mean {close[0]!r}?" if close else "")
        return (f"{type(self).__name__}(metrics=...) asks for {key!r}, but {self.FRAMEWORK} evaluated only "
                f"{names} in this round (Ray's names: '<evaluation set name>-<metric>').{hint}")

    def _due(self, rounds: int) -> bool:
        """Whether ``frequency`` asks for a checkpoint after ``rounds`` boosting rounds in all."""
        return self._frequency > 0 and rounds % self._frequency == 0

    @contextlib.contextmanager
    def _checkpoint(self, model: Any) -> Iterator[tunecore.Checkpoint]:
        """``model`` saved as ``<filename>`` in a temporary folder, as a checkpoint (removed after)."""
        folder = tempfile.mkdtemp(prefix="tune-integrations-")
        try:
            self._save(model, os.path.join(folder, self._filename))
            yield tunecore.Checkpoint.from_directory(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _send(self, metrics: dict, model: Any = None) -> None:
        """``tunecore.report`` the metrics, with ``model`` as a checkpoint when it is given."""
        if model is None:
            tunecore.report(metrics)
            return
        with self._checkpoint(model) as checkpoint:
            tunecore.report(metrics, checkpoint=checkpoint)

    @classmethod
    def get_model(cls, checkpoint: tunecore.Checkpoint, filename: Optional[str] = None) -> Any:
        """The booster saved in a checkpoint this callback reported (Ray's ``get_model``).

        Args:
            checkpoint: a :class:`tunecore.Checkpoint` (``result.checkpoint``,
                ``tunecore.get_checkpoint()``, one of ``result.best_checkpoints``).
            filename: the model file in it; the callback's ``filename`` (default :attr:`CHECKPOINT_NAME`).

        Returns:
            The booster.

        Raises:
            TuneError: ``checkpoint`` is not a checkpoint, or has no file ``filename``.
        """
        name = cls.CHECKPOINT_NAME if filename is None else filename
        _check_filename(name, f"{cls.__name__}.get_model")
        if not isinstance(checkpoint, tunecore.Checkpoint):
            raise TuneError(f"{cls.__name__}.get_model takes a tunecore.Checkpoint (result.checkpoint, "
                            f"tunecore.get_checkpoint()), but got {type(checkpoint).__name__}: {checkpoint!r}")
        with checkpoint.as_directory() as folder:
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                files = sorted(f for f in os.listdir(folder) if not f.startswith("."))
                raise TuneError(f"{cls.__name__}.get_model: checkpoint {checkpoint.path!r} has no file {name!r} "
                                f"(it has {', '.join(map(repr, files)) or 'no files'}); pass the filename= the "
                                "callback saved with")
            return cls._load(path)

