"""Beyond one machine: a 2-node ray.cluster_utils.Cluster runs trials on both nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_trials_run_on_both_nodes(tmp_path):
    # in a subprocess: the test session already has its own local Ray
    script = os.path.join(os.path.dirname(__file__), "cluster_scripts", "two_nodes.py")
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True,
                          timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["status"] == ["TERMINATED"] * 4
    assert len(report["cluster_nodes"]) == 2
    assert set(report["trial_nodes"]) == set(report["cluster_nodes"])
