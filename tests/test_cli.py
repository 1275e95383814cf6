"""The ``tune`` command: version, run SPEC (JSON and YAML), ls DIR, bad input."""

from __future__ import annotations

import json
import os
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
    assert lines[0].split() == ["TRIAL", "STATUS", "mean_accuracy", "CONFIG"]
    assert any("rate=1" in l and "TERMINATED" in l and " 3 " in l and '{"rate": 1}' in l for l in lines)
    assert lines[-1].startswith("Best (mean_accuracy, max): mytrain:Climb_1_rate=2")
    as_json = json.loads(run_cli("tune", "ls", str(project / "results" / "climb"), "--json").stdout)
    assert sorted(t["metric"] for t in as_json) == [3, 6]


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
