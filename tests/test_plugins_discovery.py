"""Discovery of installed plugin distributions and ``tune plugins list``, through the real CLI.

The fixture distributions under ``tests/plugin_fixtures/`` are installed the way pip
lays them out (a module plus a ``.dist-info`` with METADATA and entry_points.txt), each
in its own temporary folder put on ``PYTHONPATH`` of a subprocess (or ``sys.path`` for
the one in-process run), so importlib.metadata and stevedore find them and the
environment stays clean.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import tomllib

import tunecore
from tunecore import plugins as P

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin_fixtures")
GOOD, BROKEN, INCOMPATIBLE, INVALID = (
    "tune-fixture-good", "tune-fixture-broken-import", "tune-fixture-incompatible", "tune-fixture-invalid")
ALL_FIXTURES = (GOOD, BROKEN, INCOMPATIBLE, INVALID)
TUNE = os.path.join(os.path.dirname(sys.executable), "tune")


def install_distribution(source: str, target: str) -> None:
    """Lay out the distribution in ``source`` (a pyproject.toml project) as installed in ``target``."""
    with open(os.path.join(source, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    name, version = project["name"], project["version"]
    for entry in os.listdir(source):
        if os.path.isfile(os.path.join(source, entry, "__init__.py")):
            shutil.copytree(os.path.join(source, entry), os.path.join(target, entry))
    info = os.path.join(target, f"{name.replace('-', '_')}-{version}.dist-info")
    os.makedirs(info)
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {req}" for req in project.get("dependencies", [])]
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("\n".join(metadata) + "\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as f:
        for group, eps in project.get("entry-points", {}).items():
            f.write(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n")
    open(os.path.join(info, "RECORD"), "w").close()


@pytest.fixture(scope="module")
def site_dirs(tmp_path_factory):
    """``{distribution name: folder it is installed in}`` for the four fixture plugins."""
    dirs = {}
    for name in ALL_FIXTURES:
        target = tmp_path_factory.mktemp(name)
        install_distribution(os.path.join(FIXTURES, name), str(target))
        dirs[name] = str(target)
    return dirs


@pytest.fixture(scope="module")
def run_tune(site_dirs, tmp_path_factory):
    """Run ``python -m tunecore ARGS`` with the given fixture plugins installed."""
    tmp_path = tmp_path_factory.mktemp("runs")

    def run(*args, plugins=ALL_FIXTURES, env=None, executable=None, python_flags=()):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TUNECORE_")}
        full_env["PYTHONPATH"] = os.pathsep.join(
            [site_dirs[p] for p in plugins] + [full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        full_env["TUNE_FIXTURE_IMPORT_LOG"] = str(tmp_path / "imports.log")
        full_env.update(env or {})
        cmd = [executable] if executable else [sys.executable, *python_flags, "-m", "tunecore"]
        proc = subprocess.run([*cmd, *args], env=full_env, capture_output=True, text=True, timeout=120)
        log = tmp_path / "imports.log"
        proc.imported = log.read_text().split() if log.exists() else []
        log.unlink(missing_ok=True)
        return proc

    return run


@pytest.fixture(scope="module")
def listing_json(run_tune):
    """``tune plugins list --json`` with all four fixture plugins installed."""
    return run_tune("plugins", "list", "--json")


@pytest.fixture(scope="module")
def listing_table(run_tune):
    """``tune plugins list`` with all four fixture plugins installed."""
    return run_tune("plugins", "list")


def fixture_records(stdout: str) -> dict:
    return {r["name"]: r for r in json.loads(stdout) if r["name"].startswith("tune-fixture-")}


def test_list_json_reports_each_plugin_with_exact_fields(listing_json):
    proc = listing_json
    assert proc.returncode == 0, proc.stderr
    records = fixture_records(proc.stdout)
    assert set(records) == set(ALL_FIXTURES)
    for record in json.loads(proc.stdout):
        assert set(record) == {"name", "version", "status", "entry_point", "hooks", "provides", "error"}
    good = records[GOOD]
    assert good == {
        "name": GOOD, "version": "0.3.1", "status": "ok", "entry_point": "tune_fixture_good.plugin",
        "hooks": ["tunecore_register_commands", "tunecore_register_schedulers"],
        "provides": {"schedulers": ["fixture_stop_at"]}, "error": None,
    }
    assert records[BROKEN]["status"] == "failed"
    assert "ModuleNotFoundError" in records[BROKEN]["error"]
    assert "tune_fixture_missing_dependency" in records[BROKEN]["error"]
    assert records[INCOMPATIBLE]["status"] == "incompatible"
    assert "tunecore<0.0.1" in records[INCOMPATIBLE]["error"]
    assert tunecore.__version__ in records[INCOMPATIBLE]["error"]
    assert records[INVALID]["status"] == "invalid"
    assert "scheduler_options" in records[INVALID]["error"]
    for name in (BROKEN, INCOMPATIBLE, INVALID):
        assert records[name]["hooks"] == [] and records[name]["provides"] == {}
    # builtins only with --all
    assert "tunecore" not in {r["name"] for r in json.loads(proc.stdout)}
    # the incompatible plugin is never imported; the others are
    assert sorted(proc.imported) == ["tune_fixture_broken_import", "tune_fixture_good", "tune_fixture_invalid"]


def test_each_broken_plugin_reported_once_on_stderr_naming_it_and_the_fix(listing_table):
    proc = listing_table
    assert proc.returncode == 0
    for name in (BROKEN, INCOMPATIBLE, INVALID):
        lines = [line for line in proc.stderr.splitlines() if f"plugin {name!r}" in line]
        assert len(lines) == 1, proc.stderr
        assert "was skipped" in lines[0] and f"pip uninstall {name}" in lines[0]
        assert f"TUNECORE_DISABLE_PLUGINS={name}" in lines[0]
    assert f"{GOOD!r}" not in proc.stderr
    assert "requires tunecore<0.0.1 but tunecore" in proc.stderr


def test_list_table(listing_table):
    proc = listing_table
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "STATUS", "PROVIDES"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows[GOOD].split()[:4] == [GOOD, "0.3.1", "ok", "schedulers:"]
    assert rows[GOOD].endswith("schedulers: fixture_stop_at")
    assert rows[BROKEN].split()[1:3] == ["0.3.1", "failed"] and "ModuleNotFoundError" in rows[BROKEN]
    assert rows[INCOMPATIBLE].split()[2] == "incompatible"
    assert rows[INVALID].split()[2] == "invalid"
    assert "tunecore" not in rows
    # columns line up: every row's status starts under STATUS
    col = lines[0].index("STATUS")
    for line in lines[1:]:
        assert line[col - 1] == " " and line[col:].split()[0] == line.split()[2], line


def test_list_all_includes_builtins(run_tune):
    proc = run_tune("plugins", "list", "--all", "--json", plugins=())
    assert proc.returncode == 0
    builtin = next(r for r in json.loads(proc.stdout) if r["name"] == "tunecore")
    assert builtin["status"] == "builtin" and builtin["version"] == tunecore.__version__
    assert {"fifo", "median_stopping"} <= set(builtin["provides"]["schedulers"])
    assert "json" in builtin["provides"]["loggers"]
    table = run_tune("plugins", "list", "--all", plugins=())
    assert any(line.split()[:3] == ["tunecore", tunecore.__version__, "builtin"]
               for line in table.stdout.splitlines())


def test_requirements_lines(run_tune):
    proc = run_tune("plugins", "list", "--requirements")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for name in ALL_FIXTURES:
        assert f"{name}==0.3.1" in lines
    assert all("==" in line and " " not in line for line in lines)
    assert not any(line.startswith("tunecore==") for line in lines)


def test_strict_mode_makes_a_broken_plugin_an_error(run_tune):
    proc = run_tune("plugins", "list", plugins=(GOOD, BROKEN), env={"TUNECORE_STRICT_PLUGINS": "1"})
    assert proc.returncode != 0
    assert f"plugin {BROKEN!r}" in proc.stderr and "TUNECORE_STRICT_PLUGINS" in proc.stderr
    ok = run_tune("plugins", "list", plugins=(GOOD,), env={"TUNECORE_STRICT_PLUGINS": "1"})
    assert ok.returncode == 0 and GOOD in ok.stdout


def test_strict_mode_in_python(site_dirs, monkeypatch):
    monkeypatch.syspath_prepend(site_dirs[INVALID])
    monkeypatch.setenv("TUNECORE_LOAD_PLUGINS", INVALID)
    with pytest.raises(tunecore.errors.PluginError, match="tune-fixture-invalid.*validation"):
        P.discover(strict=True)
    manager = P.discover(strict=False)
    assert [r.status for r in manager.records if r.name == INVALID] == ["invalid"]


def test_disable_plugins_blocks_before_import(run_tune):
    proc = run_tune("plugins", "list", "--json",
                    env={"TUNECORE_DISABLE_PLUGINS": f"{BROKEN}, {INVALID}"})
    assert proc.returncode == 0
    records = fixture_records(proc.stdout)
    assert records[BROKEN]["status"] == records[INVALID]["status"] == "disabled"
    assert "TUNECORE_DISABLE_PLUGINS" in records[BROKEN]["error"]
    assert records[GOOD]["status"] == "ok"
    assert "tune_fixture_broken_import" not in proc.imported
    assert "tune_fixture_invalid" not in proc.imported
    assert BROKEN not in proc.stderr and INVALID not in proc.stderr


def test_load_plugins_allows_only_the_named(run_tune):
    proc = run_tune("plugins", "list", "--json", env={"TUNECORE_LOAD_PLUGINS": GOOD})
    assert proc.returncode == 0
    records = json.loads(proc.stdout)
    assert {r["name"]: r["status"] for r in records if r["status"] != "disabled"} == {GOOD: "ok"}
    assert proc.imported == ["tune_fixture_good"]
    assert proc.stderr == ""


def test_plugins_list_never_imports_ray(run_tune):
    proc = run_tune("plugins", "list", "--json", python_flags=("-X", "importtime"))
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "tunecore.plugins" in imported and "stevedore" in imported
    assert not {m for m in imported if m == "ray" or m.startswith("ray.")}


def test_real_tune_executable_and_plugin_command(run_tune):
    proc = run_tune("plugins", "list", executable=TUNE, plugins=(GOOD,))
    assert proc.returncode == 0 and GOOD in proc.stdout
    hello = run_tune("fixture-hello", "--name", "tests", executable=TUNE, plugins=(GOOD,))
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == "hello from tune-fixture-good, name=tests"


def test_spec_uses_installed_plugin_scheduler_by_name(site_dirs, ray_session, results_dir, monkeypatch):
    monkeypatch.syspath_prepend(site_dirs[GOOD])
    monkeypatch.setenv("TUNECORE_LOAD_PLUGINS", GOOD)
    P.reset_plugin_manager()
    try:
        def trainable(config, reporter):
            for i in range(10):
                reporter(mean_accuracy=0.1 * i)

        trials = tunecore.run_experiments(
            {"plugin_sched": {"run": trainable, "stop": {"training_iteration": 10},
                              "local_dir": results_dir, "num_samples": 2}},
            scheduler={"name": "fixture_stop_at", "max_iter": 3}, verbose=False)
        assert [t.status.value for t in trials] == ["TERMINATED", "TERMINATED"]
        assert [t.last_result["training_iteration"] for t in trials] == [3, 3]
        with pytest.raises(tunecore.TuneError, match=r"Unknown scheduler 'fixture_stop_att'.*fixture_stop_at"):
            tunecore.run_experiments({"x": {"run": trainable, "local_dir": results_dir}},
                                     scheduler="fixture_stop_att", verbose=False)
    finally:
        P.reset_plugin_manager()
