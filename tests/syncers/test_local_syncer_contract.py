"""The core's file:// syncer passes tunecore.testing.SyncerContract."""

from __future__ import annotations

import pytest

from tunecore.syncers import LocalSyncer
from tunecore.testing import SyncerContract


class TestLocalSyncerContract(SyncerContract):
    @pytest.fixture
    def make_syncer(self):
        return LocalSyncer

    @pytest.fixture
    def remote_uri(self, tmp_path):
        return (tmp_path / "remote" / "mirror").as_uri()

    @pytest.fixture
    def remote_listing(self, tmp_path):
        return lambda: self.local_listing(str(tmp_path / "remote" / "mirror"))

    @pytest.fixture
    def broken_remote_uri(self, tmp_path):
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where the mirror's parent folder should be")
        return (blocker / "mirror").as_uri()
