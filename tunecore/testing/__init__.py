"""Conformance suites and fakes for testing schedulers, searchers, loggers and syncers.

Every component, in-repo or third-party, proves it keeps its contract by subclassing
the matching suite in its own tests (this module needs pytest)::

    import pytest
    from tunecore.testing import SchedulerContract

    class TestMyScheduler(SchedulerContract):
        @pytest.fixture
        def make_scheduler(self):
            return lambda: MyScheduler(metric="episode_reward_mean", mode="max")

The suites have no ``Test`` prefix, so pytest only collects them through a subclass.
:class:`FakeRunner` (also ``FakeContext``), :func:`make_trial` and :func:`make_result`
drive a scheduler like the runner does, without Ray. :class:`InProcessExecutor` runs
trials in the test's own process, so a real :class:`tunecore.execution.runner.TrialRunner` can be
driven step by step without Ray. :class:`StepTrainable` and :class:`FailsOnce` are small
Trainables for end-to-end tests of checkpoints and recovery. :func:`metric_values`,
:func:`reported_values` and :func:`result_dicts` are hypothesis strategies of the values
users report (numpy scalars of every dtype, 0-d arrays, NaN/±inf, None, nested dicts...);
:func:`as_kind` makes a number of each of :data:`NUMERIC_KINDS`.
"""

from tunecore.testing._executor import InProcessExecutor
from tunecore.testing._fakes import FakeContext, FakeRunner, make_result, make_trial
from tunecore.testing._logger import LoggerContract, feed_logger
from tunecore.testing._scheduler import SchedulerContract
from tunecore.testing._searcher import SearcherContract
from tunecore.testing._syncer import SyncerContract, folder_listing
from tunecore.testing._trainables import FailsOnce, StepTrainable
from tunecore.testing._values import (
                                      NUMERIC_KINDS,
                                      NUMPY_FLOATS,
                                      NUMPY_INTS,
                                      as_kind,
                                      metric_values,
                                      reported_values,
                                      result_dicts,
)
from tunecore.testing._wait import wait_for

__all__ = [
    "NUMERIC_KINDS",
    "NUMPY_FLOATS",
    "NUMPY_INTS",
    "FailsOnce",
    "FakeContext",
    "FakeRunner",
    "InProcessExecutor",
    "LoggerContract",
    "SchedulerContract",
    "SearcherContract",
    "StepTrainable",
    "as_kind",
    "feed_logger",
    "metric_values",
    "reported_values",
    "result_dicts",
    "SyncerContract",
    "folder_listing",
    "make_result",
    "make_trial",
    "wait_for",
]
