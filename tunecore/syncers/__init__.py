"""Syncers mirror the experiment folder to ``upload_dir``; the sync manager runs them."""

from tunecore.syncers._base import Syncer, SyncStats
from tunecore.syncers._manager import SyncManager, remote_uri_for, scheme_of, validate_upload_dir
from tunecore.syncers.local import ChangeTracker, LocalFile, LocalSyncer

__all__ = [
    "ChangeTracker",
    "LocalFile",
    "LocalSyncer",
    "SyncManager",
    "SyncStats",
    "Syncer",
    "remote_uri_for",
    "scheme_of",
    "validate_upload_dir",
]
