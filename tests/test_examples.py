"""Every script in examples/ runs as its README says, at a small size, on the session's Ray.

Each script runs as ``__main__`` (``runpy``) with its own command-line flags; results go to a
temporary folder, never to ``~/ray_results``. What each prints is checked: the run ended, the
best trial is a real model's score, and the schedulers saved work where they should.
"""

from __future__ import annotations

import glob
import os
import re
import runpy
import sys

import pytest

from tunecore import result as R
from tunecore.util import read_json_lines

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture
def run_example(ray_session, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(R, "DEFAULT_RESULTS_DIR", str(tmp_path / "ray_results"))

    def run(script: str, *args: str) -> str:
        monkeypatch.setattr(sys, "argv", [script, *args])
        runpy.run_path(os.path.join(EXAMPLES, script), run_name="__main__")
        return capsys.readouterr().out

    return run


def _float(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text[-2000:]}"
    return float(match.group(1))


def test_quickstart(run_example, tmp_path):
    out = run_example("quickstart.py")
    assert "Finished 6 trials" in out
    assert _float(r"best mean_accuracy=([0-9.]+)", out) > 0.9
    assert str(tmp_path / "ray_results" / "quickstart") in out


def test_hyperband_example_stops_and_pauses_trials(run_example):
    out = run_example("hyperband_example.py", "--samples", "8", "--max-t", "9")
    assert "Finished 8 trials: 8 TERMINATED" in out
    assert _float(r"Best: .* accuracy=([0-9.]+)", out) > 0.8
    # brackets of 3 (to 9) and 5 (to 3, then the best one to 9): 27 + 15 + 6 epochs
    assert _float(r"; (\d+) epochs in all", out) == 48
    assert "(running every trial to the end: 72)" in out


def test_async_hyperband_example(run_example, tmp_path):
    out = run_example("async_hyperband_example.py", "--samples", "8", "--max-t", "9")
    assert "Finished 8 trials: 8 TERMINATED" in out
    assert _float(r"Best: .* accuracy=([0-9.]+)", out) > 0.5
    # grace 3, rf 4, max_t 9: one rung, at 3. A trial ASHA cut stopped there; the rest ran to 9.
    ends = []
    for path in glob.glob(str(tmp_path / "ray_results" / "asha_digits" / "*" / "result.json")):
        logdir = os.path.dirname(path)
        last = read_json_lines(path)[-1]["training_iteration"]
        stops = [(e["how"], e["iteration"]) for e in read_json_lines(os.path.join(logdir, "events.jsonl"))
                 if e.get("event") == "ended"]
        assert last in (3, 9) and stops == [("scheduler", last)], (logdir, last, stops)
        ends.append(last)
    assert len(ends) == 8
    assert _float(r"; (\d+) epochs in all", out) == sum(ends)


def test_pbt_example_prints_the_lineage(run_example, tmp_path):
    out = run_example("pbt_example.py", "--epochs", "6", "--population", "4", "--local-dir", str(tmp_path))
    assert "Finished 4 trials: 4 TERMINATED" in out
    assert _float(r"validation accuracy ([0-9.]+)", out) > 0.5
    assert re.search(r"from epoch +0: lr=[0-9.e-]+ momentum=", out), out[-2000:]
    assert os.path.isfile(os.path.join(tmp_path, "pbt_digits", "experiment_state.json"))


def test_pbt_toy(run_example):
    out = run_example("pbt_toy.py", "--iterations", "20")
    assert "Finished 2 trials: 2 TERMINATED" in out
    assert 0 < _float(r"best Q = ([0-9.]+)", out) <= 1.2


def test_tuner_quickstart_the_ray_tune_2x_script(run_example, tmp_path):
    out = run_example("tuner_quickstart.py", "--samples", "6")
    assert "6 trials, 0 errors; callback saw 6 starts" in out
    results = int(re.search(r"starts, (\d+) results, 6 ends", out).group(1))
    assert 6 * 3 <= results < 6 * 15  # ASHA or the plateau stopper cut some trials short
    assert _float(r"best mean_accuracy=([0-9.]+)", out) > 0.85
    assert str(tmp_path / "ray_results" / "tuner_quickstart") in out


def test_multi_objective_example(run_example, tmp_path):
    out = run_example("multi_objective.py", "--samples", "8")
    total = re.search(r"8 trials, (\d+) of 216 epochs run; Pareto front of (\d+) feasible trials", out)
    assert total and int(total.group(1)) < 216 and int(total.group(2)) >= 1  # MO-ASHA stopped some early
    front = [(float(e), int(w)) for e, w in re.findall(r"error=([0-9.]+) weights=(\d+)", out)]
    assert all(w <= 3000 for _, w in front)  # the constraint holds on the front
    assert [w for _, w in front] == sorted(w for _, w in front)
    assert _float(r"hypervolume=([0-9.]+)", out) > 0
    assert "importances for error: " in out
    assert str(tmp_path / "ray_results" / "multi_objective") in out
