"""tunecore: hyperparameter tuning on Ray. ``import tunecore as tune`` reads like the guide."""

from tunecore._version import __version__
from tunecore.analysis import Analysis
from tunecore.callback import Callback
from tunecore.errors import TrialError, TuneError
from tunecore.execution.retention import CheckpointConfig
from tunecore.experiment import Experiment
from tunecore.hookspecs import hookimpl
from tunecore.search.sample import (
    choice,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tunecore.search.variants import function, grid_search
from tunecore.trainables.checkpoint import Checkpoint
from tunecore.trainables.registry import register_trainable
from tunecore.trainables.session import TrainContext, get_checkpoint, get_context, report
from tunecore.trainables.trainable import Trainable
from tunecore.trainables.wrappers import with_parameters, with_resources
from tunecore.tune import run, run_experiments
from tunecore.tune_config import FailureConfig, RunConfig, TuneConfig
from tunecore.tuner import Tuner
from tunecore.util import get_pinned_object, pin_in_object_store


def __getattr__(name: str):  # the result classes and stoppers load on first use
    if name in ("ResultGrid", "Result"):
        from tunecore import result_grid

        return getattr(result_grid, name)
    if name == "Stopper":
        from tunecore.stopper import Stopper

        return Stopper
    raise AttributeError(f"module 'tunecore' has no attribute {name!r}")


__all__ = [
    "Analysis",
    "Callback",
    "FailureConfig",
    "Result",
    "ResultGrid",
    "RunConfig",
    "Stopper",
    "TuneConfig",
    "Tuner",
    "Checkpoint",
    "CheckpointConfig",
    "TrainContext",
    "get_checkpoint",
    "get_context",
    "report",
    "with_parameters",
    "with_resources",
    "Trainable",
    "run",
    "run_experiments",
    "Experiment",
    "TrialError",
    "TuneError",
    "__version__",
    "choice",
    "function",
    "get_pinned_object",
    "grid_search",
    "hookimpl",
    "lograndint",
    "loguniform",
    "pin_in_object_store",
    "qloguniform",
    "qlograndint",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "register_trainable",
    "sample_from",
    "uniform",
]
