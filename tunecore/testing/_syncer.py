"""``SyncerContract``: the conformance suite every ``upload_dir`` syncer subclasses."""

from __future__ import annotations

import os
from typing import Callable

import pytest

from tunecore.syncers import Syncer, SyncStats

MakeSyncer = Callable[[str, str], Syncer]



def folder_listing(root: str) -> dict:
    """``{relative/posix/path: bytes}`` of every file under ``root`` (to compare with a remote)."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out

class SyncerContract:
    """Tests every :class:`~tunecore.syncers.Syncer` must pass.

    Subclass it in a ``Test...`` class and provide four fixtures:

    * ``remote_uri``: a fresh, empty remote location (e.g. ``s3://bucket/prefix``);
    * ``make_syncer``: a factory ``(local_dir, remote_uri) -> Syncer``;
    * ``remote_listing``: a zero-argument callable returning ``{relative path: bytes}``
      of everything under ``remote_uri`` (paths with ``/``);
    * ``broken_remote_uri``: a location where ``sync_up`` must fail (a bucket that
      does not exist, a server that is down).

    ::

        class TestMySyncer(SyncerContract):
            @pytest.fixture
            def remote_uri(self, tmp_path):
                return (tmp_path / "remote").as_uri()
            ...
    """

    @pytest.fixture
    def make_syncer(self) -> MakeSyncer:
        raise NotImplementedError(
            f"{type(self).__name__} subclasses SyncerContract: define make_syncer, remote_uri, "
            "remote_listing and broken_remote_uri fixtures")

    @pytest.fixture
    def remote_uri(self) -> str:
        raise NotImplementedError("define a remote_uri fixture: a fresh, empty remote location")

    @pytest.fixture
    def remote_listing(self) -> Callable[[], dict]:
        raise NotImplementedError("define a remote_listing fixture: () -> {relative path: bytes}")

    @pytest.fixture
    def broken_remote_uri(self) -> str:
        raise NotImplementedError("define a broken_remote_uri fixture: a location sync_up fails on")

    @pytest.fixture
    def local_dir(self, tmp_path) -> str:
        """An experiment folder with a few nested files."""
        root = tmp_path / "experiment"
        files = {
            "experiment_state.json": b'{"trials": []}',
            "trial_a/params.json": b'{"lr": 0.1}',
            "trial_a/result.json": b'{"training_iteration": 1}\n',
            "trial_b/checkpoint_1/model.bin": bytes(range(256)) * 8,
        }
        for rel, data in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return str(root)

    @staticmethod
    def local_listing(local_dir: str) -> dict:
        return folder_listing(local_dir)

    # -- the contract ------------------------------------------------------------------
    def test_first_sync_sends_everything(self, make_syncer, local_dir, remote_uri, remote_listing):
        syncer = make_syncer(local_dir, remote_uri)
        try:
            assert isinstance(syncer, Syncer)
            stats = syncer.sync_up()
            assert isinstance(stats, SyncStats)
            local = self.local_listing(local_dir)
            assert stats.files_sent == len(local), f"{len(local)} files to send, files_sent={stats.files_sent}"
            assert stats.bytes_sent == sum(len(v) for v in local.values()), f"bytes_sent={stats.bytes_sent}"
            remote = remote_listing()
            assert remote == local, f"remote has {sorted(remote)}, local has {sorted(local)}"
        finally:
            syncer.close()

    def test_sync_is_incremental(self, make_syncer, local_dir, remote_uri, remote_listing):
        syncer = make_syncer(local_dir, remote_uri)
        try:
            syncer.sync_up()
            n = len(self.local_listing(local_dir))
            again = syncer.sync_up()
            assert again.files_sent == 0, "nothing changed, but files were sent again"
            assert again.files_unchanged == n, f"files_unchanged={again.files_unchanged}, expected {n}"
            with open(os.path.join(local_dir, "trial_a", "result.json"), "ab") as f:
                f.write(b'{"training_iteration": 2}\n')
            os.makedirs(os.path.join(local_dir, "trial_c"))
            with open(os.path.join(local_dir, "trial_c", "params.json"), "wb") as f:
                f.write(b'{"lr": 0.3}')
            third = syncer.sync_up()
            assert third.files_sent == 2, f"one changed and one new file, but sent {third.files_sent}"
            assert third.files_unchanged == n - 1, f"files_unchanged={third.files_unchanged}, expected {n - 1}"
            assert remote_listing() == self.local_listing(local_dir), "the remote differs from the local folder"
        finally:
            syncer.close()

    def test_empty_folder(self, make_syncer, tmp_path, remote_uri):
        empty = tmp_path / "empty"
        empty.mkdir()
        syncer = make_syncer(str(empty), remote_uri)
        try:
            assert syncer.sync_up().files_sent == 0
        finally:
            syncer.close()

    def test_failure_raises(self, make_syncer, local_dir, broken_remote_uri):
        syncer = make_syncer(local_dir, broken_remote_uri)
        try:
            with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
                syncer.sync_up()
        finally:
            syncer.close()

    def test_close_after_sync(self, make_syncer, local_dir, remote_uri):
        syncer = make_syncer(local_dir, remote_uri)
        syncer.sync_up()
        syncer.close()
