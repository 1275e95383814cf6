"""Every environment setting tunecore reads, in one place: its name, default and meaning.

Each is read when it is used (not at import), so a test or a script may set it first.
The README's table of settings is :func:`table`'s output.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Setting:
    name: str
    default: Optional[str]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("TUNECORE_RESULTS_DIR", "~/ray_results", "where experiments go when a spec gives no local_dir"),
    Setting("TUNECORE_START_TIMEOUT", "300", "seconds a trial's worker may take to be placed and set up "
            "before the trial fails with that message"),
    Setting("TUNECORE_STALL_TIMEOUT", "60", "seconds with trials PENDING but nothing able to run before "
            "the run stops with an explanation"),
    Setting("TUNECORE_WALLTIME_LIMIT", "inf", "the default time_budget_s: end the run after this many seconds "
            "of wall-clock time, unfinished trials stopped (TRIALRUNNER_WALLTIME_LIMIT is the old name, still "
            "read)"),
    Setting("TUNECORE_STRICT_PLUGINS", "", "1: a broken plugin is an error instead of a warning"),
    Setting("TUNECORE_LOAD_PLUGINS", None, "comma-separated plugin distributions to load (default: all)"),
    Setting("TUNECORE_DISABLE_PLUGINS", None, "comma-separated plugin distributions never to load"),
    Setting("TUNECORE_SERVER_TOKEN", None, "the bearer token of the HTTP API and dashboard "
            "(default: a generated one, written to the experiment folder)"),
)
_BY_NAME = {s.name: s for s in SETTINGS}
_OLD_NAMES = {"TUNECORE_WALLTIME_LIMIT": "TRIALRUNNER_WALLTIME_LIMIT"}


def raw(name: str) -> Optional[str]:
    """The setting's text: the environment's, else its default (None: unset, no default)."""
    setting = _BY_NAME[name]  # a KeyError here is a typo in tunecore, not a user error
    value = os.environ.get(name)
    if value is None and name in _OLD_NAMES:
        value = os.environ.get(_OLD_NAMES[name])
    return setting.default if value is None else value


def number(name: str) -> float:
    """A numeric setting; a value that is not a number is a clear error."""
    text = raw(name)
    try:
        return float(text) if text is not None else math.nan
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number of seconds; unset it or give e.g. {name}="
                         f"{_BY_NAME[name].default}") from None


def flag(name: str) -> bool:
    return (raw(name) or "") not in ("", "0", "false", "False", "no")


def names(name: str) -> Optional[set[str]]:
    """A comma-separated list setting as a set; None when unset."""
    text = raw(name)
    if text is None:
        return None
    return {n.strip() for n in text.split(",") if n.strip()}


def table(wrap: Callable[[str], str] = str) -> str:
    """The settings as a Markdown table (for the README)."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.name}` | {f'`{s.default}`' if s.default else '-'} | {wrap(s.help)} |" for s in SETTINGS]
    return "\n".join(rows)
