"""Containing the failures of the components a result passes through on the driver.

A result goes from the trainable to the scheduler and searcher (which decide, so their
errors fail the trial) and then to components that only display or record it: the
status printer, each logger, the syncers. A display or recording problem must never
end a trial or the experiment, so the runner calls those components through a
:class:`ComponentGuard`: an exception is reported once per component on stderr,
naming the component, the trial and the value it choked on (the ``tunecore`` logger), and that component is
skipped for that value; everything else goes on.
"""

from __future__ import annotations

import reprlib
from typing import Any, Callable

from tunecore._logging import get_logger

log = get_logger("tunecore.guard")  # a stable name, whatever the module path

_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80
_short.maxdict = 8
_short.maxlist = 8
_short.maxlevel = 2


def short_repr(value: Any) -> str:
    """A bounded ``repr`` of ``value`` for a message (never raises)."""
    try:
        return _short.repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


class ComponentGuard:
    """Runs calls into display and recording components; contains what they raise."""

    def __init__(self) -> None:
        self._reported: set[str] = set()
        #: failures per component, reported or not (for tests and the closing summary)
        self.failures: dict[str, int] = {}

    def call(self, component: str, trial: Any, value: Any, fn: Callable[..., Any], *args: Any) -> bool:
        """``fn(*args)``; False (after :meth:`report`) if it raised."""
        try:
            fn(*args)
            return True
        except Exception as exc:
            self.report(component, trial, value, exc)
            return False

    def report(self, component: str, trial: Any, value: Any, exc: BaseException) -> None:
        """Count a failure; the first one of each component is printed on stderr."""
        self.failures[component] = self.failures.get(component, 0) + 1
        if component in self._reported:
            return
        self._reported.add(component)
        where = f" on trial {trial}" if trial is not None else ""
        try:
            what = f"{type(exc).__name__}: {exc}"
        except Exception:
            what = type(exc).__name__
        log.warning("%s failed%s and is skipped for that result (the trial goes on; further failures of %s "
                    "are not printed): %s\ntunecore:   the value it choked on: %s",
                    component, where, component, what, short_repr(value))
