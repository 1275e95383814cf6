"""HyperBand and asynchronous HyperBand (ASHA) trial schedulers for tunecore."""

from tune_hyperband.async_hyperband import AsyncHyperBandScheduler
from tune_hyperband.hyperband import HyperBandScheduler

#: Ray Tune 2.x's name for the asynchronous scheduler.
ASHAScheduler = AsyncHyperBandScheduler

__version__ = "0.1.0"

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler", "HyperBandScheduler", "__version__"]
