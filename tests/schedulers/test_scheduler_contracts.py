"""The core schedulers pass tunecore.testing.SchedulerContract."""

import pytest

from tunecore.schedulers import FIFOScheduler, MedianStoppingRule
from tunecore.testing import SchedulerContract


class TestFIFOContract(SchedulerContract):
    @pytest.fixture
    def make_scheduler(self):
        return FIFOScheduler


class TestMedianStoppingContract(SchedulerContract):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: MedianStoppingRule(time_attr="training_iteration", grace_period=2,
                                          min_samples_required=1, verbose=False)


class TestSoftMedianStoppingContract(SchedulerContract):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: MedianStoppingRule(time_attr="training_iteration", grace_period=2,
                                          min_samples_required=1, hard_stop=False, verbose=False)
