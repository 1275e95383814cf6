"""The sync manager and the core's file:// syncer, on real folders."""

from __future__ import annotations

import os
import time

import pytest

from tunecore import TuneError, _builtins, hookimpl
from tunecore.plugins import PluginManager
from tunecore.syncers import LocalSyncer, Syncer, SyncManager, SyncStats, remote_uri_for, scheme_of, validate_upload_dir
from tunecore.testing import wait_for


def core_only() -> PluginManager:
    pm = PluginManager()
    pm.add_plugin(_builtins, "tunecore", status="builtin")
    return pm


def write(path, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def read(path) -> str:
    with open(path) as f:
        return f.read()


@pytest.fixture
def experiment(tmp_path):
    exp = tmp_path / "results" / "my_exp"
    write(exp / "trial_1" / "params.json", '{"lr": 0.1}')
    write(exp / "trial_1" / "result.json", '{"x": 1}\n')
    write(exp / "experiment_state.json", "{}")
    return exp


# ------------------------------------------------------------------ validation
def test_builtin_file_syncer_is_registered():
    pm = core_only()
    assert "file" in pm.syncers.names()
    assert pm.syncers.get("file") is LocalSyncer
    assert [r.provides for r in pm.records if r.name == "tunecore"][0]["syncers"] == ["file"]


def test_scheme_and_remote_mapping():
    assert scheme_of("s3://bucket/prefix") == "s3"
    assert scheme_of("S3://bucket") == "s3"
    assert scheme_of("/no/scheme") is None
    assert remote_uri_for("/tmp/results/exp1/", "s3://b/pre") == "s3://b/pre/exp1"
    assert remote_uri_for("/tmp/results/exp1", "s3://b/pre/") == "s3://b/pre/exp1"
    assert remote_uri_for("/tmp/results/exp1", "file:///") == "file:///exp1"


def test_upload_dir_without_scheme_is_refused():
    with pytest.raises(TuneError) as info:
        validate_upload_dir("/mnt/backups", core_only())
    msg = str(info.value)
    assert "upload_dir='/mnt/backups'" in msg and "file://" in msg


def test_unknown_scheme_lists_supported_and_s3_names_the_plugin():
    pm = core_only()
    with pytest.raises(TuneError) as info:
        validate_upload_dir("gs://bucket/x", pm)
    assert "'gs'" in str(info.value) and "file://" in str(info.value)
    assert "pip install" not in str(info.value)
    with pytest.raises(TuneError) as info:
        validate_upload_dir("s3://bucket/x", pm)
    assert "pip install tune-loggers" in str(info.value)


def test_empty_upload_dir_means_no_upload_and_file_passes(tmp_path):
    pm = core_only()
    validate_upload_dir("", pm)
    validate_upload_dir(None, pm)
    validate_upload_dir(f"file://{tmp_path}", pm)


def test_manager_validates_its_arguments(tmp_path):
    with pytest.raises(TuneError, match="sync_period must be a number of seconds > 0, but got sync_period=0"):
        SyncManager(str(tmp_path), f"file://{tmp_path}/m", core_only(), period=0)
    with pytest.raises(TuneError, match="scheme"):
        SyncManager(str(tmp_path), "ftp://host/x", core_only())


# ------------------------------------------------------------------ LocalSyncer
def test_local_syncer_is_incremental(experiment, tmp_path):
    target = tmp_path / "mirror"
    s = LocalSyncer(str(experiment), f"file://{target}")
    first = s.sync_up()
    assert (first.files_sent, first.files_unchanged) == (3, 0)
    assert first.bytes_sent == sum(os.path.getsize(p) for p in experiment.rglob("*") if p.is_file())
    assert read(target / "trial_1" / "params.json") == '{"lr": 0.1}'
    again = s.sync_up()
    assert (again.files_sent, again.files_unchanged) == (0, 3)
    with open(experiment / "trial_1" / "result.json", "a") as f:
        f.write('{"x": 2}\n')
    write(experiment / "trial_2" / "params.json", "{}")
    third = s.sync_up()
    assert (third.files_sent, third.files_unchanged) == (2, 2)
    assert read(target / "trial_1" / "result.json") == '{"x": 1}\n{"x": 2}\n'
    assert not [p for p in target.rglob(".tmp-*")]


def test_a_new_local_syncer_does_not_recopy_an_unchanged_mirror(experiment, tmp_path):
    uri = f"file://{tmp_path}/mirror"
    assert LocalSyncer(str(experiment), uri).sync_up().files_sent == 3
    with open(experiment / "trial_1" / "result.json", "a") as f:
        f.write('{"x": 2}\n')
    resumed = LocalSyncer(str(experiment), uri)  # e.g. the experiment resumed in a new process
    stats = resumed.sync_up()
    assert (stats.files_sent, stats.files_unchanged) == (1, 2)
    assert read(tmp_path / "mirror" / "trial_1" / "result.json") == '{"x": 1}\n{"x": 2}\n'


def test_local_syncer_skips_temp_files_and_tolerates_missing_source(tmp_path):
    src = tmp_path / "exp"
    s = LocalSyncer(str(src), f"file://{tmp_path}/mirror")
    assert s.sync_up().files_sent == 0  # the folder does not exist yet
    write(src / ".tmp-abc", "half written")
    write(src / "a.txt", "a")
    assert s.sync_up().files_sent == 1
    assert not (tmp_path / "mirror" / ".tmp-abc").exists()


def test_local_syncer_refuses_a_target_inside_the_source(tmp_path):
    with pytest.raises(TuneError, match="inside the folder it mirrors"):
        LocalSyncer(str(tmp_path), f"file://{tmp_path}/sub")


def test_local_syncer_raises_when_target_is_unusable(experiment, tmp_path):
    write(tmp_path / "blocker", "a file where a folder should be")
    s = LocalSyncer(str(experiment), f"file://{tmp_path}/blocker/mirror")
    with pytest.raises(OSError):
        s.sync_up()


# ------------------------------------------------------------------ SyncManager
def test_manager_mirrors_periodically_and_on_close(experiment, tmp_path):
    pm = core_only()
    m = SyncManager(str(experiment), f"file://{tmp_path}/remote", pm, period=0.1)
    mirror = tmp_path / "remote" / "my_exp"
    assert m.remote_uri == f"file://{tmp_path}/remote/my_exp"
    m.start()
    wait_for(lambda: (mirror / "trial_1" / "result.json").exists(), what="first sync")
    write(experiment / "trial_2" / "result.json", "new")
    wait_for(lambda: (mirror / "trial_2" / "result.json").exists(), what="periodic sync")
    write(experiment / "trial_3" / "result.json", "at the end")
    assert m.close(timeout=10) is True
    assert read(mirror / "trial_3" / "result.json") == "at the end"
    assert m.syncs_failed == 0 and m.syncs_ok >= 3
    assert m.close() is True  # idempotent


def test_close_makes_the_final_sync_even_with_a_long_period(experiment, tmp_path):
    m = SyncManager(str(experiment), f"file://{tmp_path}/remote", core_only(), period=3600)
    m.start()
    wait_for(lambda: m.syncs_ok == 1, what="initial sync")
    write(experiment / "late.txt", "late")
    t0 = time.monotonic()
    assert m.close() is True
    assert time.monotonic() - t0 < 2
    assert read(tmp_path / "remote" / "my_exp" / "late.txt") == "late"


def test_close_without_start_still_syncs(experiment, tmp_path):
    m = SyncManager(str(experiment), f"file://{tmp_path}/remote", core_only(), period=3600)
    assert m.close() is True
    assert (tmp_path / "remote" / "my_exp" / "experiment_state.json").exists()


def test_trigger_syncs_soon_without_waiting_for_the_period(experiment, tmp_path):
    m = SyncManager(str(experiment), f"file://{tmp_path}/remote", core_only(), period=3600, min_gap=0.05)
    m.start()
    wait_for(lambda: m.syncs_ok == 1, what="initial sync")
    write(experiment / "trial_9" / "result.json", "done")
    t0 = time.monotonic()
    m.trigger()
    assert m.trigger() is None  # non-blocking, coalesced
    wait_for(lambda: (tmp_path / "remote" / "my_exp" / "trial_9" / "result.json").exists(), timeout=5,
             what="triggered sync")
    assert time.monotonic() - t0 < 5
    assert m.close() is True


def test_remote_down_warns_once_retries_and_catches_up(experiment, tmp_path, capsys):
    blocker = tmp_path / "remote"
    write(blocker, "the remote is down while this is a file")
    m = SyncManager(str(experiment), f"file://{blocker}", core_only(), period=0.05, min_backoff=0.02,
                    max_backoff=0.05)
    m.start()
    wait_for(lambda: m.syncs_failed >= 4, what="repeated failures")
    assert not m.healthy and isinstance(m.last_error, OSError)
    write(experiment / "trial_1" / "while_down.txt", "written while the remote was down")
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and f"file://{blocker}/my_exp" in err and "retried" in err
    os.unlink(blocker)  # the remote comes back
    wait_for(lambda: m.healthy and m.syncs_ok >= 1, what="recovery")
    mirror = blocker / "my_exp"
    assert read(mirror / "trial_1" / "while_down.txt") == "written while the remote was down"
    assert (mirror / "experiment_state.json").exists()
    err = capsys.readouterr().err
    assert err.count("work again") == 1 and "WARNING" not in err
    assert m.close(timeout=5) is True


def test_close_gives_up_after_the_timeout_and_says_so(experiment, tmp_path, capsys):
    blocker = tmp_path / "remote"
    write(blocker, "down")
    m = SyncManager(str(experiment), f"file://{blocker}", core_only(), period=0.05, min_backoff=0.02)
    m.start()
    t0 = time.monotonic()
    assert m.close(timeout=0.5) is False
    assert 0.4 < time.monotonic() - t0 < 3
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "ERROR" in err and "did not succeed within 0.5s" in err
    assert (experiment / "trial_1" / "params.json").exists()  # local data is untouched


class _RecordingSyncer(Syncer):
    """An ad-hoc plugin syncer: records the URIs it is built with and every sync."""

    built: list = []

    def __init__(self, local_dir, remote_uri, **options):
        super().__init__(local_dir, remote_uri, **options)
        self.calls = 0
        self.closed = False
        _RecordingSyncer.built.append(self)

    def sync_up(self) -> SyncStats:
        self.calls += 1
        return SyncStats(files_sent=1)

    def close(self) -> None:
        self.closed = True


class _MemPlugin:
    @hookimpl
    def tunecore_register_syncers(self, register):
        register("mem", _RecordingSyncer)


def test_manager_builds_the_registered_syncer_by_scheme(experiment):
    pm = core_only()
    pm.add_plugin(_MemPlugin(), "mem-plugin")
    validate_upload_dir("mem://store/prefix", pm)
    m = SyncManager(str(experiment), "mem://store/prefix", pm, period=3600)
    syncer = _RecordingSyncer.built[-1]
    assert (syncer.local_dir, syncer.remote_uri) == (str(experiment), "mem://store/prefix/my_exp")
    assert m.close() is True
    assert syncer.calls == 1 and syncer.closed and m.files_sent == 1
