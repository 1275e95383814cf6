"""PopulationBasedTraining's decision rules, driven through tunecore.testing.FakeRunner."""

from __future__ import annotations

import json

import pytest

from tune_pbt import PopulationBasedTraining
from tunecore.errors import TuneError
from tunecore.schedulers import Decision
from tunecore.testing import FakeRunner, SchedulerContract, make_trial
from tunecore.trial import TrialStatus


def res(t, score, iteration=None):
    return {"training_iteration": iteration if iteration is not None else t, "time_total_s": float(t),
            "episode_reward_mean": score}


def make_pbt(**kw):
    kw.setdefault("time_attr", "training_iteration")
    kw.setdefault("perturbation_interval", 10)
    kw.setdefault("hyperparam_mutations", {"float_factor": lambda: 100.0, "int_factor": lambda: 10,
                                           "id_factor": [100]})
    kw.setdefault("resample_probability", 0.0)
    kw.setdefault("seed", 0)
    kw.setdefault("verbose", False)
    return PopulationBasedTraining(**kw)


def population(scheduler, scores=(0, 50, 100, 150, 200), cpus=None):
    """Five running trials that each reported ``scores[i]`` at t=10 (spec's reference setup)."""
    runner = FakeRunner(scheduler, cpus=cpus or len(scores))
    trials = [runner.add_trial(make_trial({"float_factor": 2.0, "int_factor": 10, "id_factor": i},
                                          experiment_tag=f"{i}_tag")) for i in range(len(scores))]
    for trial in trials:
        runner.start_trial(trial)
    for trial, score in zip(trials, scores):
        assert runner.report(trial, res(10, score)) == Decision.CONTINUE
    return runner, trials


# -- constructor ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"hyperparam_mutations": {}}, "hyperparam_mutations must name at least one hyperparameter"),
    ({"perturbation_interval": 0}, "perturbation_interval must be > 0, but got perturbation_interval=0"),
    ({"resample_probability": 1.5},
     "resample_probability must be between 0 and 1, but got resample_probability=1.5"),
    ({"quantile_fraction": 0.6}, "quantile_fraction must be > 0 and <= 0.5, but got quantile_fraction=0.6"),
    ({"quantile_fraction": 0}, "quantile_fraction must be > 0 and <= 0.5, but got quantile_fraction=0"),
    ({"custom_explore_fn": 3}, "custom_explore_fn must be a function"),
    ({"mode": "up"}, "mode must be 'min' or 'max', but got mode='up'"),
    ({"hyperparam_mutations": {"lr": "fast"}}, r"hyperparam_mutations\['lr'\] must be a list of values"),
])
def test_constructor_validation(kwargs, message):
    with pytest.raises(TuneError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_pbt(**kwargs)


def test_custom_explore_fn_alone_is_enough():
    pbt = make_pbt(hyperparam_mutations=None, custom_explore_fn=lambda c: c)
    assert pbt.requires_checkpointing is True


def test_registered_as_pbt():
    import tunecore.plugins as plugins

    manager = plugins.discover()
    assert manager.schedulers.get("pbt") is PopulationBasedTraining
    made = manager.schedulers.create({"name": "pbt", "hyperparam_mutations": {"lr": {"uniform": [0, 1]}},
                                      "metric": "loss", "mode": "min"})
    assert isinstance(made, PopulationBasedTraining) and made.metric == "loss" and made.mode == "min"


# -- the reference expectations ----------------------------------------------------------------
def test_no_change_between_perturbation_points():
    pbt = make_pbt()
    runner, trials = population(pbt)
    before = list(runner.requests)
    assert runner.report(trials[0], res(15, -10)) == Decision.CONTINUE
    assert runner.requests == before
    assert trials[0].config["id_factor"] == 0


def test_quantiles_checkpoint_top_and_exploit_bottom():
    pbt = make_pbt()
    runner, trials = population(pbt)
    # At t=10 the two top trials of five (ceil(5 * 0.25) = 2) were checkpointed as they ranked.
    assert ("save", trials[4].trial_id) in runner.requests
    assert pbt.debug_string() == f"PopulationBasedTraining: {pbt._num_checkpoints} checkpoints, 0 perturbs"

    runner.requests.clear()
    runner.report(trials[3], res(20, 150))  # still top: checkpointed again
    assert runner.requests == [("save", trials[3].trial_id)]

    runner.requests.clear()
    runner.report(trials[0], res(20, -100))  # bottom: exploits trial 3 or 4
    assert runner.requests == [("exploit", trials[0].trial_id)]
    trial_id, checkpoint, config, tag, record = runner.exploits[-1]
    donor_id = checkpoint.value["trial_id"]
    assert donor_id in (trials[3].trial_id, trials[4].trial_id)
    assert config["id_factor"] == 100  # the donor's value is not in the list [100]: resampled from it
    assert config["float_factor"] in (pytest.approx(1.6), pytest.approx(2.4))
    assert config["int_factor"] in (8, 12)
    assert trials[0].config == config
    assert tag.startswith("0_tag@perturbed[") and "int_factor=" in tag and "float_factor=" in tag
    # the record a user can replay from
    assert record["event"] == "pbt_exploit"
    assert record["iteration"] == 20 and record["source_trial"] == donor_id
    assert record["old_config"]["id_factor"] == 0 and record["new_config"] == config
    assert record["source_iteration"] in (10, 20)
    json.dumps(record)
    assert pbt.debug_string().endswith(", 1 perturbs")


def test_middle_trial_neither_checkpoints_nor_exploits():
    pbt = make_pbt()
    runner, trials = population(pbt)
    runner.requests.clear()
    runner.report(trials[2], res(20, 100))
    assert runner.requests == []


def test_exploited_trial_takes_the_donors_perturbation_time_and_state():
    pbt = make_pbt()
    runner, trials = population(pbt)
    runner.report(trials[4], res(20, 300))
    runner.report(trials[0], res(20, -100))
    _, checkpoint, *_ = runner.exploits[-1]
    assert runner.iteration(trials[0]) == checkpoint.iteration  # continues from the donor's state
    # Next perturbation point of the exploited trial is relative to the donor's last one.
    runner.requests.clear()
    runner.report(trials[0], res(25, -100))
    assert runner.requests == []


def test_mode_min_ranks_low_values_on_top():
    pbt = make_pbt(metric="episode_reward_mean", mode="min")
    runner, trials = population(pbt)
    runner.requests.clear()
    runner.report(trials[0], res(20, 0))  # the best when minimising: checkpointed
    assert runner.requests == [("save", trials[0].trial_id)]
    runner.report(trials[4], res(20, 500))  # the worst when minimising
    assert runner.requests[-1] == ("exploit", trials[4].trial_id)
    assert runner.exploits[-1][1].value["trial_id"] == trials[0].trial_id


def test_quantile_fraction_is_configurable():
    pbt = make_pbt(quantile_fraction=0.5)
    runner, trials = population(pbt, scores=(0, 10, 20, 30, 40, 50))
    runner.requests.clear()
    runner.report(trials[2], res(20, 20))  # bottom half of six
    assert runner.requests == [("exploit", trials[2].trial_id)]
    runner.requests.clear()
    runner.report(trials[3], res(20, 30))  # top half of six
    assert runner.requests == [("save", trials[3].trial_id)]


def test_single_trial_has_no_quantiles():
    pbt = make_pbt()
    runner, (trial,) = population(pbt, scores=(5,))
    runner.report(trial, res(20, 1))
    assert runner.requests == []


def test_donor_without_checkpoint_is_skipped(capsys):
    pbt = make_pbt()
    runner, trials = population(pbt, scores=(0, 50, 100, 150, 200))
    runner.report(trials[4], res(20, 50))  # drops: its checkpoint is cleared
    runner.report(trials[2], res(20, 1000))  # rises to the top: checkpointed
    runner.requests.clear()
    runner.report(trials[0], res(20, -100))  # top two: 2 and 3 -> both have checkpoints
    assert runner.exploits[-1][1].value["trial_id"] in (trials[2].trial_id, trials[3].trial_id)
    # A trial that rises to the top while others fall has no checkpoint: when no top trial
    # has one, the bottom trial goes on with its own state.
    for trial in trials:
        pbt._trial_state[trial.trial_id].last_checkpoint = None
    runner.requests.clear()
    runner.report(trials[4], res(30, -500))
    assert runner.requests == []
    assert "has a checkpoint yet" in capsys.readouterr().err


def test_finished_trials_are_not_ranked_and_drop_their_checkpoint():
    pbt = make_pbt()
    runner, trials = population(pbt)
    runner.complete(trials[4], res(11, 200))
    runner.complete(trials[3], res(11, 150))
    assert pbt._trial_state[trials[4].trial_id].last_checkpoint is None
    runner.requests.clear()
    runner.report(trials[0], res(20, -100))  # live: 0,1,2 -> donor is trial 2
    assert runner.exploits[-1][1].value["trial_id"] == trials[2].trial_id


def test_missing_time_attr_is_a_clear_error():
    pbt = make_pbt(time_attr="timesteps_total")
    runner = FakeRunner(pbt)
    trial = runner.add_trial(make_trial({"float_factor": 1.0}))
    runner.start_trial(trial)
    with pytest.raises(TuneError, match="time_attr 'timesteps_total' is not in the result"):
        pbt.on_trial_result(runner, trial, res(10, 1))


# -- yielding and choosing ----------------------------------------------------------------------
def test_pending_trial_makes_others_pause_and_is_then_chosen():
    pbt = make_pbt()
    runner, trials = population(pbt, cpus=5)
    waiting = runner.add_trial(make_trial({"float_factor": 1.0, "int_factor": 1, "id_factor": 9}))
    assert runner.report(trials[2], res(20, 100)) == Decision.PAUSE
    assert trials[2].status == TrialStatus.PAUSED
    assert runner.choose() is waiting  # never ran: perturbation time 0, the most behind


def test_between_points_no_pause_even_if_others_wait():
    pbt = make_pbt()
    runner, trials = population(pbt)
    runner.add_trial(make_trial({"float_factor": 1.0}))
    assert runner.report(trials[2], res(15, 100)) == Decision.CONTINUE


def test_choose_the_trial_with_the_lowest_last_perturbation_time():
    pbt = make_pbt()
    runner = FakeRunner(pbt, cpus=1)
    trials = [runner.add_trial(make_trial({"float_factor": 1.0, "int_factor": 1, "id_factor": 0}))
              for _ in range(3)]
    times = {trials[0]: 30, trials[1]: 10, trials[2]: 20}
    for trial in trials:
        runner.start_trial(trial)
        assert runner.report(trial, res(times[trial], 1.0)) == Decision.PAUSE or trial is trials[2]
        if trial.status == TrialStatus.RUNNING:
            trial.status = TrialStatus.PAUSED
    assert [t.status for t in trials] == [TrialStatus.PAUSED] * 3
    assert runner.choose() is trials[1]
    runner.start_trial(trials[1])
    assert runner.choose() is None  # one CPU, taken


def test_seeded_runs_are_reproducible():
    def run(seed):
        pbt = make_pbt(seed=seed)
        runner, trials = population(pbt)
        for t in (20, 30, 40):
            for trial, score in zip(trials, (0, 50, 100, 150, 200)):
                if trial.status == TrialStatus.RUNNING:
                    runner.report(trial, res(t, score))
        ids = [t.trial_id for t in trials]
        return [(ids.index(e[0]), ids.index(e[1].value["trial_id"]), e[2]) for e in runner.exploits]

    assert run(3) == run(3)
    assert run(3)


def test_save_state_restores_counters_and_times():
    pbt = make_pbt()
    runner, trials = population(pbt)
    runner.report(trials[0], res(20, -100))
    state = json.loads(json.dumps(pbt.save_state()))
    fresh = make_pbt()
    fresh.restore_state(state)
    assert fresh.debug_string() == pbt.debug_string()
    assert fresh._trial_state[trials[0].trial_id].last_perturbation_time == \
        pbt._trial_state[trials[0].trial_id].last_perturbation_time


class TestPBTContract(SchedulerContract):
    num_trials = 8
    max_iterations = 12
    cpus = 2

    @pytest.fixture
    def make_scheduler(self):
        return lambda: PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                               hyperparam_mutations={"quality": lambda: 1.0}, seed=0,
                                               verbose=False)

    def test_full_experiment_perturbs(self, make_scheduler):
        scheduler = make_scheduler()
        runner = self.runner(scheduler)
        runner.add_trials(self.num_trials)
        runner.run(max_iterations=self.max_iterations)
        assert runner.exploits, "a population of 8 with different qualities must exploit"
        assert any(d == Decision.PAUSE for _, d in runner.decisions)
