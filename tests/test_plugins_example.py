"""examples/third_party_plugin: it installs, lists as its README shows, and passes the contract."""

from __future__ import annotations

import importlib
import json
import os
import sys

import pytest
from test_plugins_discovery import install_distribution  # noqa: E402  (sibling test module)

from tunecore.testing import SchedulerContract

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "third_party_plugin")


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    target = tmp_path_factory.mktemp("example_site")
    install_distribution(EXAMPLE, str(target))
    return str(target)


def tune_json(site: str) -> list:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNECORE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "tunecore", "plugins", "list", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "tune-example-scheduler" not in proc.stderr
    return json.loads(proc.stdout)


def test_example_lists_as_the_readme_shows(example_site):
    records = {r["name"]: r for r in tune_json(example_site)}
    record = records["tune-example-scheduler"]
    assert record == {
        "name": "tune-example-scheduler", "version": "0.1.0", "status": "ok",
        "entry_point": "tune_example_scheduler.plugin", "hooks": ["tunecore_register_schedulers"],
        "provides": {"schedulers": ["no_improvement"]}, "error": None,
    }
    with open(os.path.join(EXAMPLE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert "tune-example-scheduler  0.1.0    ok      schedulers: no_improvement" in readme
    assert json.dumps(record, indent=2).replace("\n", "\n  ") in readme


class TestExampleSchedulerContract(SchedulerContract):
    @pytest.fixture
    def make_scheduler(self, example_site, monkeypatch):
        monkeypatch.syspath_prepend(example_site)
        module = importlib.import_module("tune_example_scheduler")
        return lambda: module.NoImprovementStopper(patience=2)
