"""``tune plugins list``: what is installed, what it provides, and what is broken.

Listing never imports Ray and exits 0 even when plugins are broken: a broken plugin
shows up with its status and error (and was reported once on stderr by discovery).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
from typing import Any, Optional, TextIO

from tunecore.plugins import BUILTIN, ENTRY_POINT_GROUP, PluginManager, PluginRecord

HELP = "list installed plugins (tune plugins list [--json] [--all] [--requirements])"

_COLUMNS = ("NAME", "VERSION", "STATUS", "PROVIDES")


def add_plugins_command(cli: Any) -> None:
    """Register ``plugins`` on a ``tunecore.cli.CommandRegistry``."""
    cli.register("plugins", run_plugins_command, help=HELP, configure=configure_parser)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``plugins``' sub-action and flags to its parser."""
    parser.add_argument("action", nargs="?", default="list", choices=["list"],
                        help="what to do (only 'list' so far; the default)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print a JSON list with name, version, status, entry_point, hooks, "
                             "provides and error for each plugin")
    output.add_argument("--requirements", action="store_true",
                        help="print name==version of each installed plugin distribution "
                             "(for a requirements file)")
    parser.add_argument("--all", action="store_true",
                        help="include tunecore's own built-in components")


def run_plugins_command(args: argparse.Namespace, manager: Optional[PluginManager] = None,
                        out: Optional[TextIO] = None) -> int:
    """Run ``tune plugins list``; returns the exit code (0, also with broken plugins).

    Args:
        args: the parsed arguments (``json``, ``all``, ``requirements``).
        manager: the plugin manager to list; default the process's (discovered now).
        out: where to print; default stdout.
    """
    out = out or sys.stdout
    if manager is None:
        from tunecore.plugins import get_plugin_manager

        manager = get_plugin_manager()
    if getattr(args, "requirements", False):
        out.write("".join(f"{line}\n" for line in requirement_lines()))
        return 0
    records = [r for r in manager.records if getattr(args, "all", False) or r.status != "builtin"]
    if getattr(args, "json", False):
        out.write(json.dumps([r.to_json() for r in records], indent=2) + "\n")
        return 0
    out.write(format_table(records))
    if not any(r.status != "builtin" for r in records):
        out.write("No plugins installed. Install one, e.g. pip install tune-hyperband; "
                  "show tunecore's own components with --all.\n")
    return 0


def requirement_lines() -> list[str]:
    """``name==version`` of every installed distribution with a ``tunecore.plugins`` entry point."""
    lines = set()
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        names = dist.metadata.get_all("Name") if dist is not None else None
        if dist is None or not names or names[0].lower() == BUILTIN:
            continue
        lines.add(f"{names[0]}=={dist.version}")
    return sorted(lines, key=str.lower)


def _provides_text(record: PluginRecord) -> str:
    if record.error:
        return record.error
    parts = [f"{kind}: {', '.join(names)}" for kind, names in sorted(record.provides.items()) if names]
    if not parts and record.hooks:
        parts = [", ".join(record.hooks)]
    return "; ".join(parts) or "-"


def format_table(records: list[PluginRecord]) -> str:
    """The records as an aligned text table; a broken plugin shows its error in the last column."""
    rows = [(r.name, r.version or "-", r.status, _provides_text(r)) for r in records]
    widths = [max([len(_COLUMNS[i])] + [len(row[i]) for row in rows]) for i in range(3)]
    lines = []
    for row in [_COLUMNS, *rows]:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return "".join(line.rstrip() + "\n" for line in lines)
