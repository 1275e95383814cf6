"""Reading the recorded PBT schedule back (load_schedule, trial_lineage) and replaying it."""

from __future__ import annotations

import json
import os

import pytest

from tune_pbt import PopulationBasedTrainingReplay, load_schedule, replay_schedule, trial_lineage
from tunecore.errors import TuneError
from tunecore.testing import FakeRunner, make_trial


def rec(seq, trial, it, src, src_it, src_seq, old, new):
    return {"event": "pbt_exploit", "seq": seq, "trial_id": trial, "iteration": it, "source_trial": src,
            "source_iteration": src_it, "source_checkpoint_seq": src_seq,
            "old_config": {"lr": old}, "new_config": {"lr": new}}


# B took A's state at A's iteration 4 (lr 2); later C took B's state at B's iteration 8 (lr 3).
# A checkpoint taken after B's exploit (seq 10) sees it; one taken before (seq 1) does not.
RECORDS = [rec(2, "B", 4, "A", 4, 1, 0.5, 2.0), rec(11, "C", 8, "B", 8, 10, 0.1, 3.0)]


def test_lineage_follows_the_donor_chain():
    schedule = trial_lineage(RECORDS, "C", {"A": {"lr": 1.0}})
    assert schedule == [{"iteration": 0, "config": {"lr": 1.0}}, {"iteration": 4, "config": {"lr": 2.0}},
                        {"iteration": 8, "config": {"lr": 3.0}}]


def test_lineage_ignores_exploits_after_the_donors_checkpoint():
    records = [rec(5, "B", 4, "A", 4, 1, 0.5, 2.0), rec(3, "C", 6, "B", 2, 2, 0.1, 3.0)]
    # C copied B at seq 2, before B's own exploit (seq 5): B's lineage then is its own start.
    assert trial_lineage(records, "C", {}) == [{"iteration": 0, "config": {"lr": 0.5}},
                                               {"iteration": 2, "config": {"lr": 3.0}}]


def test_lineage_of_a_trial_never_exploited_needs_its_params():
    assert trial_lineage([], "A", {"A": {"lr": 1.0}}) == [{"iteration": 0, "config": {"lr": 1.0}}]
    with pytest.raises(TuneError, match="No config recorded for trial 'A'"):
        trial_lineage([], "A", {})


def test_load_schedule_and_replay_schedule_read_the_experiment_folder(tmp_path):
    for tid, records, config in (("A", [], {"lr": 1.0}), ("B", RECORDS[:1], {"lr": 2.0}),
                                 ("C", RECORDS[1:], {"lr": 3.0})):
        d = tmp_path / f"train_0_lr={config['lr']}_{tid}"
        d.mkdir()
        (d / "params.json").write_text(json.dumps(config))
        lines = [json.dumps(r) for r in records] + [json.dumps({"event": "other"}), '{"torn']
        (d / "events.jsonl").write_text("\n".join(lines) + "\n")
    loaded = load_schedule(str(tmp_path))
    assert [r["trial_id"] for r in loaded] == ["B", "C"]
    assert all(os.path.isdir(r["logdir"]) for r in loaded)
    assert replay_schedule(str(tmp_path), "C")[0] == {"iteration": 0, "config": {"lr": 1.0}}
    with pytest.raises(TuneError, match="experiment_dir must be an experiment's folder"):
        load_schedule(str(tmp_path / "missing"))


def test_replay_scheduler_switches_config_at_the_recorded_iterations():
    schedule = trial_lineage(RECORDS, "C", {"A": {"lr": 1.0}})
    replay = PopulationBasedTrainingReplay(schedule=schedule, verbose=False)
    runner = FakeRunner(replay)
    trial = runner.add_trial(make_trial({"lr": 0.0}))
    assert trial.config == {"lr": 1.0}
    runner.start_trial(trial)
    seen = []
    for _ in range(10):
        seen.append(trial.config["lr"])
        runner.report(trial)
    assert seen == [1.0] * 4 + [2.0] * 4 + [3.0] * 2
    assert [e[4]["iteration"] for e in runner.exploits] == [4, 8]
    assert all(e[4]["event"] == "pbt_replay" for e in runner.exploits)
    assert replay.debug_string() == "PopulationBasedTrainingReplay: 2 of 2 config changes applied"
    with pytest.raises(TuneError, match="replays one trial"):
        runner.add_trial(make_trial({"lr": 0.0}))


def test_replay_needs_a_schedule():
    with pytest.raises(TuneError, match="needs experiment_dir and trial_id, or schedule"):
        PopulationBasedTrainingReplay()
    with pytest.raises(TuneError, match="schedule must be a non-empty list"):
        PopulationBasedTrainingReplay(schedule=[])
