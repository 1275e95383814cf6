"""tunecore: hyperparameter tuning on Ray. ``import tunecore as tune`` reads like the guide."""

from tunecore._version import __version__
from tunecore.analysis import Analysis
from tunecore.errors import TrialError, TuneError
from tunecore.execution.retention import CheckpointConfig
from tunecore.experiment import Experiment
from tunecore.hookspecs import hookimpl
from tunecore.search.sample import choice, loguniform, quniform, randint, randn, sample_from, uniform

# --- search space (owned by tunecore/variants.py and tunecore/sample.py) ---
from tunecore.search.variants import function, grid_search
from tunecore.trainables.checkpoint import Checkpoint
from tunecore.trainables.registry import register_trainable
from tunecore.trainables.session import TrainContext, get_checkpoint, get_context, report
from tunecore.trainables.trainable import Trainable
from tunecore.trainables.wrappers import with_parameters, with_resources
from tunecore.tune import run, run_experiments
from tunecore.util import get_pinned_object, pin_in_object_store

__all__ = [
    "Analysis",
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
    "loguniform",
    "pin_in_object_store",
    "quniform",
    "randint",
    "randn",
    "register_trainable",
    "sample_from",
    "uniform",
]
