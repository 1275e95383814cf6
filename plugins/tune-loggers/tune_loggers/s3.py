"""The ``s3://`` syncer: mirrors an experiment folder to S3 (or an S3-compatible store) with boto3."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from tunecore import TuneError
from tunecore.syncers import ChangeTracker, LocalFile, Syncer, SyncStats

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``"s3://bucket/a/b/"`` -> ``("bucket", "a/b")``.

    Raises:
        TuneError: not an ``s3://`` URI, or the bucket name is not a valid S3 bucket name.
    """
    if not isinstance(uri, str) or not uri.lower().startswith("s3://"):
        raise TuneError(f"S3Syncer needs an s3:// URI, but got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    if not _BUCKET.match(bucket):
        raise TuneError(
            f"upload_dir {uri!r} must name an S3 bucket (3-63 characters: lowercase letters, digits, "
            f"'.' and '-'), e.g. s3://my-bucket/experiments; got bucket={bucket!r}"
        )
    return bucket, prefix.strip("/")


class S3UploadError(RuntimeError):
    """Some files of a sync could not be uploaded; the next sync sends them again."""


class S3Syncer(Syncer):
    """Uploads new and changed files of ``local_dir`` under ``s3://bucket/prefix/``.

    Credentials, region and endpoint come from the standard AWS configuration that
    boto3 reads: the environment (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``,
    ``AWS_ENDPOINT_URL`` for S3-compatible stores such as SeaweedFS or MinIO), the
    shared config and credentials files, instance roles. The bucket must exist.

    Uploads are incremental: a file is sent again only when its size or mtime
    changed since it was last sent successfully; on the first sync, a file S3 already
    holds with the same size and a LastModified no older than the local mtime (a
    resumed experiment) is not sent again, as ``aws s3 sync`` does. Files go up in parallel; the first
    failure stops the rest of this sync and ``sync_up`` raises, leaving the unsent
    files for the next sync. Files deleted locally stay on S3.

    Args:
        local_dir: the folder to mirror.
        remote_uri: ``s3://bucket/prefix``.
        endpoint_url: overrides the endpoint from the AWS configuration.
        max_workers: parallel uploads.
        multipart_threshold: files at least this large (bytes) go up as multipart uploads.
    """

    def __init__(self, local_dir: str, remote_uri: str, *, endpoint_url: Optional[str] = None,
                 max_workers: int = 8, multipart_threshold: int = 64 * 1024 * 1024,
                 **options: Any) -> None:
        super().__init__(local_dir, remote_uri, **options)
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise TuneError(f"max_workers must be an int >= 1, but got max_workers={max_workers!r}")
        self.bucket, self.prefix = parse_s3_uri(remote_uri)
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers
        self.multipart_threshold = multipart_threshold
        self.tracker = ChangeTracker(local_dir)
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._listed = False

    @staticmethod
    def validate_uri(uri: str) -> None:
        """Checked by ``validate_upload_dir`` before any trial starts."""
        parse_s3_uri(uri)

    def key_of(self, relpath: str) -> str:
        return f"{self.prefix}/{relpath}" if self.prefix else relpath

    def client(self) -> Any:
        """The boto3 S3 client, built on first use (boto3 is imported only here)."""
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=5, read_timeout=60,
                                retries={"max_attempts": 2, "mode": "standard"},
                                max_pool_connections=max(10, self.max_workers))
                session = boto3.session.Session()
                self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
            return self._client

    def sync_up(self) -> SyncStats:
        """Send new and changed files; raises on the first failure (after the others stop)."""
        todo, unchanged = self.tracker.changes()
        stats = SyncStats(files_unchanged=unchanged)
        if not todo:
            return stats
        client = self.client()
        if not self._listed:
            todo = self._skip_already_there(client, todo, stats)
            self._listed = True
        abort = threading.Event()
        errors: list[BaseException] = []
        lock = threading.Lock()

        def send(f: LocalFile) -> None:
            if abort.is_set():
                return
            try:
                size = self._put(client, f)
            except Exception as exc:
                abort.set()
                with lock:
                    errors.append(exc)
                return
            if size is None:
                return
            self.tracker.mark_sent(f)
            with lock:
                stats.files_sent += 1
                stats.bytes_sent += size

        workers = min(self.max_workers, len(todo))
        if workers == 1:
            for f in todo:
                send(f)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="tunecore-s3") as pool:
                list(pool.map(send, todo))
        if errors:
            first = errors[0]
            raise S3UploadError(
                f"failed after {stats.files_sent} of {len(todo)} files (the rest go with the next sync): "
                f"{type(first).__name__}: {first}"
            ) from first
        return stats

    def _skip_already_there(self, client: Any, todo: list[LocalFile], stats: SyncStats) -> list[LocalFile]:
        """Drop (and record as sent) the files S3 already holds unchanged."""
        start = f"{self.prefix}/" if self.prefix else ""
        remote: dict[str, tuple[int, float]] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for obj in page.get("Contents", []):
                remote[obj["Key"][len(start):]] = (obj["Size"], obj["LastModified"].timestamp())
        if not remote:
            return todo
        rest = []
        for f in todo:
            there = remote.get(f.relpath)
            if there is not None and there[0] == f.key[0] and there[1] >= f.key[1] / 1e9 - 1.0:
                self.tracker.mark_sent(f)
                stats.files_unchanged += 1
            else:
                rest.append(f)
        return rest

    def _put(self, client: Any, f: LocalFile) -> Optional[int]:
        """Upload one file; its size in bytes, or None if it vanished before it could be read."""
        key = self.key_of(f.relpath)
        if f.key[0] >= self.multipart_threshold:
            from boto3.s3.transfer import TransferConfig

            try:
                client.upload_file(f.path, self.bucket, key,
                                   Config=TransferConfig(multipart_threshold=self.multipart_threshold,
                                                         max_concurrency=4))
            except FileNotFoundError:
                return None
            return f.key[0]
        try:
            with open(f.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        if data:
            client.put_object(Bucket=self.bucket, Key=key, Body=data)
        else:
            # No Body at all: botocore sends an empty body with "Expect: 100-continue",
            # and some S3-compatible servers (SeaweedFS) answer in a way that leaves a
            # stale response on the pooled connection; the next request then hangs.
            client.put_object(Bucket=self.bucket, Key=key)
        return len(data)

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None
