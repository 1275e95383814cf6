"""Keras 3 in a tunecore trial: report each epoch, checkpoint the model (Ray Tune's names).

``ray.tune.integration.keras``'s API: pass a callback to ``model.fit`` inside a function
trainable, and every epoch becomes a result of the trial, so schedulers (ASHA, PBT) act
between epochs::

    import os
    os.environ.setdefault("KERAS_BACKEND", "jax")   # before keras is first imported
    import keras
    import tunecore as tune
    from tune_integrations.keras import TuneReportCheckpointCallback, get_initial_epoch

    def train(config):
        start = tune.get_checkpoint()            # set when a retry, a restore or PBT continues the trial
        model = TuneReportCheckpointCallback.get_model(start) if start else build_model(config)
        model.fit(x, y, validation_data=(x_val, y_val), epochs=20, initial_epoch=get_initial_epoch(start),
                  verbose=0, callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"})])

Keras runs on any of its backends (JAX, TensorFlow, PyTorch); ``pip install
"tune-integrations[keras]"`` installs it with JAX. Keras picks its backend when it is first
imported, from ``KERAS_BACKEND`` (else ``~/.keras/keras.json``, else TensorFlow), and this
module imports Keras, so the variable must be set before this module is imported, in every
process that trains: at the top of the script (the workers of the local Ray tunecore starts
inherit the driver's environment), in the environment of an existing Ray cluster's nodes, or
inside the trainable before it imports Keras and this module. Importing
:mod:`tune_integrations` alone does not import Keras.
"""

from __future__ import annotations

import json
import numbers
import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import tunecore
from tune_integrations._report import MissingFrameworkError
from tune_integrations._report import _check_metrics as check_metrics
from tunecore.errors import TuneError

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback", "get_initial_epoch", "get_model"]

#: The file each checkpoint of this module holds next to the model: ``{"epoch", "filename", ...}``.
STATE_FILE = "tune_keras.json"

#: The Keras hooks (less the ``on_``) a callback can report or checkpoint at, as in Ray.
HOOKS = (
    "epoch_begin", "epoch_end",
    "train_batch_begin", "train_batch_end",
    "test_batch_begin", "test_batch_end",
    "predict_batch_begin", "predict_batch_end",
    "train_begin", "train_end",
    "test_begin", "test_end",
    "predict_begin", "predict_end",
)
# Ray <= 2.6 also took "batch_begin"/"batch_end", Keras' old names of the training batch hooks
_ALIASES = {"batch_begin": "train_batch_begin", "batch_end": "train_batch_end"}

Metrics = Union[str, Sequence[str], Mapping[str, str], None]
Hooks = Union[str, Sequence[str]]


def _import_keras() -> Any:
    """Keras 3, or an ImportError that says what to install or set."""
    try:
        import keras
    except ImportError as e:
        if e.name == "keras" or e.name is None and "keras" in str(e):
            raise MissingFrameworkError(
                f"tune_integrations.keras needs Keras 3, which is not installed ({e}). Install it (with JAX "
                'as its backend) with pip install "tune-integrations[keras]"') from None
        backend = os.environ.get("KERAS_BACKEND")
        where = (f"KERAS_BACKEND={backend!r}" if backend else
                 "KERAS_BACKEND is not set, so Keras took the backend of ~/.keras/keras.json (default 'tensorflow')")
        raise MissingFrameworkError(
            f"tune_integrations.keras: Keras could not load its backend: {type(e).__name__}: {e}. {where}. "
            "Set os.environ['KERAS_BACKEND'] = 'jax' (or 'tensorflow', 'torch') before Keras is first imported: "
            "at the top of the script (a local Ray's workers inherit the driver's environment), or inside "
            "the trainable before it imports keras and tune_integrations.keras; or install that backend. "
            'pip install "tune-integrations[keras]" installs Keras with JAX.') from None
    major = str(getattr(keras, "__version__", "0")).split(".")[0]
    if not major.isdigit() or int(major) < 3:
        raise MissingFrameworkError(
            f"tune_integrations.keras needs Keras 3, but Keras {getattr(keras, '__version__', '?')} is installed. "
            'Upgrade with pip install "tune-integrations[keras]"')
    return keras


keras = _import_keras()
_KerasCallback: Any = keras.callbacks.Callback


def _python_value(value: Any) -> Any:
    """A logged value as Python data: numbers (numpy's, JAX's, 0-d arrays) as floats, arrays as lists of them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _python_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_python_value(v) for v in value]
    if hasattr(value, "__array__"):  # numpy, JAX, TensorFlow, PyTorch (CPU) arrays and scalars
        import numpy as np

        try:
            array = np.asarray(value)
        except Exception:  # not convertible: reported as it is
            return value
        if array.dtype.kind == "b":
            return array.tolist()
        if array.dtype.kind in "iuf":
            return float(array) if array.ndim == 0 else _python_value(array.tolist())
    return value


def _check_metrics(metrics: Any, cls: str) -> Union[list[str], dict[str, str], None]:
    """Ray's ``metrics``: None, a name, a list of names or a dict {report name: Keras log name}."""
    return check_metrics(metrics, cls, names_of="Keras log", everything="all of Keras' logs")


def _check_hooks(on: Any, arg: str, cls: str) -> list[str]:
    """``on`` as a list of hook names (a str is one hook); unknown names are a ValueError, as in Ray."""
    hooks = [on] if isinstance(on, str) else list(on) if isinstance(on, Sequence) else None
    if hooks is None or not hooks:
        raise TuneError(f"{cls}({arg}=...) takes a Keras hook name (less the 'on_', e.g. 'epoch_end') or a "
                        f"non-empty list of them, but got {on!r}")
    out: list[str] = []
    for hook in hooks:
        name = _ALIASES.get(hook, hook) if isinstance(hook, str) else hook
        if name not in HOOKS:
            raise ValueError(f"{cls}({arg}=...): invalid trigger time {hook!r}. Must be one of "
                             f"{', '.join(map(repr, HOOKS))}")
        if name not in out:
            out.append(name)
    return out


def _check_frequency(frequency: Any, hooks: list[str], cls: str) -> dict[str, int]:
    """``frequency`` per checkpoint hook: an int >= 0 for all, or a list with one per hook."""
    def valid(n: Any) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n >= 0

    if isinstance(frequency, (list, tuple)):
        if len(frequency) != len(hooks) or not all(valid(n) for n in frequency):
            raise ValueError(f"{cls}(frequency=[...]): a list of frequencies needs one int >= 0 for each hook "
                             f"checkpoints are taken at ({hooks}), but got frequency={list(frequency)!r}")
        return dict(zip(hooks, (int(n) for n in frequency)))
    if not valid(frequency):
        raise TuneError(f"{cls}(frequency=...) is how many times a hook must run between checkpoints (1: every "
                        f"time, 0: never during training), an int >= 0, but got frequency={frequency!r}")
    return dict.fromkeys(hooks, int(frequency))


def _check_filename(filename: Any, cls: str) -> str:
    if not isinstance(filename, str) or not filename or "/" in filename or os.sep in filename \
            or not filename.endswith((".keras", ".h5")) or filename.endswith(".weights.h5"):
        raise TuneError(f"{cls}(filename=...) is the model file's name inside the checkpoint folder, without a "
                        "folder, ending in '.keras' (Keras 3's format, the default 'model.keras') or '.h5' "
                        f"(the legacy one), but got filename={filename!r}")
    return filename


class _TuneCallback(_KerasCallback):
    """Routes the Keras hooks named in ``on`` to :meth:`_handle` (Ray's ``_Callback``)."""

    def __init__(self, on: list[str]) -> None:
        super().__init__()
        self._on = on
        self._epoch = 0  # the index of the epoch running (Keras counts from initial_epoch)
        self._epochs_done = 0  # epochs finished, in all (so initial_epoch included)

    def _handle(self, logs: Optional[Mapping], when: str, epoch: Optional[int] = None,
                batch: Optional[int] = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _hook(self, when: str, logs: Optional[Mapping], epoch: Optional[int] = None,
              batch: Optional[int] = None) -> None:
        if when in self._on:
            self._handle(logs, when, epoch=epoch, batch=batch)

    def on_epoch_begin(self, epoch: int, logs: Optional[Mapping] = None) -> None:
        self._epoch = epoch
        self._epochs_done = epoch
        self._hook("epoch_begin", logs, epoch=epoch)

    def on_epoch_end(self, epoch: int, logs: Optional[Mapping] = None) -> None:
        self._epoch = epoch
        self._epochs_done = epoch + 1
        self._hook("epoch_end", logs, epoch=epoch)

    def on_train_batch_begin(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("train_batch_begin", logs, batch=batch)

    def on_train_batch_end(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("train_batch_end", logs, batch=batch)

    def on_test_batch_begin(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("test_batch_begin", logs, batch=batch)

    def on_test_batch_end(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("test_batch_end", logs, batch=batch)

    def on_predict_batch_begin(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("predict_batch_begin", logs, batch=batch)

    def on_predict_batch_end(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._hook("predict_batch_end", logs, batch=batch)

    def on_train_begin(self, logs: Optional[Mapping] = None) -> None:
        self._hook("train_begin", logs)

    def on_train_end(self, logs: Optional[Mapping] = None) -> None:
        self._hook("train_end", logs)

    def on_test_begin(self, logs: Optional[Mapping] = None) -> None:
        self._hook("test_begin", logs)

    def on_test_end(self, logs: Optional[Mapping] = None) -> None:
        self._hook("test_end", logs)

    def on_predict_begin(self, logs: Optional[Mapping] = None) -> None:
        self._hook("predict_begin", logs)

    def on_predict_end(self, logs: Optional[Mapping] = None) -> None:
        self._hook("predict_end", logs)


class TuneReportCheckpointCallback(_TuneCallback):
    """Keras callback that reports Keras' logs to tunecore and checkpoints the model.

    ``ray.tune.integration.keras.TuneReportCheckpointCallback``. Pass it in ``callbacks=[...]``
    of ``model.fit`` in a function trainable. At each hook in ``report_metrics_on`` (default:
    the end of every epoch) it calls ``tunecore.report`` once with the metrics taken from the
    logs Keras passes the hook (``loss``, ``accuracy``, ``val_loss``... as Python floats), so
    the trial's ``training_iteration`` counts the epochs reported. At a hook in ``checkpoint_on``
    when ``frequency`` says so, the model is saved with ``model.save(<folder>/<filename>)``
    (architecture, weights and optimizer state) and reported as the checkpoint of that result;
    :meth:`get_model` loads it back and :func:`get_initial_epoch` says where to continue.

    Both of Ray's argument sets are taken. Ray 2.0-2.6: ``TuneReportCheckpointCallback(metrics,
    filename, frequency, on)``, one ``on`` for reports and checkpoints. Ray 2.7+:
    ``TuneReportCheckpointCallback(metrics=..., report_metrics_on=..., checkpoint_on=...)``
    (pass these by keyword: Ray 2.7+'s first positional argument is ``checkpoint_on``, here it is
    ``metrics``, as in Ray 2.0-2.6 and in Ray's LightGBM and XGBoost callbacks).

    Args:
        metrics: what to report. None: all of Keras' logs. A name or a list of names
            (``"val_loss"``): those, under the same names. A dict ``{report name: Keras name}``
            (``{"mean_accuracy": "val_accuracy"}``): those, renamed.
        filename: the model file's name in the checkpoint folder, ending in ``.keras``
            (default ``"model.keras"``) or ``.h5``.
        frequency: checkpoint every ``frequency``-th time a checkpoint hook runs (1, default:
            every time; 0: never during training), or a list with one frequency per hook of
            ``checkpoint_on``. At ``epoch_end`` (and ``epoch_begin``) the count is Keras' epoch
            number, which goes on from ``initial_epoch``: with ``frequency=2`` the ends of
            epochs 2, 4, 6... (counting from 1) are checkpointed, in a continued trial too.
        on: the hooks (less the ``on_``) to report and checkpoint at (Ray 2.0-2.6), one of
            :data:`HOOKS` or a list of them. Default ``"epoch_end"``.
        report_metrics_on: the hooks to report at (Ray 2.7+); default: ``on``.
        checkpoint_on: the hooks to checkpoint at (Ray 2.7+); default: ``on``. A checkpoint
            is always reported with the metrics of its hook, whether or not that hook is in
            ``report_metrics_on`` (as in Ray).
        checkpoint_at_end: also checkpoint the trained model at the end of ``fit``, unless the
            last checkpoint already has it: with the report of the last epoch when it is
            reported (``epochs`` reached, or ``model.stop_training`` set by an earlier callback),
            else with one more report of the last metrics reported when ``fit`` ends.

    Differences from Ray Tune, on purpose:
        - Keras 3 on any backend (Ray: TensorFlow's ``tf.keras`` only); the checkpoint is a
          ``.keras`` file (Ray 2.0-2.6: a TensorFlow SavedModel named ``"checkpoint"``).
        - ``frequency`` and ``checkpoint_at_end`` come from Ray's LightGBM/XGBoost callbacks
          (Ray 2.7+'s Keras callback checkpoints at every ``checkpoint_on`` hook, and has no
          ``filename``); the defaults (1, at ``epoch_end``) checkpoint every epoch, as Ray does.
        - Each checkpoint also holds ``tune_keras.json`` (the epochs done), which
          :func:`get_initial_epoch` reads to continue a trial where its checkpoint left off.
        - Arguments are checked when the callback is made, and a metric that is not in Keras'
          logs fails the trial with a message naming the ones that are (Ray: ``KeyError``).
    """

    def __init__(self, metrics: Metrics = None, filename: str = "model.keras", frequency: Union[int, list[int]] = 1,
                 on: Hooks = "epoch_end", *, report_metrics_on: Optional[Hooks] = None,
                 checkpoint_on: Optional[Hooks] = None, checkpoint_at_end: bool = True) -> None:
        cls = type(self).__name__
        on_hooks = _check_hooks(on, "on", cls)
        report_hooks = on_hooks if report_metrics_on is None else _check_hooks(report_metrics_on,
                                                                                "report_metrics_on", cls)
        checkpoint_hooks = on_hooks if checkpoint_on is None else _check_hooks(checkpoint_on, "checkpoint_on", cls)
        super().__init__(report_hooks + [h for h in checkpoint_hooks if h not in report_hooks])
        self._metrics = _check_metrics(metrics, cls)
        self._filename = _check_filename(filename, cls)
        self._report_on = report_hooks
        self._checkpoint_on = checkpoint_hooks
        self._frequency = _check_frequency(frequency, checkpoint_hooks, cls)
        if not isinstance(checkpoint_at_end, bool):
            raise TuneError(f"{cls}(checkpoint_at_end=...) is True or False, but got {checkpoint_at_end!r}")
        self._checkpoint_at_end = checkpoint_at_end
        self._counter: Counter = Counter()
        self._last_metrics: Optional[dict] = None
        self._changed = False  # trained since the last checkpoint

    # -- the hooks -----------------------------------------------------------------------
    def on_train_begin(self, logs: Optional[Mapping] = None) -> None:
        self._changed = False
        super().on_train_begin(logs)

    def on_train_batch_end(self, batch: int, logs: Optional[Mapping] = None) -> None:
        self._changed = True
        super().on_train_batch_end(batch, logs)

    def on_train_end(self, logs: Optional[Mapping] = None) -> None:
        super().on_train_end(logs)
        if self._checkpoint_at_end and self._changed:
            self._report(dict(self._last_metrics or {}), checkpoint=True, when="train_end")

    def _handle(self, logs: Optional[Mapping], when: str, epoch: Optional[int] = None,
                batch: Optional[int] = None) -> None:
        self._counter[when] += 1
        checkpoint = when in self._checkpoint_on and self._due(when, epoch)
        if when == "epoch_end" and self._checkpoint_at_end and self._changed and self._is_last_epoch(epoch):
            checkpoint = True
        if checkpoint or when in self._report_on:
            self._report(self._metrics_of(logs, when), checkpoint=checkpoint, when=when, batch=batch)

    def _due(self, when: str, epoch: Optional[int]) -> bool:
        frequency = self._frequency[when]
        if frequency <= 0:
            return False
        count = epoch + 1 if epoch is not None else self._counter[when]
        return count % frequency == 0

    def _is_last_epoch(self, epoch: Optional[int]) -> bool:
        epochs = (self.params or {}).get("epochs")
        last = epochs is not None and epoch is not None and epoch + 1 >= int(epochs)
        return bool(last or getattr(self._model, "stop_training", False))

    def _metrics_of(self, logs: Optional[Mapping], when: str) -> dict:
        logs = dict(logs or {})
        if self._metrics is None:
            chosen = logs
        else:
            pairs = self._metrics.items() if isinstance(self._metrics, dict) else ((m, m) for m in self._metrics)
            chosen = {}
            for name, key in pairs:
                if key not in logs:
                    raise TuneError(self._missing(key, logs, when))
                chosen[name] = logs[key]
        return {name: _python_value(value) for name, value in chosen.items()}

    def _missing(self, key: str, logs: Mapping, when: str) -> str:
        names = ", ".join(repr(k) for k in logs) or "nothing"
        hint = ""
        if key.startswith("val_") and not any(k.startswith("val_") for k in logs):
            hint = (" Validation metrics are there at epoch_end when model.fit gets validation_data= or "
                    "validation_split=.")
        elif key in ("epoch", "batch"):
            hint = " Keras passes no epoch or batch number in its logs; training_iteration counts the reports."
        return (f"{type(self).__name__}(metrics=...) asks for {key!r}, but Keras' logs at {when} have only "
                f"{names}.{hint}")

    # -- reports and checkpoints ------------------------------------------------------------
    def _report(self, metrics: dict, checkpoint: bool, when: str, batch: Optional[int] = None) -> None:
        self._last_metrics = metrics
        if not checkpoint:
            tunecore.report(metrics)
            return
        folder = tempfile.mkdtemp(prefix="tune-keras-")
        try:
            self.model.save(os.path.join(folder, self._filename))  # self.model: synced from JAX's state first
            state = {"epoch": self._epochs_done, "filename": self._filename, "hook": when,
                     "keras_version": keras.__version__, "backend": keras.backend.backend()}
            if batch is not None:
                state["batch"] = batch
            with open(os.path.join(folder, STATE_FILE), "w", encoding="utf-8") as f:
                json.dump(state, f)
            self._changed = False
            tunecore.report(metrics, checkpoint=tunecore.Checkpoint.from_directory(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @classmethod
    def get_model(cls, checkpoint: tunecore.Checkpoint, filename: Optional[str] = None, **load_kwargs: Any) -> Any:
        """The Keras model saved in a checkpoint of this callback (``keras.saving.load_model``).

        Args:
            checkpoint: a :class:`tunecore.Checkpoint` the callback reported
                (``result.checkpoint``, ``tunecore.get_checkpoint()``, ``result.best_checkpoints``).
            filename: the model file in it; default: the one the callback saved.
            **load_kwargs: passed to ``keras.saving.load_model`` (``custom_objects``,
                ``compile``, ``safe_mode``).

        Returns:
            The model, compiled with its optimizer's state unless ``compile=False``.

        Raises:
            TuneError: ``checkpoint`` is not a checkpoint, or has no such model file.
        """
        return get_model(checkpoint, filename, **load_kwargs)

    @staticmethod
    def get_initial_epoch(checkpoint: Optional[tunecore.Checkpoint]) -> int:
        """The epochs the checkpoint's model was trained for: ``model.fit(initial_epoch=...)``; 0 for None."""
        return get_initial_epoch(checkpoint)


class TuneReportCallback(TuneReportCheckpointCallback):
    """Report Keras' logs, never checkpoint (Ray 2.0-2.6's ``TuneReportCallback(metrics, on)``).

    ``TuneReportCheckpointCallback(metrics, on=on, frequency=0, checkpoint_at_end=False)``.
    Ray 2.7+ removed it (making one raises there); tunecore keeps it for older scripts and warns
    with a ``DeprecationWarning``.
    """

    def __init__(self, metrics: Metrics = None, on: Hooks = "epoch_end") -> None:
        warnings.warn("tune_integrations.keras.TuneReportCallback is deprecated, as in Ray Tune: use "
                      "TuneReportCheckpointCallback(frequency=0, checkpoint_at_end=False)", DeprecationWarning,
                      stacklevel=2)
        super().__init__(metrics=metrics, on=on, frequency=0, checkpoint_at_end=False)


def _read_state(folder: str) -> dict:
    try:
        with open(os.path.join(folder, STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _check_checkpoint(checkpoint: Any, what: str) -> None:
    if not isinstance(checkpoint, tunecore.Checkpoint):
        raise TuneError(f"{what} takes a tunecore.Checkpoint (result.checkpoint, tunecore.get_checkpoint()), "
                        f"but got {type(checkpoint).__name__}: {checkpoint!r}")


def get_model(checkpoint: tunecore.Checkpoint, filename: Optional[str] = None, **load_kwargs: Any) -> Any:
    """The Keras model in a checkpoint of :class:`TuneReportCheckpointCallback` (``keras.saving.load_model``).

    Args:
        checkpoint: the checkpoint (``result.checkpoint``, ``tunecore.get_checkpoint()``).
        filename: the model file in it; default: the one the callback saved (``"model.keras"``).
        **load_kwargs: passed to ``keras.saving.load_model``.

    Raises:
        TuneError: ``checkpoint`` is not a checkpoint, or has no such model file.
    """
    _check_checkpoint(checkpoint, "get_model")
    with checkpoint.as_directory() as folder:
        name = filename or _read_state(folder).get("filename") or "model.keras"
        path = os.path.join(folder, str(name))
        if not os.path.isfile(path):
            files = sorted(f for f in os.listdir(folder) if not f.startswith("."))
            raise TuneError(f"get_model: checkpoint {checkpoint.path!r} has no file {name!r} (it has "
                            f"{', '.join(map(repr, files)) or 'no files'}); pass the filename= the callback saved")
        return keras.saving.load_model(path, **load_kwargs)


def get_initial_epoch(checkpoint: Optional[tunecore.Checkpoint]) -> int:
    """How many epochs the checkpoint's model was trained: pass it as ``model.fit(initial_epoch=...)``.

    Args:
        checkpoint: a checkpoint of :class:`TuneReportCheckpointCallback`, or None (a trial
            starting from scratch: 0).

    Returns:
        The epochs finished when the checkpoint was taken (a checkpoint taken at a batch hook
        counts the epoch it was taken in as not finished).
    """
    if checkpoint is None:
        return 0
    _check_checkpoint(checkpoint, "get_initial_epoch")
    with checkpoint.as_directory() as folder:
        epoch = _read_state(folder).get("epoch", 0)
    return int(epoch) if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 else 0
