"""``tune dashboard DIR``: serve the live dashboard of an experiment folder on disk."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from tunecore.errors import TuneError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="an experiment folder (holding experiment_state.json), "
                                    "e.g. ~/ray_results/my_experiment")
    parser.add_argument("--port", type=int, default=4322, help="TCP port (default 4322; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; others warn: reachable from other machines)")


def _run(args: argparse.Namespace) -> int:
    from tunecore.web.server import DashboardServer

    folder = os.path.abspath(os.path.expanduser(args.dir))
    if not os.path.isfile(os.path.join(folder, "experiment_state.json")):
        print(f"tune dashboard: {folder} has no experiment_state.json; give an experiment folder such as "
              "~/ray_results/<experiment name>.", file=sys.stderr)
        return 2
    try:
        server = DashboardServer(folder, port=args.port, host=args.host).start()
    except TuneError as exc:
        print(f"tune dashboard: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"tune dashboard: could not write the token file in {folder} ({exc.strerror or exc}); "
              "set TUNECORE_SERVER_TOKEN to choose a token instead.", file=sys.stderr)
        return 1
    try:
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def add_dashboard_command(cli: Any) -> None:
    """Register ``tune dashboard`` on the ``tune`` command's registry."""
    cli.register("dashboard", _run, help="serve the dashboard of an experiment folder (finished or running)",
                 configure=_configure)
