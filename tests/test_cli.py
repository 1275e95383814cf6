"""The ``tune`` command: version, run SPEC (JSON and YAML), ls DIR, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

import tunecore


def run_cli(*args, cwd=None, env=None, timeout=300):
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def test_installed_tune_script_is_tunecores():
    # ray installs a `tune` script too; after the README's install ours must win
    exe = shutil.which("tune")
    assert exe is not None
    proc = run_cli(exe, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"tunecore {tunecore.__version__}"
    for cmd in (["tunecore", "--version"], [sys.executable, "-m", "tunecore", "--version"]):
        proc = run_cli(*cmd)
        assert proc.stdout.strip() == f"tunecore {tunecore.__version__}", cmd


@pytest.fixture
def project(tmp_path):
    (tmp_path / "mytrain.py").write_text(textwrap.dedent("""
        import tunecore as tune

        class Climb(tune.Trainable):
            def _setup(self, config):
                self.h = 0.0
            def _train(self):
                self.h += self.config["rate"]
                return {"mean_accuracy": self.h}
            def _save(self, d):
                return {"h": self.h}
            def _restore(self, s):
                self.h = s["h"]
    """))
    return tmp_path


def test_tune_run_json_spec_then_ls(project):
    spec = {"climb": {"run": "mytrain:Climb", "stop": {"training_iteration": 3},
                      "config": {"rate": {"grid_search": [1, 2]}}, "local_dir": str(project / "results")}}
    (project / "spec.json").write_text(json.dumps(spec))
    proc = run_cli("tune", "run", "spec.json", "--quiet", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "Best trial: mytrain:Climb_1_rate=2 with mean_accuracy=6" in proc.stdout
    ls = run_cli("tune", "ls", str(project / "results" / "climb"), cwd=project)
    assert ls.returncode == 0, ls.stderr
    lines = ls.stdout.splitlines()
    assert lines[0].split() == ["TRIAL", "STATUS", "ENDING", "mean_accuracy", "CONFIG"]
    assert any(l.split()[:2] == ["mytrain:Climb_0_rate=1", "TERMINATED"] and
               "  stop criterion training_iteration>=3 @3  " in l and " 3  " in l and l.endswith('{"rate": 1}')
               for l in lines), lines
    assert lines[-1].startswith("Best (mean_accuracy, max): mytrain:Climb_1_rate=2")
    as_json = json.loads(run_cli("tune", "ls", str(project / "results" / "climb"), "--json").stdout)
    assert sorted(t["metric"] for t in as_json) == [3, 6]
    assert [(t["ending"]["how"], t["ending"]["criterion"], t["ending"]["inferred"], t["exploits"]) for t in as_json] \
        == [("stop_criterion", {"training_iteration": 3}, False, 0)] * 2


def test_tune_ls_tells_inferred_endings_of_an_old_folder(tmp_path):
    """A folder from before endings were recorded: a scheduler stop was recorded, the rest is inferred."""
    folder = tmp_path / "old"
    trials = []
    for tid, status, it, acc in (("a", "TERMINATED", 15, 0.8), ("b", "TERMINATED", 4, 0.5), ("c", "ERROR", 2, 0.1)):
        logdir = folder / f"t_{tid}"
        logdir.mkdir(parents=True)
        last = {"training_iteration": it, "acc": acc, "done": True}
        (logdir / "result.json").write_text(json.dumps(last) + "\n")
        trials.append({"trial_id": tid, "name": f"t_{tid}", "status": status, "config": {}, "logdir": str(logdir),
                       "last_result": last, "stopping_criterion": {"acc": 0.99}})
    (folder / "t_b" / "events.jsonl").write_text(json.dumps(
        {"event": "stopped", "by": "scheduler", "scheduler": "MedianStoppingRule", "iteration": 4}) + "\n")
    (folder / "t_c" / "error.txt").write_text("=== failure 1 at x ===\nTraceback (most recent call last):\n"
                                               "  File \"f.py\", line 1\nValueError: boom\n")
    (folder / "experiment_state.json").write_text(json.dumps({"version": 1, "trials": trials}))
    proc = run_cli("tune", "ls", str(folder))
    assert proc.returncode == 0, proc.stderr
    rows = {l.split()[0]: l for l in proc.stdout.splitlines()[1:4]}
    assert "  stopped early? @15 (inferred)  " in rows["t_a"]
    assert "  stopped by MedianStoppingRule @4  " in rows["t_b"]
    assert "  error @2: ValueError: boom  " in rows["t_c"]


def test_tune_run_yaml_with_scheduler_block(project):
    (project / "spec.yaml").write_text(textwrap.dedent(f"""
        experiments:
          climb_yaml:
            run: mytrain:Climb
            stop: {{training_iteration: 2}}
            config:
              rate: {{grid_search: [0.5, 1.5]}}
            local_dir: {project / 'results'}
        scheduler: {{name: fifo}}
        metric: mean_accuracy
        mode: max
    """))
    proc = run_cli("tune", "run", "spec.yaml", "--quiet", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "Using FIFO scheduling algorithm." in proc.stdout
    assert "with mean_accuracy=3" in proc.stdout


@pytest.mark.parametrize("spec, message", [
    ({"x": {"run": "mytrain:Nope"}}, "could not import"),
    ({"x": {"run": "mytrain:Climb", "bogus": 1}}, "unknown key(s) 'bogus'"),
    ({"experiments": {"x": {"run": "mytrain:Climb"}}, "schedular": "fifo"}, "unknown top-level key(s)"),
    ({"experiments": {"x": {"run": "mytrain:Climb"}}, "scheduler": "nosuch"}, "Unknown scheduler 'nosuch'"),
])
def test_tune_run_bad_spec_is_a_clear_error(project, spec, message):
    (project / "bad.json").write_text(json.dumps(spec))
    proc = run_cli("tune", "run", "bad.json", cwd=project)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_tune_ls_on_a_missing_folder(tmp_path):
    proc = run_cli("tune", "ls", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
