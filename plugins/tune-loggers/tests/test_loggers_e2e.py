"""tune-loggers end to end through ``tunecore.run_experiments`` on the session's Ray."""

from __future__ import annotations

import glob
import os

import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import tunecore as tune
from tunecore import TuneError, run_experiments
from tunecore.testing import folder_listing
from tunecore.trial import TrialStatus


class Learner(tune.Trainable):
    """Nested metrics, and one that first appears at the third iteration."""

    def _setup(self, config):
        self.it = 0

    def _train(self):
        self.it += 1
        result = {"mean_loss": self.config["lr"] / self.it, "timesteps_this_iter": 100,
                  "info": {"grad_norm": 0.5 * self.it}}
        if self.it >= 3:
            result["late_metric"] = float(self.it)
        return result




def test_run_writes_csv_and_tensorboard_and_mirrors_to_s3(ray_session, results_dir, location, remote_files):
    bucket, prefix = location
    trials = run_experiments({
        "loggers_e2e": {
            "run": Learner,
            "config": {"lr": tune.grid_search([0.1, 0.2])},
            "stop": {"training_iteration": 4},
            "local_dir": results_dir,
            "upload_dir": f"s3://{bucket}/{prefix}",
            "sync_period": 0.5,
        }
    }, verbose=False)
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 2
    for trial in trials:
        df = pd.read_csv(os.path.join(trial.logdir, "progress.csv"))
        assert list(df["training_iteration"]) == [1, 2, 3, 4]
        assert list(df["info/grad_norm"]) == [0.5, 1.0, 1.5, 2.0]
        assert df["late_metric"].isna().tolist() == [True, True, False, False]
        assert list(df["late_metric"])[2:] == [3.0, 4.0]
        assert os.path.exists(os.path.join(trial.logdir, "params.json"))
        ea = EventAccumulator(trial.logdir)
        ea.Reload()
        loss = [(e.step, e.value) for e in ea.Scalars("ray/tune/mean_loss")]
        lr = trial.config["lr"]
        assert [s for s, _ in loss] == [100, 200, 300, 400]  # steps by timesteps_total
        assert [v for _, v in loss] == pytest.approx([lr, lr / 2, lr / 3, lr / 4], rel=1e-6)
        assert "_hparams_/session_start_info" in ea.PluginTagToContent("hparams")
    exp_dir = os.path.dirname(trials[0].logdir)
    remote = remote_files(bucket, f"{prefix}/loggers_e2e")
    local = folder_listing(exp_dir)
    assert remote == local  # the final sync mirrored everything, the state file included
    assert "experiment_state.json" in remote and any(k.endswith("progress.csv") for k in remote)


def test_a_spec_picks_loggers_by_name(ray_session, results_dir):
    [trial] = run_experiments({
        "csv_only": {"run": Learner, "config": {"lr": 0.1}, "stop": {"training_iteration": 2},
                     "local_dir": results_dir, "loggers": ["csv"]}
    }, verbose=False)
    files = os.listdir(trial.logdir)
    assert "progress.csv" in files and "params.json" in files
    assert "result.json" not in files and not glob.glob(os.path.join(trial.logdir, "events.out.tfevents.*"))
    assert list(pd.read_csv(os.path.join(trial.logdir, "progress.csv"))["training_iteration"]) == [1, 2]


def test_unknown_upload_scheme_is_refused_before_any_trial_starts(ray_session, results_dir):
    with pytest.raises(TuneError) as info:
        run_experiments({
            "refused": {"run": Learner, "config": {"lr": 0.1}, "stop": {"training_iteration": 1},
                        "local_dir": results_dir, "upload_dir": "gs://bucket/prefix"}
        }, verbose=False)
    msg = str(info.value)
    assert "'gs'" in msg and "file://" in msg and "s3://" in msg
    assert not os.path.exists(os.path.join(results_dir, "refused")) or \
        not [d for d in os.listdir(os.path.join(results_dir, "refused")) if d.startswith("Learner")]
