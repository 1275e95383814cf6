"""The syncer interface: mirror an experiment folder to a remote URI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SyncStats:
    """What one ``sync_up`` did."""

    files_sent: int = 0
    bytes_sent: int = 0
    files_unchanged: int = 0


class Syncer:
    """Copies ``local_dir`` to ``remote_uri``; registered per URI scheme.

    Called by: the core's sync manager, from its own background thread (never the
    runner's loop), periodically and once more at the end. ``sync_up`` must be
    incremental (skip files unchanged since the last successful send) and raise on
    failure; the manager retries with backoff and warns once.
    """

    def __init__(self, local_dir: str, remote_uri: str, **options: object) -> None:
        self.local_dir = local_dir
        self.remote_uri = remote_uri
        self.options = options

    def sync_up(self) -> SyncStats:
        """Send new and changed files. Raises on failure."""
        raise NotImplementedError

    def close(self) -> None:
        """Release clients and connections."""
