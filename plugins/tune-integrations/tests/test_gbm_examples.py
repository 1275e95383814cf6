"""examples/lightgbm_asha.py and examples/xgboost_pbt.py run at their --small size on the session's Ray.

Each script runs as ``__main__`` (``runpy``, as tests/test_examples.py runs the core's examples),
its results under ``tmp_path``, never ``~/ray_results``; what it prints is checked.
"""

from __future__ import annotations

import os
import re
import runpy
import sys

import pytest

from tunecore import result as R

pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        "examples")


@pytest.fixture
def run_example(ray_session, tmp_path, monkeypatch, capsys):
    """Run examples/<script> as __main__ on the session's Ray, results under tmp_path (as tests/test_examples.py)."""
    monkeypatch.setattr(R, "DEFAULT_RESULTS_DIR", str(tmp_path / "ray_results"))

    def run(script: str, *args: str) -> str:
        monkeypatch.setattr(sys, "argv", [script, *args])
        runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
        return capsys.readouterr().out

    return run


def test_lightgbm_asha_example(run_example, tmp_path):
    out = run_example("lightgbm_asha.py", "--small")
    match = re.search(r"8 trials, 0 errors; (\d+) of 216 boosting rounds run; (\d+) trials stopped early", out)
    assert match, out[-2000:]
    assert int(match.group(1)) < 216 and int(match.group(2)) >= 1
    assert float(re.search(r"best eval-binary_logloss=([0-9.]+)", out).group(1)) < 0.3
    assert float(re.search(r"test accuracy=([0-9.]+)", out).group(1)) > 0.9
    assert str(tmp_path / "ray_results" / "lightgbm_asha") in out


def test_xgboost_pbt_example(run_example, tmp_path):
    out = run_example("xgboost_pbt.py", "--small")
    assert "4 trials, 0 errors" in out, out[-2000:]
    assert float(re.search(r"best eval-logloss=([0-9.]+) after 24 rounds", out).group(1)) < 0.4
    assert int(re.search(r"PBT exploits: (\d+);", out).group(1)) >= 1
    assert re.search(r"from round +0: eta=[0-9.e-]+ subsample=", out), out[-2000:]
    assert re.search(r"its booster \(24 rounds, from checkpoint_\d+\): test accuracy=0\.9", out), out[-2000:]
    assert os.path.isfile(tmp_path / "ray_results" / "xgboost_pbt" / "experiment_state.json")
