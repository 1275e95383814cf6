"""The S3 server stops and restarts mid-run: the experiment finishes and S3 catches up.

Uses tune-loggers' SeaweedFS fixtures (conftest.py in this folder).
"""

from __future__ import annotations

import json
import os
import threading
import time

import pandas as pd

import tunecore as tune
from tunecore.testing import StepTrainable, folder_listing
from tunecore.trial import TrialStatus


class Slowish(StepTrainable):
    def _setup(self, config):
        self.step = 0

    def _train(self):
        self.step += 1
        time.sleep(0.1)
        return {"value": self.step}





def test_s3_stopped_and_restarted_mid_run(ray_session, results_dir, s3_env, location, remote_files):
    bucket, prefix = location
    remote = lambda: remote_files(bucket, f"{prefix}/s3_outage")  # noqa: E731
    events = {}

    def outage():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first syncs have landed
            try:
                if any(k.endswith("result.json") for k in remote()):
                    break
            except Exception:
                pass
            time.sleep(0.1)
        s3_env.crash()
        events["down"] = time.monotonic()
        time.sleep(1.5)
        s3_env.start()  # same ports, same data dir
        events["up"] = time.monotonic()

    thread = threading.Thread(target=outage, daemon=True)
    t0 = events["t0"] = time.monotonic()
    thread.start()
    try:
        trials = tune.run_experiments({"s3_outage": {
            "run": Slowish, "config": {"i": tune.grid_search([0, 1, 2])}, "stop": {"training_iteration": 25},
            "checkpoint_freq": 5, "local_dir": results_dir, "upload_dir": f"s3://{bucket}/{prefix}",
            "sync_period": 0.3}}, verbose=False)
        ended = time.monotonic()
    finally:
        thread.join(90)
        if s3_env.proc is None:  # pragma: no cover - the outage thread failed
            s3_env.start()
    print({k: round(v - t0, 2) for k, v in events.items()}, "ended", round(ended - t0, 2))
    assert events["down"] < ended, "the outage did not happen during the run"
    assert [t.status for t in trials] == [TrialStatus.TERMINATED] * 3
    for trial in trials:
        with open(os.path.join(trial.logdir, "result.json")) as f:
            assert [json.loads(line)["training_iteration"] for line in f] == list(range(1, 26))
        assert list(pd.read_csv(os.path.join(trial.logdir, "progress.csv"))["value"]) == list(range(1, 26))
    # the final sync waited for the server: everything on disk is on S3, state included
    local = folder_listing(os.path.join(results_dir, "s3_outage"))
    assert remote() == local
    state = json.loads(local["experiment_state.json"])
    assert state["finished"] is True and len(state["trials"]) == 3
