"""Names resolve through the registries; ad-hoc plugins on a fresh PluginManager."""

from __future__ import annotations

import types

import pytest

import tunecore
from tunecore import _builtins
from tunecore.errors import TuneError
from tunecore.loggers import Logger
from tunecore.plugins import BUILTIN, PluginManager
from tunecore.schedulers import FIFOScheduler, MedianStoppingRule, TrialScheduler
from tunecore.syncers import Syncer


def plugin(**hooks) -> types.SimpleNamespace:
    """An ad-hoc plugin module: ``plugin(tunecore_register_schedulers=fn, ...)``."""
    return types.SimpleNamespace(**{name: tunecore.hookimpl(fn) for name, fn in hooks.items()})


class PatienceScheduler(TrialScheduler):
    def __init__(self, patience: int = 3, metric: str = "episode_reward_mean") -> None:
        self.patience, self.metric = patience, metric


class MemoryLogger(Logger):
    def on_result(self, result):
        pass


class FakeS3Syncer(Syncer):
    def sync_up(self):
        raise ConnectionError("no network in this test")


@pytest.fixture
def pm():
    manager = PluginManager()
    manager.add_plugin(_builtins, BUILTIN, status="builtin")
    return manager


def test_builtins_register_through_the_hooks(pm):
    (record,) = pm.records
    assert record.status == "builtin" and record.error is None
    assert {"fifo", "median_stopping"} <= set(pm.schedulers.names())
    assert "json" in pm.loggers and "file" in pm.syncers
    assert pm.schedulers.owner("fifo") == BUILTIN
    assert record.provides["schedulers"] == sorted(record.provides["schedulers"])


def test_name_string_and_dict_with_kwargs(pm):
    pm.add_plugin(plugin(tunecore_register_schedulers=lambda register: register("patience", PatienceScheduler)),
                  "tune-patience", version="1.0")
    assert isinstance(pm.schedulers.create("fifo"), FIFOScheduler)
    made = pm.schedulers.create({"name": "patience", "patience": 7, "metric": "mean_loss"})
    assert isinstance(made, PatienceScheduler) and made.patience == 7 and made.metric == "mean_loss"
    assert pm.schedulers.create("patience").patience == 3
    rule = pm.schedulers.create({"name": "median_stopping", "grace_period": 5, "verbose": False})
    assert isinstance(rule, MedianStoppingRule) and rule._grace_period == 5
    instance = FIFOScheduler()
    assert pm.schedulers.create(instance) is instance
    assert isinstance(pm.schedulers.create(FIFOScheduler), FIFOScheduler)


def test_dict_form_errors(pm):
    with pytest.raises(TuneError, match="needs a 'name' key"):
        pm.schedulers.create({"grace_period": 3})
    with pytest.raises(TuneError, match="Bad arguments for scheduler 'fifo'"):
        pm.schedulers.create({"name": "fifo", "no_such_option": 1})


def test_unknown_first_party_name_says_what_to_install(pm):
    with pytest.raises(TuneError) as info:
        pm.schedulers.create("pbt")
    message = str(info.value)
    assert "Unknown scheduler 'pbt'" in message
    assert "Available: fifo, median_stopping." in message
    assert "pip install tune-pbt" in message
    with pytest.raises(TuneError, match="pip install tune-hyperband"):
        pm.schedulers.create({"name": "async_hyperband", "max_t": 100})
    with pytest.raises(TuneError, match=r"Unknown logger 'csv'\. Available: json\..*pip install tune-loggers"):
        pm.loggers.get("csv")
    with pytest.raises(TuneError, match=r"Unknown syncer 's3'.*pip install tune-loggers"):
        pm.syncers.get("s3")
    with pytest.raises(TuneError, match="pip install tune-optuna"):
        pm.searchers.get("optuna")


def test_unknown_third_party_name_lists_available_without_a_hint(pm):
    with pytest.raises(TuneError) as info:
        pm.schedulers.get("fiffo")
    assert "Available: fifo, median_stopping." in str(info.value)
    assert "pip install" not in str(info.value)


def test_loggers_and_syncers_by_name_and_scheme(pm, tmp_path):
    def loggers(register):
        register("memory", MemoryLogger)

    def syncers(register):
        register("s3", FakeS3Syncer)

    record = pm.add_plugin(plugin(tunecore_register_loggers=loggers, tunecore_register_syncers=syncers),
                           "tune-extra", version="0.2")
    assert record.status == "ok"
    assert record.hooks == ["tunecore_register_loggers", "tunecore_register_syncers"]
    assert record.provides == {"loggers": ["memory"], "syncers": ["s3"]}
    made = [pm.loggers.get(name)({}, str(tmp_path), None) for name in ["json", "memory"]]
    assert [type(m).__name__ for m in made] == ["JsonLogger", "MemoryLogger"]
    for m in made:
        m.close()
    from tunecore.syncers import validate_upload_dir
    from tunecore.syncers._manager import scheme_of

    validate_upload_dir("s3://bucket/prefix", pm)
    assert pm.syncers.get(scheme_of("s3://bucket/prefix")) is FakeS3Syncer
    with pytest.raises(TuneError, match="gs"):
        validate_upload_dir("gs://bucket/prefix", pm)


def test_duplicate_name_is_an_error_naming_both_plugins(pm):
    def first(register):
        register("patience", PatienceScheduler)

    def second(register):
        register("other_name", FIFOScheduler)
        register("patience", FIFOScheduler)

    def second_loggers(register):
        register("second_logger", MemoryLogger)

    assert pm.add_plugin(plugin(tunecore_register_schedulers=first), "tune-first").status == "ok"
    record = pm.add_plugin(plugin(tunecore_register_schedulers=second,
                                  tunecore_register_loggers=second_loggers), "tune-second")
    assert record.status == "failed"
    assert "'patience' is registered twice" in record.error
    assert "'tune-first'" in record.error and "'tune-second'" in record.error
    assert "TUNECORE_DISABLE_PLUGINS" in record.error
    # the first keeps its name; nothing of the second remains
    assert pm.schedulers.get("patience") is PatienceScheduler
    assert "other_name" not in pm.schedulers and "second_logger" not in pm.loggers
    assert record.hooks == [] and record.provides == {}
    assert pm.pm.get_plugin("tune-second") is None
    # a builtin name counts too
    clash = pm.add_plugin(plugin(tunecore_register_schedulers=lambda register: register("fifo", FIFOScheduler)),
                          "tune-clash")
    assert clash.status == "failed" and "'tunecore'" in clash.error and "'tune-clash'" in clash.error


def test_a_plugin_that_raises_or_registers_garbage_is_isolated(pm):
    def raises(register):
        raise RuntimeError("boom while registering")

    def not_callable(register):
        register("broken", 42)

    r1 = pm.add_plugin(plugin(tunecore_register_schedulers=raises), "tune-raises")
    r2 = pm.add_plugin(plugin(tunecore_register_schedulers=not_callable), "tune-garbage")
    assert r1.status == "failed" and r1.error == "RuntimeError: boom while registering"
    assert r2.status == "failed" and "not callable" in r2.error and "'tune-garbage'" in r2.error
    assert pm.schedulers.names() == ["fifo", "median_stopping"]


def test_invalid_hookimpl_is_reported_as_invalid(pm):
    def tunecore_register_schedulers(register, extra):
        register("x", FIFOScheduler)

    record = pm.add_plugin(plugin(tunecore_register_schedulers=tunecore_register_schedulers), "tune-invalid")
    assert record.status == "invalid"
    assert "extra" in record.error and "\n" not in record.error
    assert "x" not in pm.schedulers


def test_record_json_has_exactly_the_documented_fields(pm):
    record = pm.records[0].to_json()
    assert list(record) == ["name", "version", "status", "entry_point", "hooks", "provides", "error"]


def test_plugin_added_later_still_sees_historic_hooks(pm):
    """Registration hooks are historic: a plugin loaded after the manager was built registers too."""
    pm.add_plugin(plugin(tunecore_register_schedulers=lambda register: register("late", PatienceScheduler)),
                  "tune-late")
    assert pm.schedulers.owner("late") == "tune-late"


def test_discovery_does_not_happen_at_import():
    import subprocess
    import sys

    code = ("import sys, tunecore, tunecore.plugins, tunecore.schedulers, tunecore.testing\n"
            "assert tunecore.plugins._manager is None\n"
            "assert 'stevedore' not in sys.modules and 'ray' not in sys.modules, sorted(sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
