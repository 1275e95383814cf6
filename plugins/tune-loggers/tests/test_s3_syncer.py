"""S3Syncer and the sync manager against a real S3 server (SeaweedFS on 127.0.0.1)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tune_loggers import S3Syncer, parse_s3_uri
from tunecore import TuneError
from tunecore.plugins import discover
from tunecore.syncers import SyncManager, validate_upload_dir
from tunecore.testing import SyncerContract, folder_listing, wait_for


def write(path, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class TestS3SyncerContract(SyncerContract):
    @pytest.fixture
    def make_syncer(self, s3_env):
        return S3Syncer

    @pytest.fixture
    def remote_uri(self, location):
        return f"s3://{location[0]}/{location[1]}"

    @pytest.fixture
    def remote_listing(self, remote_files, location):
        return lambda: remote_files(*location)

    @pytest.fixture
    def broken_remote_uri(self, s3_env):
        return f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/prefix"


# ------------------------------------------------------------------ the URI
def test_parse_s3_uri():
    assert parse_s3_uri("s3://my-bucket/a/b/") == ("my-bucket", "a/b")
    assert parse_s3_uri("s3://my.bucket") == ("my.bucket", "")
    for bad in ("s3://", "s3://ab/x", "s3://Upper/x", "gs://bucket/x"):
        with pytest.raises(TuneError):
            parse_s3_uri(bad)


def test_validate_upload_dir_with_the_plugin_installed():
    pm = discover()
    assert {"file", "s3"} <= set(pm.syncers.names())
    validate_upload_dir("s3://my-bucket/experiments", pm)
    with pytest.raises(TuneError, match="must name an S3 bucket"):
        validate_upload_dir("s3:///experiments", pm)
    with pytest.raises(TuneError) as info:
        validate_upload_dir("gs://my-bucket/experiments", pm)
    assert "file://, s3://" in str(info.value)


# ------------------------------------------------------------------ the syncer
def test_endpoint_and_credentials_from_an_aws_profile(s3_env, location, tmp_path, monkeypatch, remote_files):
    for var in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile tl-test]\nregion = us-east-1\nendpoint_url = {s3_env.endpoint}\n")
    creds = tmp_path / "aws-credentials"
    creds.write_text("[tl-test]\naws_access_key_id = prof\naws_secret_access_key = prof\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "tl-test")
    src = tmp_path / "exp"
    write(src / "a.txt", b"from a profile")
    syncer = S3Syncer(str(src), f"s3://{location[0]}/{location[1]}")
    assert syncer.sync_up().files_sent == 1
    syncer.close()
    assert remote_files(*location) == {"a.txt": b"from a profile"}


def test_large_files_go_up_as_multipart(s3_env, location, tmp_path, remote_files):
    src = tmp_path / "exp"
    big = os.urandom(6 * 1024 * 1024)
    write(src / "checkpoint_1" / "model.bin", big)
    write(src / "params.json", b"{}")
    syncer = S3Syncer(str(src), f"s3://{location[0]}/{location[1]}", multipart_threshold=5 * 1024 * 1024)
    stats = syncer.sync_up()
    assert (stats.files_sent, stats.bytes_sent) == (2, len(big) + 2)
    head = s3_env.client().head_object(Bucket=location[0], Key=f"{location[1]}/checkpoint_1/model.bin")
    assert "-" in head["ETag"]  # a multipart upload's ETag is "<md5 of md5s>-<parts>"
    assert remote_files(*location)["checkpoint_1/model.bin"] == big
    syncer.close()


def test_failed_files_are_sent_by_the_next_sync(s3_env, tmp_path, remote_files):
    name = f"tl-late-{uuid.uuid4().hex[:8]}"
    src = tmp_path / "exp"
    write(src / "a.txt", b"a")
    write(src / "b" / "c.txt", b"c")
    syncer = S3Syncer(str(src), f"s3://{name}/p")
    with pytest.raises(Exception, match="NoSuchBucket"):
        syncer.sync_up()  # the bucket does not exist yet
    s3_env.client().create_bucket(Bucket=name)
    stats = syncer.sync_up()
    assert stats.files_sent == 2
    assert remote_files(name, "p") == {"a.txt": b"a", "b/c.txt": b"c"}
    syncer.close()


# ------------------------------------------------------------------ the manager, end to end
def test_manager_survives_an_outage_and_catches_up(s3_env, location, tmp_path, capsys, remote_files):
    bucket, prefix = location
    upload_dir = f"s3://{bucket}/{prefix}"
    exp = tmp_path / "results" / "outage_exp"
    write(exp / "experiment_state.json", b'{"trials": 1}')
    write(exp / "trial_1" / "result.json", b'{"training_iteration": 1}\n')
    pm = discover()
    manager = SyncManager(str(exp), upload_dir, pm, period=0.2, min_backoff=0.1, max_backoff=0.3)
    assert manager.remote_uri == f"{upload_dir}/outage_exp"
    remote = lambda: remote_files(bucket, f"{prefix}/outage_exp")  # noqa: E731
    manager.start()
    wait_for(lambda: remote() == folder_listing(exp), what="the first sync")
    try:
        s3_env.crash()
        with open(exp / "trial_1" / "result.json", "ab") as f:
            f.write(b'{"training_iteration": 2}\n')
        write(exp / "trial_2" / "result.json", b"written while S3 was down")
        wait_for(lambda: manager.syncs_failed >= 2, what="failed syncs while S3 is down")
        assert not manager.healthy
        err = capsys.readouterr().err
        assert err.count("WARNING") == 1 and f"{upload_dir}/outage_exp" in err

        # a manager closed while S3 is down gives up after its timeout and says so
        other = tmp_path / "results" / "other_exp"
        write(other / "x.txt", b"x")
        t0 = time.monotonic()
        assert SyncManager(str(other), upload_dir, pm, period=60, min_backoff=0.1).close(timeout=1.0) is False
        assert time.monotonic() - t0 < 8
        assert "did not succeed within 1s" in capsys.readouterr().err
    finally:
        if s3_env.proc is None:
            s3_env.start()  # same ports, same data dir
    wait_for(lambda: manager.healthy, what="recovery after the restart")
    assert remote() == folder_listing(exp)  # everything missed during the outage went up
    write(exp / "trial_3" / "result.json", b"at the end")
    assert manager.close(timeout=30) is True
    assert remote() == folder_listing(exp)
    err = capsys.readouterr().err
    assert err.count("work again") == 1 and "WARNING" not in err


def test_empty_files_do_not_stall_the_next_upload(s3_env, location, tmp_path, remote_files):
    # Regression: an empty body sent with "Expect: 100-continue" left a stale response on
    # the pooled connection, and the next upload waited for its 60 s read timeout.
    src = tmp_path / "exp"
    write(src / "error.txt", b"")
    syncer = S3Syncer(str(src), f"s3://{location[0]}/{location[1]}", max_workers=1)
    assert syncer.sync_up().files_sent == 1
    t0 = time.monotonic()
    for i in range(3):
        write(src / f"f{i}.json", b"{}")
        assert syncer.sync_up().files_sent == 1
    assert time.monotonic() - t0 < 10
    syncer.close()
    assert remote_files(*location) == {"error.txt": b"", "f0.json": b"{}", "f1.json": b"{}", "f2.json": b"{}"}


def test_a_new_syncer_does_not_resend_what_s3_already_holds(s3_env, location, tmp_path, remote_files):
    # An experiment resumed by a new process: files already on S3, unchanged, stay put.
    src = tmp_path / "exp"
    write(src / "trial_1" / "result.json", b'{"training_iteration": 1}\n')
    write(src / "experiment_state.json", b"{}")
    uri = f"s3://{location[0]}/{location[1]}"
    first = S3Syncer(str(src), uri)
    assert first.sync_up().files_sent == 2
    first.close()
    with open(src / "trial_1" / "result.json", "ab") as f:
        f.write(b'{"training_iteration": 2}\n')
    resumed = S3Syncer(str(src), uri)
    stats = resumed.sync_up()
    assert (stats.files_sent, stats.files_unchanged) == (1, 1)
    assert resumed.sync_up().files_sent == 0
    resumed.close()
    assert remote_files(*location) == folder_listing(src)
