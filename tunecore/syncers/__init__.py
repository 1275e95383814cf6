"""Syncers mirror the experiment folder to ``upload_dir``."""

from tunecore.syncers._base import Syncer, SyncStats

__all__ = ["SyncStats", "Syncer"]
