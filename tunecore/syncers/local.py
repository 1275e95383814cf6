"""The core's ``file://`` syncer, and the change tracker every syncer uses to stay incremental."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlsplit

from tunecore.errors import TuneError
from tunecore.syncers._base import Syncer, SyncStats
from tunecore.util import atomic_open

#: Names never uploaded: atomic-write temp files that are about to be renamed.
_SKIP_PREFIXES = (".tmp-",)


@dataclass(frozen=True)
class LocalFile:
    """One file of the tree to send.

    Attributes:
        relpath: the path below the synced folder, with ``/`` separators.
        path: the absolute local path.
        key: ``(size, mtime_ns)`` as seen before sending; recorded once sent.
    """

    relpath: str
    path: str
    key: tuple


class ChangeTracker:
    """Remembers what was sent, so a sync only sends new and changed files.

    A file counts as unchanged when its size and modification time (ns) equal
    those recorded when it was last sent successfully. The stat is taken *before*
    the file is read, so a file that grows while it is sent is sent again next time.
    Thread-safe: uploads may run in a pool.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self._sent: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def walk(self) -> Iterator[LocalFile]:
        """Every regular file below the root (none if the root does not exist yet)."""
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                if name.startswith(_SKIP_PREFIXES):
                    continue
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:  # removed between listing and stat
                    continue
                rel = os.path.relpath(path, self.root).replace(os.sep, "/")
                yield LocalFile(rel, path, (st.st_size, st.st_mtime_ns))

    def changes(self) -> tuple[list[LocalFile], int]:
        """The files to send now, and how many are unchanged since their last send."""
        todo: list[LocalFile] = []
        unchanged = 0
        with self._lock:
            for f in self.walk():
                if self._sent.get(f.relpath) == f.key:
                    unchanged += 1
                else:
                    todo.append(f)
        return todo, unchanged

    def mark_sent(self, f: LocalFile) -> None:
        """Record ``f`` as sent (call only after the remote confirmed it)."""
        with self._lock:
            self._sent[f.relpath] = f.key

    def forget(self) -> None:
        """Send everything again on the next sync."""
        with self._lock:
            self._sent.clear()


def local_path_of(uri: str) -> str:
    """The folder a ``file://`` URI names: ``file:///abs/dir`` or ``file://rel/dir``."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise TuneError(f"LocalSyncer needs a file:// URI, but got remote_uri={uri!r}")
    host = parts.netloc if parts.netloc not in ("", "localhost") else ""
    path = unquote(host + parts.path)
    if not path:
        raise TuneError(f"A file:// upload_dir needs a folder, e.g. file:///backups/results, but got {uri!r}")
    return os.path.abspath(path)


class LocalSyncer(Syncer):
    """Mirrors ``local_dir`` into a local folder named by a ``file://`` URI.

    New and changed files are copied (through a temp file and a rename, so the
    mirror never holds a half-written file); files deleted locally are kept in
    the mirror. Useful for a network mount or a second disk, and as the core's
    reference syncer.
    """

    def __init__(self, local_dir: str, remote_uri: str, **options: object) -> None:
        super().__init__(local_dir, remote_uri, **options)
        self.target = local_path_of(remote_uri)
        src = os.path.abspath(local_dir)
        if self.target == src or self.target.startswith(src + os.sep):
            raise TuneError(
                f"upload_dir {remote_uri!r} lies inside the folder it mirrors ({src}); "
                "choose a folder outside the experiment."
            )
        self.tracker = ChangeTracker(local_dir)
        self._first = True

    def sync_up(self) -> SyncStats:
        """Copy new and changed files. Raises ``OSError`` when the target is not writable."""
        todo, unchanged = self.tracker.changes()
        stats = SyncStats(files_unchanged=unchanged)
        os.makedirs(self.target, exist_ok=True)
        first, self._first = self._first, False
        for f in todo:
            dst = os.path.join(self.target, *f.relpath.split("/"))
            if first and _same_file(dst, f):
                self.tracker.mark_sent(f)
                stats.files_unchanged += 1
                continue
            sent = _copy_atomic(f.path, dst)
            if sent is None:
                continue
            self.tracker.mark_sent(f)
            stats.files_sent += 1
            stats.bytes_sent += sent
        return stats


def _same_file(dst: str, f: LocalFile) -> bool:
    try:
        st = os.stat(dst)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == f.key


class _Vanished(Exception):
    """The file to copy was deleted before it could be read."""


def _copy_atomic(src: str, dst: str) -> Optional[int]:
    """Copy ``src`` to ``dst`` via a temp file; the bytes copied, or None if ``src`` vanished."""
    try:
        with atomic_open(dst, "wb") as out:
            try:
                with open(src, "rb") as inp:
                    shutil.copyfileobj(inp, out, 1 << 20)
            except FileNotFoundError:
                raise _Vanished from None
            size = out.tell()
            out.flush()
            with contextlib.suppress(FileNotFoundError):
                shutil.copystat(src, out.name)
    except _Vanished:
        return None
    return size
