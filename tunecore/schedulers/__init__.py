"""Trial schedulers: the base class and the core's defaults."""

from tunecore.schedulers._base import Decision, SchedulerContext, TrialScheduler
from tunecore.schedulers.fifo import FIFOScheduler
from tunecore.schedulers.median_stopping import MedianStoppingRule

__all__ = ["Decision", "FIFOScheduler", "MedianStoppingRule", "SchedulerContext", "TrialScheduler"]
