"""PBT end to end on real Ray through tunecore.run_experiments: a bottom trial continues from the donor's state."""

from __future__ import annotations

import json
import os

import pytest

import tunecore
from tune_pbt import PopulationBasedTraining, PopulationBasedTrainingReplay, load_schedule, replay_schedule


class Accumulator(tunecore.Trainable):
    """State: one number, growing by ``config["rate"]`` per iteration."""

    def _setup(self, config):
        self.value = 0.0

    def _train(self):
        self.value += self.config["rate"]
        return {"value": self.value, "episode_reward_mean": self.value}

    def _save(self, checkpoint_dir):
        return {"value": self.value}

    def _restore(self, state):
        self.value = state["value"]

    def reset_config(self, new_config):
        self.config = new_config
        return True


def rows(logdir):
    with open(os.path.join(logdir, "result.json")) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_pbt(results_dir, cpu):
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                  hyperparam_mutations={"rate": [1.0, 10.0, 100.0, 1000.0]},
                                  resample_probability=0.0, seed=1, verbose=False)
    trials = tunecore.run_experiments(
        {"pbt_e2e": {"run": Accumulator, "stop": {"training_iteration": 8},
                     "config": {"rate": tunecore.grid_search([1.0, 10.0, 100.0, 1000.0])},
                     "trial_resources": {"cpu": cpu}, "local_dir": results_dir}},
        scheduler=pbt, verbose=False)
    return pbt, trials


@pytest.fixture(scope="module")
def pbt_run(ray_session, tmp_path_factory):
    """One PBT experiment shared by the tests of this module.

    Four trials, two at a time (2 CPUs each on the 4-CPU test Ray): at each perturbation
    point PBT pauses the reporting trial while others wait, so the population advances
    in step whatever the machine's load, and the bottom trials exploit the top ones.
    """
    results_dir = str(tmp_path_factory.mktemp("pbt_e2e"))
    pbt, trials = run_pbt(results_dir, cpu=2)
    return results_dir, pbt, trials


def test_bottom_trial_continues_from_the_donors_state(pbt_run):
    results_dir, pbt, trials = pbt_run
    assert all(t.status == "TERMINATED" for t in trials)
    by_id = {t.trial_id: t for t in trials}
    records = load_schedule(os.path.join(results_dir, "pbt_e2e"))
    assert records, "the bottom trials must have exploited the top ones"
    assert pbt.debug_string() == (f"PopulationBasedTraining: {pbt._num_checkpoints} checkpoints, "
                                  f"{len(records)} perturbs")
    for rec in records:
        trial, donor = by_id[rec["trial_id"]], by_id[rec["source_trial"]]
        own = rows(trial.logdir)
        at = next(i for i, r in enumerate(own)
                  if r["training_iteration"] == rec["iteration"] and r["config"] == rec["old_config"])
        nxt = own[at + 1]
        # It continues from the donor's checkpoint: the donor's counter and value, plus the new rate.
        assert nxt["training_iteration"] == rec["source_iteration"] + 1
        donor_values = {r["value"] for r in rows(donor.logdir) if r["training_iteration"] == rec["source_iteration"]}
        assert nxt["value"] - rec["new_config"]["rate"] in donor_values
        assert nxt["config"]["rate"] == rec["new_config"]["rate"]
        assert rec["old_config"]["rate"] != rec["new_config"]["rate"] or rec["old_config"] == rec["new_config"]
    # One train() at a time: iterations are consecutive except where an exploit
    # switched the trial to the donor's counter.
    for trial in trials:
        jumps = {(r["iteration"], r["source_iteration"]) for r in records if r["trial_id"] == trial.trial_id}
        its = [r["training_iteration"] for r in rows(trial.logdir)]
        for a, b in zip(its, its[1:]):
            assert b == a + 1 or (a, b - 1) in jumps, (trial, its)
        assert its[-1] == 8
    # The rate-1 trial (alone it would end at 8) was replaced by a better lineage.
    slowest = next(t for t in trials if t.experiment_tag.startswith("0_"))
    assert slowest.trial_id in {r["trial_id"] for r in records}
    assert slowest.last_result["value"] > 8
    # params.json shows the trial's current config
    for trial in trials:
        with open(os.path.join(trial.logdir, "params.json")) as f:
            assert json.load(f)["rate"] == trial.config["rate"]


def test_replay_reproduces_an_exploited_trials_schedule(pbt_run, results_dir):
    pbt_dir, _, trials = pbt_run
    exp_dir = os.path.join(pbt_dir, "pbt_e2e")
    schedules = {t.trial_id: replay_schedule(exp_dir, t.trial_id) for t in trials}
    best = max(trials, key=lambda t: (len(schedules[t.trial_id]), t.last_result["value"]))
    schedule = schedules[best.trial_id]
    assert len(schedule) >= 2, "the replayed trial must have switched config at least once"
    assert schedule[0]["iteration"] == 0
    replay = PopulationBasedTrainingReplay(exp_dir, best.trial_id, verbose=False)
    (trial,) = tunecore.run_experiments(
        {"replay": {"run": Accumulator, "stop": {"training_iteration": 8}, "config": {"rate": 0.0},
                    "local_dir": results_dir}},
        scheduler=replay, verbose=False)
    assert trial.status == "TERMINATED"
    switches = [e for e in trial.events if e.get("event") == "pbt_replay"]
    assert [e["iteration"] for e in switches] == [step["iteration"] for step in schedule[1:]]
    # Same config schedule, same deterministic trainable: same final state.
    assert trial.last_result["value"] == best.last_result["value"]
    assert trial.config == best.config

