"""The status in Jupyter: one HTML table, updated in place, instead of ANSI redraws.

:func:`default_printer` is what a run prints through when it is given no printer: a
:class:`NotebookPrinter` inside a Jupyter kernel, else the terminal's
:class:`~tunecore.execution.status.ProgressPrinter`. IPython is imported only in a kernel.
"""

from __future__ import annotations

import html
import json
import sys
from typing import Any, Callable, Optional

from tunecore import result as R
from tunecore.execution.status import ProgressPrinter, StatusView, pick_metric
from tunecore.execution.trial import Trial
from tunecore.util import as_float

__all__ = ["NotebookPrinter", "default_printer", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (not a terminal IPython, not plain Python)."""
    if "IPython" not in sys.modules:  # a kernel has imported it; never import it just to ask
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - a broken IPython
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _ipython_display(obj: Any, display_id: bool = True) -> Any:
    from IPython.display import display

    return display(obj, display_id=display_id)


def _html(markup: str) -> Any:
    try:
        from IPython.display import HTML
    except ImportError:  # the injected display of a test gets the markup itself
        return markup
    return HTML(markup)


def _cell(value: Any) -> str:
    number = as_float(value)
    if number is not None and not isinstance(value, (bool, str)):
        text = f"{number:.6g}"
    else:
        text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
    return html.escape(text)


def _searched_keys(trials: list[Trial]) -> list[str]:
    """The top-level config keys whose values differ between trials (what was searched)."""
    seen: dict[str, set[str]] = {}
    for t in trials:
        for key, value in (t.config or {}).items():
            seen.setdefault(key, set()).add(json.dumps(value, default=str, sort_keys=True))
    varied = [k for k, values in seen.items() if len(values) > 1]
    return sorted(varied) or sorted(seen)[:5]


def status_html(view: StatusView) -> str:
    """The status as HTML: the header lines, the counts, one table row a trial (at most ``max_rows``)."""
    trials = view.trials
    metric, _ = pick_metric(trials, view.metric, view.mode)
    keys = _searched_keys(trials)
    metrics = [R.TRAINING_ITERATION, R.TIME_TOTAL_S] + ([metric] if metric else [])
    shown = trials if view.max_rows is None else trials[: view.max_rows]
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    head = [view.scheduler_line] + ([view.resources_line] if view.resources_line else [])
    head += [f"Result logdir: {d}" for d in view.logdirs]
    head.append(f"Number of trials: {len(trials)} (" + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))
                + ")")
    rows = []
    for t in shown:
        last = t.last_result or {}
        where = t.location if t.status.value == "RUNNING" and t.location else None
        host = "" if where is None else (f"pid {where[1]}" if where[0] in (None, view.driver_host)
                                         else f"{where[0]} pid {where[1]}")
        cells = [str(t), t.status.value, host] + [(t.config or {}).get(k, "") for k in keys]
        cells += [last.get(m, "") for m in metrics]
        rows.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + "</tr>")
    header = ["Trial name", "status", "loc"] + keys + metrics
    more = len(trials) - len(shown)
    return (
        '<div class="tunecore-status"><h4>Status</h4>'
        + "".join(f"<div>{html.escape(line)}</div>" for line in head)
        + "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"
        + "".join(rows) + "</tbody></table>"
        + (f"<div>... {more} more not shown</div>" if more > 0 else "")
        + "</div>"
    )


class NotebookPrinter(ProgressPrinter):
    """:class:`ProgressPrinter` for Jupyter: the table is one display, updated in place.

    Results are not dumped one by one (the table shows each trial's latest): a notebook
    cell that prints every result grows without end. The closing summary is shown below
    the last table, as preformatted text naming the best trial.

    Args:
        verbose: 0 shows nothing but the summary; more shows the table.
        interval: at most one refresh of the table every ``interval`` seconds.
        display: ``display(obj, display_id=True) -> handle with .update(obj)`` (IPython's by
            default).
    """

    def __init__(self, verbose: int = 2, interval: float = 1.0,
                 display: Optional[Callable[..., Any]] = None) -> None:
        super().__init__(verbose=verbose, interval=interval)
        self._display = display or _ipython_display
        self._handle: Any = None
        self._view: Optional[StatusView] = None

    def _show(self, markup: str) -> None:
        if self._handle is None:
            self._handle = self._display(_html(markup), display_id=True)
        else:
            self._handle.update(_html(markup))

    def table(self, text: Any, force: bool = False, in_place: bool = True) -> None:
        if isinstance(text, StatusView):
            self._view = text
        if self.verbose <= 0:
            return
        super().table(text, force, in_place)

    def _write(self, text: str, in_place: bool) -> None:  # called by table() when due
        if self._view is not None:
            self._show(status_html(self._view))
        else:
            self._show(f"<pre>{html.escape(text)}</pre>")

    def result(self, trial: Trial, result: dict) -> None:
        """Nothing: the table shows the latest result of each trial."""

    def summary(self, text: str) -> None:
        """The last table with ``text`` (the closing summary, naming the best trial) below it."""
        closing = f"<pre>{html.escape(text)}</pre>"
        if self._view is not None and self.verbose > 0:
            closing = status_html(self._view) + closing
        self._show(closing)


def default_printer(verbose: int = 2) -> ProgressPrinter:
    """The printer of a run that was given none: HTML in Jupyter, text elsewhere."""
    return NotebookPrinter(verbose=verbose) if in_notebook() else ProgressPrinter(verbose=verbose)
