"""The status in Jupyter: one HTML table, updated in place, instead of ANSI redraws.

:func:`default_printer` is what a run prints through when it is given no printer: a
:class:`NotebookPrinter` inside a Jupyter kernel, else the terminal's
:class:`~tunecore.execution.status.ProgressPrinter`. IPython is never imported here unless the
process already has it (a kernel has); it is not a dependency of tunecore.
"""

from __future__ import annotations

import html
import json
import os
import sys
from typing import Any, Callable, Optional

from tunecore import result as R
from tunecore.execution.status import ProgressPrinter, StatusView, _sort_key, pick_metric
from tunecore.execution.trial import Trial
from tunecore.util import as_float, flatten_dict

__all__ = ["NotebookPrinter", "default_printer", "in_notebook", "status_html"]

#: At most this many config columns when no config value differs between the trials.
_FIXED_CONFIG_COLUMNS = 5


def in_notebook() -> bool:
    """True inside a Jupyter kernel; False in a terminal IPython, plain Python, or without IPython."""
    if "IPython" not in sys.modules:  # a kernel has imported it; never import it just to ask
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - a broken IPython
        return False
    shell = get_ipython()
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or getattr(shell, "kernel", None) is not None


def _ipython_display(obj: Any, display_id: bool = True) -> Any:
    from IPython.display import display

    return display(obj, display_id=display_id)


def _html(markup: str) -> Any:
    try:
        from IPython.display import HTML
    except ImportError:  # only an injected display (a test's) gets here: it takes the markup itself
        return markup
    return HTML(markup)


def _cell(value: Any) -> str:
    """A table cell's escaped text: numbers to 6 significant digits, anything else as its ``str``."""
    number = as_float(value)
    return html.escape(f"{number:.6g}" if number is not None else str(value))


def _config(trial: Trial) -> dict:
    return flatten_dict(trial.config) if isinstance(trial.config, dict) else {}


def _searched_keys(trials: list[Trial]) -> list[str]:
    """The (flattened) config keys whose values differ between trials: what was searched.

    When none differ (one trial, or a fixed config), the first few keys.
    """
    seen: dict[str, set[str]] = {}
    for t in trials:
        for key, value in _config(t).items():
            seen.setdefault(key, set()).add(json.dumps(value, default=str, sort_keys=True))
    varied = [k for k, values in seen.items() if len(values) > 1]
    return sorted(varied) or sorted(seen)[:_FIXED_CONFIG_COLUMNS]


def _rows_by_state(trials: list[Trial], max_rows: Optional[int]) -> list[tuple[str, list[Trial], int, list[Trial]]]:
    """``(state, head, hidden, tail)`` per state, as the text table picks them: at most ``max_rows``
    rows, shared fairly by state, trials sorted by tag; ``hidden`` are left out between head and tail."""
    by_state: dict[str, list[Trial]] = {}
    for t in trials:
        by_state.setdefault(t.status.value, []).append(t)
    budget = {s: len(v) if max_rows is None else 0 for s, v in by_state.items()}
    left = max_rows or 0
    while left > 0 and any(budget[s] < len(by_state[s]) for s in by_state):
        for s in sorted(by_state):
            if left > 0 and budget[s] < len(by_state[s]):
                budget[s] += 1
                left -= 1
    out = []
    for state in sorted(by_state):
        group, shown = sorted(by_state[state], key=_sort_key), budget[state]
        if shown < len(group):
            tail = group[len(group) - shown // 2:] if shown // 2 else []
            out.append((state, group[: (shown + 1) // 2], len(group) - shown, tail))
        else:
            out.append((state, group, 0, []))
    return out


def _status_cell(trial: Trial) -> str:
    status = trial.status.value
    if trial.error_file and os.path.exists(trial.error_file):
        status += f", {trial.num_failures} failures: {trial.error_file}"
    return status


def _location(trial: Trial, driver_host: Optional[str]) -> str:
    """Where a running trial runs (as :meth:`Trial.progress_string` shows it); blank otherwise."""
    if not trial.location or trial.status.value != "RUNNING":
        return ""
    host, pid = trial.location
    return f"pid {pid}" if driver_host is None or host == driver_host else f"{host} pid {pid}"


def status_html(view: StatusView) -> str:
    """The status as HTML: the header lines, the counts by state, then a ``<table>`` with a row a
    shown trial (name, status, location, searched config values, key metrics of its last result).

    Everything that comes from the user (names, config values, results, paths) is escaped.
    """
    trials = view.trials
    metric, _ = pick_metric(trials, view.metric, view.mode)
    keys = _searched_keys(trials)
    objectives = metric if isinstance(metric, list) else [metric] if metric else []
    metrics = [R.TRAINING_ITERATION, R.TIME_TOTAL_S]
    metrics += [m for m in objectives if m not in metrics]
    groups = _rows_by_state(trials, view.max_rows)
    head = [view.scheduler_line] + ([view.resources_line] if view.resources_line else [])
    head += [f"Result logdir: {d}" for d in view.logdirs]
    head.append(f"Number of trials: {len(trials)} ("
                + ", ".join(f"{state}: {len(h) + hidden + len(t)}" for state, h, hidden, t in groups) + ")")
    width = 3 + len(keys) + len(metrics)

    def row(t: Trial) -> str:
        config, last = _config(t), t.last_result or {}
        cells = [_cell(t), _cell(_status_cell(t)), _cell(_location(t, view.driver_host))]
        cells += [_cell(config[k]) if k in config else "" for k in keys]
        cells += [_cell(last[m]) if last.get(m) is not None else "" for m in metrics]
        return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    rows = []
    for state, shown_head, hidden, tail in groups:
        rows += [row(t) for t in shown_head]
        if hidden:
            rows.append(f'<tr><td colspan="{width}"><i>... {hidden} more {html.escape(state)} not shown'
                        "</i></td></tr>")
        rows += [row(t) for t in tail]
    header = ["Trial name", "status", "loc"] + keys + metrics
    return (
        '<div class="tunecore-status"><b>Status</b>'
        + "".join(f"<div>{html.escape(line)}</div>" for line in head)
        + "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></div>"
    )


class NotebookPrinter(ProgressPrinter):
    """:class:`ProgressPrinter` for Jupyter: the table is one display, updated in place.

    The first table creates the display (``display(..., display_id=True)``); every later table
    and the closing summary update it (``handle.update(...)``), so a run leaves one output.

    Results are not dumped one by one, at any verbosity: the table already shows each trial's
    latest result, and a cell that prints every result grows without end. The closing summary
    (which names the best trial) is shown below the last table, as preformatted text.

    Args:
        verbose: 0 shows nothing but the summary; more also shows the table.
        interval: at most one refresh of the table every ``interval`` seconds (forced ones aside).
        display: ``display(obj, display_id=True)`` returning a handle with ``.update(obj)``
            (IPython's by default).
    """

    def __init__(self, verbose: int = 2, interval: float = 1.0,
                 display: Optional[Callable[..., Any]] = None) -> None:
        super().__init__(verbose=verbose, interval=interval)
        self._display = display or _ipython_display
        self._handle: Any = None
        self._view: Optional[StatusView] = None  # the last status view, drawn again with the summary

    def _show(self, markup: str) -> None:
        if self._handle is None:
            self._handle = self._display(_html(markup), display_id=True)
        else:
            self._handle.update(_html(markup))

    def table(self, text: Any, force: bool = False, in_place: bool = True) -> None:
        """Show the status (a :class:`StatusView` as HTML; a str or a callable as ``<pre>`` text),
        when due as in :class:`ProgressPrinter`; the markup is made only then."""
        if isinstance(text, StatusView):
            view = self._view = text
            markup: Callable[[], str] = lambda: status_html(view)  # noqa: E731
        else:
            markup = lambda: f"<pre>{html.escape(text() if callable(text) else str(text))}</pre>"  # noqa: E731
        super().table(markup, force, in_place)

    def _write(self, text: str, in_place: bool) -> None:  # ProgressPrinter.table calls it when due
        self._show(text)

    def result(self, trial: Trial, result: dict) -> None:
        """Nothing: the table shows the latest result of each trial."""

    def summary(self, text: str) -> None:
        """The last table, with ``text`` (the closing summary, naming the best trial) below it."""
        closing = f'<pre class="tunecore-summary">{html.escape(text)}</pre>'
        if self._view is not None and self.verbose > 0:
            closing = status_html(self._view) + closing
        self._show(closing)


def default_printer(verbose: int = 2) -> ProgressPrinter:
    """The printer of a run that was given none: HTML in Jupyter, text elsewhere."""
    return NotebookPrinter(verbose=verbose) if in_notebook() else ProgressPrinter(verbose=verbose)
