"""``tune schema``: the JSON Schema of a spec file, for editors and validators.

The schema is written from the table of spec keys in :mod:`tunecore.spec` (the one every
entry point validates with), so an editor checks a YAML or JSON spec file against the same
types, defaults and descriptions ``tune run`` uses. It needs neither Ray nor the plugins.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional, TextIO

from tunecore.errors import TuneError

HELP = "print the JSON Schema of a spec file (for editors: tune schema --output tunecore-spec.schema.json)"


def add_schema_command(cli: Any) -> None:
    """Register ``schema`` on a ``tunecore.cli.CommandRegistry``."""
    cli.register("schema", run_schema_command, help=HELP, configure=configure_parser)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the schema to FILE instead of printing it")


def schema_text() -> str:
    """The spec-file schema as indented JSON, ending in a newline."""
    from tunecore.spec_schema import spec_file_schema

    return json.dumps(spec_file_schema(), indent=2) + "\n"


def run_schema_command(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """Print (or with ``--output``, write) the schema; returns the exit code."""
    text = schema_text()
    path = getattr(args, "output", None)
    if not path:
        (out or sys.stdout).write(text)
        return 0
    path = os.path.expanduser(path)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise TuneError(f"Cannot write the schema to {path!r}: {exc.strerror or exc}. "
                        "Give a writable path, or leave out --output to print it.") from None
    (out or sys.stderr).write(f"tune schema: wrote {path}\n")
    return 0
