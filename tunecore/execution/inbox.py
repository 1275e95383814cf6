"""Work other threads hand to the runner's loop (the HTTP server's changes, for one)."""

from __future__ import annotations

import concurrent.futures
import queue
from typing import Any, Callable

from tunecore.errors import TuneError


class Inbox:
    """Functions submitted from any thread, run on the loop's thread by :meth:`drain`.

    Only the loop's thread changes the runner's state; another thread submits a function
    and waits on the future it gets back.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future]] = queue.Queue()

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future:
        """Queue ``fn``; the future gets its return value or its exception."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((fn, future))
        return future

    def drain(self, after_each: Callable[[], None], timeout: float = 0.0) -> None:
        """Run everything queued (waiting up to ``timeout`` for the first), ``after_each`` after each."""
        try:
            fn, fut = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return
        while True:
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    fut.set_exception(exc)
            after_each()
            try:
                fn, fut = self._queue.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        """The loop has ended: fail whatever other threads still wait for."""
        while True:
            try:
                _, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(TuneError("The experiment has ended; the request was not carried out."))
