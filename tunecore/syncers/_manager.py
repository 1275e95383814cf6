"""The sync manager: mirrors one experiment folder to ``upload_dir`` from a background thread.

Called by: the TrialRunner. Before any trial starts it calls
:func:`validate_upload_dir`; then, per experiment folder, it builds a
:class:`SyncManager`, calls ``start()``, ``trigger()`` when a trial finishes, and
``close()`` at the end, which makes one last sync for certain (retried with backoff
until it succeeds or the timeout passes).

A failing remote never breaks the experiment: the manager prints one warning when
uploads start failing, keeps retrying with exponential backoff, and prints one line
when they work again; the syncer's change tracker makes the next successful sync
send everything that was missed.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Optional

from tunecore._logging import get_logger
from tunecore.errors import TuneError
from tunecore.syncers._base import SyncStats
from tunecore.util import describe_error

log = get_logger(__name__)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def scheme_of(uri: str) -> Optional[str]:
    """``"s3"`` for ``"s3://bucket/prefix"``; None when ``uri`` has no ``scheme://``."""
    m = _SCHEME.match(uri or "")
    return m.group(1).lower() if m else None


def remote_uri_for(local_dir: str, upload_dir: str) -> str:
    """Where ``local_dir`` goes: ``<upload_dir>/<basename of local_dir>``."""
    name = os.path.basename(os.path.normpath(os.path.abspath(local_dir)))
    return upload_dir + ("" if upload_dir.endswith("/") else "/") + name


def validate_upload_dir(upload_dir: Optional[str], plugin_manager: Any) -> None:
    """Refuse, before any trial starts, an ``upload_dir`` that no installed syncer handles.

    An empty ``upload_dir`` (or None) means "do not upload" and passes.

    Raises:
        TuneError: the URI has no ``scheme://``, names a scheme no syncer is
            registered for (the message lists the schemes that are, and which
            distribution provides a known one), or the syncer rejects the URI.
    """
    if not upload_dir:
        return
    registry = plugin_manager.syncers
    supported = ", ".join(f"{s}://" for s in registry.names()) or "(none)"
    if not isinstance(upload_dir, str):
        raise TuneError(f"upload_dir must be a URI string such as s3://bucket/prefix, but got {upload_dir!r}.")
    scheme = scheme_of(upload_dir)
    if scheme is None:
        raise TuneError(
            f"upload_dir must be a URI with a scheme, such as s3://bucket/prefix or "
            f"file:///mnt/backup, but got upload_dir={upload_dir!r}.\n"
            f"Schemes of the installed syncers: {supported}"
        )
    if scheme not in registry:
        msg = (f"No syncer handles the scheme {scheme!r} of upload_dir={upload_dir!r}.\n"
               f"Schemes of the installed syncers: {supported}")
        hint = registry.unknown_message(scheme)
        if "pip install" in hint:
            msg += "\n" + hint[hint.index(f"{scheme!r} is provided"):]
        raise TuneError(msg)
    check = getattr(registry.get(scheme), "validate_uri", None)
    if callable(check):
        check(upload_dir)


class SyncManager:
    """Mirrors ``local_dir`` to ``<upload_dir>/<basename(local_dir)>`` while the run goes on.

    Args:
        local_dir: the experiment folder.
        upload_dir: the user's ``upload_dir`` URI (its scheme picks the syncer).
        plugin_manager: where syncers are registered (``plugin_manager.syncers``).
        period: seconds between periodic syncs (the experiment's ``sync_period``).
        min_backoff: first retry delay after a failure; doubles up to ``max_backoff``.
        max_backoff: longest retry delay; default ``min(period, 60)`` (at least ``min_backoff``).
        min_gap: a ``trigger()`` never starts a sync sooner than this after the last one.

    Attributes:
        remote_uri: the URI the folder is mirrored to.
        syncs_ok / syncs_failed: counters of finished sync attempts.
        files_sent / bytes_sent: totals over successful and partial syncs.
        last_error: the latest failure (None once a sync succeeds).
    """

    def __init__(self, local_dir: str, upload_dir: str, plugin_manager: Any, period: float = 300.0, *,
                 min_backoff: Optional[float] = None, max_backoff: Optional[float] = None,
                 min_gap: Optional[float] = None) -> None:
        if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
            raise TuneError(f"sync_period must be a number of seconds > 0, but got sync_period={period!r}")
        validate_upload_dir(upload_dir, plugin_manager)
        if not upload_dir:
            raise TuneError("SyncManager needs an upload_dir, but got upload_dir=''")
        self.local_dir = os.path.abspath(local_dir)
        self.upload_dir = upload_dir
        self.remote_uri = remote_uri_for(local_dir, upload_dir)
        self.period = float(period)
        self.min_backoff = float(min_backoff) if min_backoff is not None else min(1.0, self.period)
        self.max_backoff = (float(max_backoff) if max_backoff is not None
                            else max(self.min_backoff, min(60.0, self.period)))
        self.min_gap = float(min_gap) if min_gap is not None else min(2.0, self.period)
        factory = plugin_manager.syncers.get(scheme_of(upload_dir))
        self.syncer = factory(self.local_dir, self.remote_uri)

        self.syncs_ok = 0
        self.syncs_failed = 0
        self.files_sent = 0
        self.bytes_sent = 0
        self.last_error: Optional[BaseException] = None
        self.last_stats: Optional[SyncStats] = None

        self._sync_lock = threading.Lock()  # one sync_up at a time
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._closing = False
        self._closed_result: Optional[bool] = None
        self._triggered = False
        self._down = False
        self._failed_in_outage = 0
        self._backoff = self.min_backoff
        self._next_due = 0.0  # the first sync runs as soon as the thread starts
        self._last_end = float("-inf")

    @property
    def healthy(self) -> bool:
        """False while the remote is failing (between a failed and a successful sync)."""
        return not self._down

    # ----------------------------------------------------------------- runner calls
    def start(self) -> None:
        """Start the background thread (a daemon); returns at once."""
        with self._cond:
            if self._thread is not None or self._closing:
                return
            self._thread = threading.Thread(target=self._loop, name=f"tunecore-sync:{self.remote_uri}",
                                            daemon=True)
            self._thread.start()

    def trigger(self) -> None:
        """Ask for a sync soon (e.g. a trial finished); never blocks.

        Triggers are coalesced, start no sooner than ``min_gap`` after the last sync,
        and do not shorten the backoff while the remote is failing.
        """
        with self._cond:
            self._triggered = True
            self._cond.notify_all()

    def close(self, timeout: float = 120.0) -> bool:
        """Stop the thread and make the final sync, retrying until it succeeds or ``timeout`` passes.

        Returns:
            whether the final sync succeeded (everything on disk now is on the remote).
            Calling ``close`` again returns the first call's answer.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            if self._closed_result is not None:
                return self._closed_result
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        backoff = self.min_backoff
        while True:
            ok = self._sync_once(lock_timeout=max(0.0, deadline - time.monotonic()))
            remaining = deadline - time.monotonic()
            if ok or remaining <= 0:
                break
            time.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, self.max_backoff)
        if not ok:
            log.error("the final upload of %s to %s did not succeed within %gs (last error: %s). The local "
                      "folder is complete; upload it again once the remote works.",
                      self.local_dir, self.remote_uri, timeout, describe_error(self.last_error))
        try:
            self.syncer.close()
        except Exception:  # releasing a client must not turn a good run into a failure
            pass
        with self._cond:
            self._closed_result = ok
        return ok

    # --------------------------------------------------------------------- internals
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closing:
                    now = time.monotonic()
                    due = self._next_due
                    if self._triggered and not self._down:
                        due = min(due, self._last_end + self.min_gap)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._closing:
                    return
                self._triggered = False
            ok = self._sync_once()
            with self._cond:
                self._last_end = time.monotonic()
                if ok:
                    self._backoff = self.min_backoff
                    self._next_due = self._last_end + self.period
                else:
                    self._next_due = self._last_end + self._backoff
                    self._backoff = min(self._backoff * 2, self.max_backoff)

    def _sync_once(self, lock_timeout: float = -1) -> bool:
        """One ``sync_up``; True on success. Never raises."""
        if not self._sync_lock.acquire(timeout=lock_timeout):
            return False
        try:
            try:
                stats = self.syncer.sync_up()
            except Exception as exc:  # any failure of the remote is retried, never raised
                self.syncs_failed += 1
                self._failed_in_outage += 1
                self.last_error = exc
                if not self._down:
                    self._down = True
                    log.warning("uploading %s to %s failed: %s. The experiment goes on; uploads are retried "
                                "with backoff (up to every %gs) and catch up when the remote is back.",
                                self.local_dir, self.remote_uri, describe_error(exc), self.max_backoff)
                return False
            self.syncs_ok += 1
            self.last_stats = stats
            self.files_sent += stats.files_sent
            self.bytes_sent += stats.bytes_sent
            self.last_error = None
            if self._down:
                self._down = False
                log.info("uploads to %s work again; caught up (%d files sent) after %d failed attempts.",
                         self.remote_uri, stats.files_sent, self._failed_in_outage)
            self._failed_in_outage = 0
            return True
        finally:
            self._sync_lock.release()
