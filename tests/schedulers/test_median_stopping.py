"""MedianStoppingRule against the reference expectations"""

import pytest

from tunecore.errors import TuneError
from tunecore.schedulers import Decision, MedianStoppingRule, TrialScheduler
from tunecore.testing import FakeRunner, make_trial
from tunecore.trial import TrialStatus

CONTINUE, PAUSE, STOP = Decision.CONTINUE, Decision.PAUSE, Decision.STOP


def result(t, reward, **extra):
    return dict(time_total_s=t, episode_reward_mean=reward, **extra)


def basic_setup(rule):
    """Trial A reports (i, 100·i) for i=0..9, trial B (i, 450) for i=0..4; none is stopped."""
    a, b = make_trial(), make_trial()
    for i in range(10):
        assert rule.on_trial_result(None, a, result(i, i * 100)) == CONTINUE
    for i in range(5):
        assert rule.on_trial_result(None, b, result(i, 450)) == CONTINUE
    return a, b


def test_median_stopping_reference_sequence():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=False)
    a, b = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    assert rule.on_trial_result(None, b, result(5, 450)) == CONTINUE  # median 250
    assert rule.on_trial_result(None, b, result(6, 0)) == CONTINUE  # median 300
    assert rule.on_trial_result(None, b, result(10, 450)) == STOP  # median 500
    assert rule.debug_string() == "Using MedianStoppingRule: num_stopped=1."


def test_median_at_reference_times():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=False)
    a, _ = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    assert rule._median_at(5) == 250
    assert rule._median_at(6) == 300
    assert rule._median_at(10) == 500


def test_nothing_stopped_before_any_trial_completes():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=False)
    a, b = basic_setup(rule)
    weak = make_trial()
    for t in range(1, 20):
        assert rule.on_trial_result(None, weak, result(t, -1000)) == CONTINUE


def test_grace_period():
    rule = MedianStoppingRule(grace_period=2.5, min_samples_required=1, verbose=False)
    a, b = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    rule.on_trial_complete(None, b, result(10, 1000))
    c = make_trial()
    assert rule.on_trial_result(None, c, result(1, 10)) == CONTINUE
    assert rule.on_trial_result(None, c, result(2, 10)) == CONTINUE
    assert rule.on_trial_result(None, c, result(3, 10)) == STOP


def test_min_samples_required():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=2, verbose=False)
    a, b = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    c = make_trial()
    assert rule.on_trial_result(None, c, result(3, 10)) == CONTINUE
    rule.on_trial_complete(None, b, result(10, 1000))
    assert rule.on_trial_result(None, c, result(3, 10)) == STOP


def test_comparisons_are_strict():
    rule = MedianStoppingRule(grace_period=3, min_samples_required=1, verbose=False)
    a = make_trial()
    rule.on_trial_result(None, a, result(1, 100))
    rule.on_trial_complete(None, a, result(10, 100))
    equal, early = make_trial(), make_trial()
    assert rule.on_trial_result(None, equal, result(5, 100)) == CONTINUE  # best == median
    assert rule.on_trial_result(None, early, result(3, 0)) == CONTINUE  # t == grace_period
    assert rule.on_trial_result(None, early, result(4, 0)) == STOP


def test_soft_stop_pauses_once_then_continues_forever():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, hard_stop=False, verbose=False)
    assert rule.requires_checkpointing
    a, b = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    assert rule.on_trial_result(None, b, result(10, 450)) == PAUSE
    for t in range(11, 15):
        assert rule.on_trial_result(None, b, result(t, 0)) == CONTINUE


def test_removed_paused_trial_with_results_counts_as_completed():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, hard_stop=False, verbose=False)
    a = make_trial()
    for t in range(1, 4):
        rule.on_trial_result(None, a, result(t, 100))
    a.status = TrialStatus.PAUSED
    rule.on_trial_remove(None, a)
    weak = make_trial()
    assert rule.on_trial_result(None, weak, result(2, 1)) == PAUSE
    # a PENDING trial without results does not count
    rule2 = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=False)
    pending = make_trial()
    rule2.on_trial_remove(None, pending)
    assert rule2.on_trial_result(None, make_trial(), result(2, 1)) == CONTINUE


def test_soft_stopped_trial_resumes_only_when_nothing_is_pending():
    rule = MedianStoppingRule(time_attr="training_iteration", grace_period=0, min_samples_required=1,
                              hard_stop=False, verbose=False)
    runner = FakeRunner(rule, cpus=1)
    strong = runner.add_trial(make_trial({"quality": 10.0}))
    weak = runner.add_trial(make_trial({"quality": 1.0}))
    other = runner.add_trial(make_trial({"quality": 20.0}))
    runner.start_trial(runner.choose())
    assert strong.status == TrialStatus.RUNNING
    runner.report(strong)
    runner.complete(strong)
    assert runner.choose() is weak
    runner.start_trial(weak)
    assert runner.report(weak) == PAUSE  # best 1 < median 10 at t=1
    assert weak.status == TrialStatus.PAUSED
    assert runner.choose() is other  # PENDING before PAUSED
    runner.run(max_iterations=4)
    assert runner.started == [strong.trial_id, weak.trial_id, other.trial_id, weak.trial_id]
    assert all(t.status == TrialStatus.TERMINATED for t in runner.trials)


def test_metric_and_mode_min():
    rule = MedianStoppingRule(metric="mean_loss", mode="min", grace_period=0, min_samples_required=1,
                              verbose=False)
    good = make_trial()
    for t in range(1, 4):
        rule.on_trial_result(None, good, dict(time_total_s=t, mean_loss=1.0))
    rule.on_trial_complete(None, good, dict(time_total_s=4, mean_loss=1.0))
    bad = make_trial()
    assert rule.on_trial_result(None, bad, dict(time_total_s=1, mean_loss=0.5)) == CONTINUE
    assert rule.on_trial_result(None, make_trial(), dict(time_total_s=1, mean_loss=5.0)) == STOP


def test_alternate_time_and_reward_attr():
    rule = MedianStoppingRule(time_attr="training_iteration", reward_attr="mean_accuracy",
                              grace_period=0, min_samples_required=1, verbose=False)
    a = make_trial()
    rule.on_trial_complete(None, a, dict(training_iteration=1, mean_accuracy=0.9))
    assert rule.on_trial_result(None, make_trial(), dict(training_iteration=1, mean_accuracy=0.1)) == STOP


def test_result_without_metric_continues():
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=False)
    a, _ = basic_setup(rule)
    rule.on_trial_complete(None, a, result(10, 1000))
    assert rule.on_trial_result(None, make_trial(), dict(time_total_s=5)) == CONTINUE


def test_verbose_messages(capsys):
    rule = MedianStoppingRule(grace_period=0, min_samples_required=1, verbose=True)
    a = make_trial()
    rule.on_trial_complete(None, a, result(1, 100))
    b = make_trial()
    assert rule.on_trial_result(None, b, result(2, 0)) == STOP
    out = capsys.readouterr().out
    assert f"Trial {b} best res=0.0 vs median res=100.0 at t=2" in out
    assert f"MedianStoppingRule: early stopping {b}" in out


def test_defaults_and_validation():
    rule = MedianStoppingRule()
    assert rule.metric == "episode_reward_mean" and rule.mode == "max"
    assert isinstance(rule, TrialScheduler) and not rule.requires_checkpointing
    with pytest.raises(TuneError, match="grace_period must be >= 0, but got grace_period=-1"):
        MedianStoppingRule(grace_period=-1)
    with pytest.raises(TuneError, match="min_samples_required"):
        MedianStoppingRule(min_samples_required=0)
    with pytest.raises(TuneError, match="mode must be 'min' or 'max'"):
        MedianStoppingRule(mode="up")
