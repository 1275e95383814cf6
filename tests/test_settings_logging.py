"""Environment settings (one table) and the ``tunecore`` logger hierarchy."""

from __future__ import annotations

import logging

import pytest

import tunecore as tune
from tunecore import settings
from tunecore._logging import get_logger, verbosity


def test_every_setting_is_tunecore_named_and_documented():
    assert all(s.name.startswith("TUNECORE_") and s.help for s in settings.SETTINGS)
    table = settings.table()
    assert all(f"`{s.name}`" in table for s in settings.SETTINGS)


def test_numbers_defaults_old_names_and_bad_values(monkeypatch):
    monkeypatch.delenv("TUNECORE_WALLTIME_LIMIT", raising=False)
    monkeypatch.delenv("TRIALRUNNER_WALLTIME_LIMIT", raising=False)
    assert settings.number("TUNECORE_WALLTIME_LIMIT") == float("inf")
    monkeypatch.setenv("TRIALRUNNER_WALLTIME_LIMIT", "12")  # the old name is still read
    assert settings.number("TUNECORE_WALLTIME_LIMIT") == 12.0
    monkeypatch.setenv("TUNECORE_WALLTIME_LIMIT", "5")  # the new name wins
    assert settings.number("TUNECORE_WALLTIME_LIMIT") == 5.0
    monkeypatch.setenv("TUNECORE_STALL_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="TUNECORE_STALL_TIMEOUT='soon' is not a number"):
        settings.number("TUNECORE_STALL_TIMEOUT")
    monkeypatch.setenv("TUNECORE_DISABLE_PLUGINS", " a, b ,,")
    assert settings.names("TUNECORE_DISABLE_PLUGINS") == {"a", "b"}


def test_core_messages_go_to_stderr_with_their_level_and_verbose_maps_onto_the_level(capsys):
    log = get_logger("tunecore.test")
    log.info("an information")
    log.warning("a warning")
    with verbosity(0):
        log.info("hidden at verbose 0")
        log.error("an error")
    log.info("shown again")
    err = capsys.readouterr().err
    assert "tunecore: an information\n" in err and "tunecore: WARNING: a warning\n" in err
    assert "hidden" not in err and "tunecore: ERROR: an error\n" in err and "shown again" in err
    assert logging.getLogger("tunecore").propagate is False


def test_a_run_logs_its_recovery_through_the_hierarchy(ray_session, results_dir, capsys):
    from tunecore.testing import FailsOnce

    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect()
    logging.getLogger("tunecore").addHandler(handler)
    try:
        marker = f"{results_dir}/failed-once"
        tune.run_experiments({"recover": {"run": FailsOnce, "local_dir": results_dir, "checkpoint_freq": 1,
                                          "stop": {"training_iteration": 3},
                                          "config": {"fail_at": 2, "marker": marker}}}, verbose=1)
    finally:
        logging.getLogger("tunecore").removeHandler(handler)
    names = {r.name for r in records}
    assert "tunecore.runner" in names
    assert any("attempting to recover" in r.getMessage() for r in records)
