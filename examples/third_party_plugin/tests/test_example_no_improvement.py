"""The example scheduler: its rule, and tunecore's scheduler contract."""

import pytest
from tune_example_scheduler import NoImprovementStopper

from tunecore import TuneError
from tunecore.schedulers import Decision
from tunecore.testing import SchedulerContract, make_trial


class TestNoImprovementContract(SchedulerContract):
    """Every scheduler subclasses tunecore's conformance suite."""

    @pytest.fixture
    def make_scheduler(self):
        return lambda: NoImprovementStopper(patience=2)


def rewards(scheduler, trial, values):
    return [scheduler.on_trial_result(None, trial, {"episode_reward_mean": v}) for v in values]


def test_stops_after_patience_results_without_a_new_best():
    s = NoImprovementStopper(patience=2)
    t = make_trial()
    assert rewards(s, t, [1, 2, 2, 1.5]) == [Decision.CONTINUE] * 3 + [Decision.STOP]
    assert "num_stopped=1" in s.debug_string()


def test_improvement_resets_the_count():
    s = NoImprovementStopper(patience=2)
    t = make_trial()
    assert rewards(s, t, [1, 1, 3, 3, 4, 4]) == [Decision.CONTINUE] * 6


def test_min_mode_and_min_delta():
    s = NoImprovementStopper(patience=1, metric="mean_loss", mode="min", min_delta=0.1)
    t = make_trial()
    results = [s.on_trial_result(None, t, {"mean_loss": v}) for v in (1.0, 0.5, 0.45)]
    assert results == [Decision.CONTINUE, Decision.CONTINUE, Decision.STOP]


def test_trials_are_judged_separately():
    s = NoImprovementStopper(patience=1)
    a, b = make_trial(), make_trial()
    assert rewards(s, a, [5]) == [Decision.CONTINUE]
    assert rewards(s, b, [1, 2]) == [Decision.CONTINUE, Decision.CONTINUE]
    assert rewards(s, a, [5]) == [Decision.STOP]


@pytest.mark.parametrize("kwargs, message", [
    ({"patience": 0}, "patience must be an int >= 1, but got patience=0"),
    ({"min_delta": -1}, "min_delta must be >= 0, but got min_delta=-1"),
    ({"mode": "best"}, "mode must be 'min' or 'max'"),
])
def test_validation(kwargs, message):
    with pytest.raises(TuneError, match=message):
        NoImprovementStopper(**kwargs)
