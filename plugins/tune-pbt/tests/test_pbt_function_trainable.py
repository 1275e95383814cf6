"""PBT exploits a Ray Tune 2.x function trainable through the checkpoints it reports."""

from __future__ import annotations

import json
import os
import tempfile

import tunecore
from tune_pbt import PopulationBasedTraining, load_schedule


def accumulate(config):
    """State: one number, growing by ``config["rate"]`` per iteration, kept in a reported checkpoint."""
    value = 0.0
    start = tunecore.get_checkpoint()
    if start is not None:
        with start.as_directory() as folder, open(os.path.join(folder, "value.json")) as f:
            value = json.load(f)
    while True:
        value += config["rate"]
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "value.json"), "w") as f:
                json.dump(value, f)
            tunecore.report({"value": value, "episode_reward_mean": value},
                            checkpoint=tunecore.Checkpoint.from_directory(folder))


def rows(logdir):
    with open(os.path.join(logdir, "result.json")) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_bottom_function_trials_continue_from_the_donors_reported_checkpoint(ray_session, tmp_path):
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                  hyperparam_mutations={"rate": [1.0, 10.0, 100.0, 1000.0]},
                                  resample_probability=0.0, seed=1, verbose=False)
    trials = tunecore.run_experiments(
        {"pbt_fn": {"run": accumulate, "stop": {"training_iteration": 8},
                    "config": {"rate": tunecore.grid_search([1.0, 10.0, 100.0, 1000.0])},
                    "trial_resources": {"cpu": 2}, "local_dir": str(tmp_path),
                    "checkpoint_config": {"num_to_keep": 1}}},
        scheduler=pbt, verbose=False)
    assert all(t.status == "TERMINATED" for t in trials)
    by_id = {t.trial_id: t for t in trials}
    records = load_schedule(os.path.join(str(tmp_path), "pbt_fn"))
    assert records, "the bottom trials must have exploited the top ones"
    for rec in records:
        trial, donor = by_id[rec["trial_id"]], by_id[rec["source_trial"]]
        own = rows(trial.logdir)
        at = next(i for i, r in enumerate(own)
                  if r["training_iteration"] == rec["iteration"] and r["config"] == rec["old_config"])
        nxt = own[at + 1]
        # the donor's state at its checkpoint, plus one step at the new rate
        assert nxt["training_iteration"] == rec["source_iteration"] + 1
        donor_values = {r["value"] for r in rows(donor.logdir) if r["training_iteration"] == rec["source_iteration"]}
        assert nxt["value"] - rec["new_config"]["rate"] in donor_values
    slowest = next(t for t in trials if t.experiment_tag.startswith("0_"))
    assert slowest.trial_id in {r["trial_id"] for r in records}
    assert slowest.last_result["value"] > 8
    # retention kept one checkpoint per trial, though donors' states were copied from older ones
    for trial in trials:
        assert len([d for d in os.listdir(trial.logdir) if d.startswith("checkpoint_")]) == 1
