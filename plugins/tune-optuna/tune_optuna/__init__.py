"""tune-optuna: OptunaSearch, a model-based tunecore search algorithm on Optuna's ask/tell API."""

from tune_optuna.search import OptunaSearch, reported_constraints

__version__ = "0.1.0"
__all__ = ["OptunaSearch", "__version__", "reported_constraints"]
