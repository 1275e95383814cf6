"""HyperBand, asynchronous HyperBand (ASHA) and multi-objective ASHA trial schedulers for tunecore."""

from tune_hyperband.async_hyperband import AsyncHyperBandScheduler
from tune_hyperband.hyperband import HyperBandScheduler
from tune_hyperband.mo_asha import MOASHAScheduler, MultiObjectiveAsyncHyperBandScheduler

#: Ray Tune 2.x's name for the asynchronous scheduler.
ASHAScheduler = AsyncHyperBandScheduler

__version__ = "0.1.0"

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler", "HyperBandScheduler", "MOASHAScheduler",
           "MultiObjectiveAsyncHyperBandScheduler", "__version__"]
