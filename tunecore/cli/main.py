"""The ``tune`` command (also ``tunecore`` and ``python -m tunecore``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Optional

from tunecore import __version__
from tunecore.errors import TuneError

#: Keys a spec file may hold beside ``experiments`` (passed to run_experiments).
RUN_OPTIONS = ("scheduler", "search_alg", "with_server", "server_port", "server_host", "verbose",
               "queue_trials", "raise_on_failed_trial", "address", "metric", "mode", "reuse_actors", "resume")


class CommandRegistry:
    """Sub-commands of ``tune``; plugins add theirs through ``tunecore_register_commands(cli)``."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers
        self.handlers: dict[str, Callable[[argparse.Namespace], int]] = {}

    def register(self, name: str, handler: Callable[[argparse.Namespace], int], help: str = "",
                 configure: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> argparse.ArgumentParser:
        if name in self.handlers:
            raise TuneError(f"the command 'tune {name}' is registered twice")
        parser = self._subparsers.add_parser(name, help=help, description=help)
        if configure is not None:
            configure(parser)
        parser.set_defaults(_handler=handler)
        self.handlers[name] = handler
        return parser


def load_spec_file(path: str) -> dict:
    """Read a JSON or YAML spec file into ``{"experiments": {...}, **options}``."""
    if not os.path.exists(path):
        raise TuneError(f"Spec file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise TuneError(f"Could not parse {path!r}: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise TuneError(f"{path!r} must hold a mapping: {{experiment_name: spec}} or {{'experiments': {{...}}, ...}}")
    if "experiments" in data:
        unknown = [k for k in data if k != "experiments" and k not in RUN_OPTIONS]
        if unknown:
            raise TuneError(f"{path!r}: unknown top-level key(s) {unknown}; allowed: experiments, "
                            f"{', '.join(RUN_OPTIONS)}")
        return data
    return {"experiments": data}


def _cmd_run(args: argparse.Namespace) -> int:
    from tunecore.tune import run_experiments

    spec = load_spec_file(args.spec)
    experiments = spec.pop("experiments")
    if args.local_dir:
        for exp in experiments.values():
            if isinstance(exp, dict):
                exp["local_dir"] = args.local_dir
    if args.resume:
        spec["resume"] = True
    if args.quiet:
        spec["verbose"] = 1
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.spec)))
    sys.path.insert(0, os.getcwd())
    trials = run_experiments(experiments, **spec)
    return 0 if all(t.status.value == "TERMINATED" for t in trials) else 1


def _cmd_ls(args: argparse.Namespace) -> int:
    from tunecore.analysis import Analysis
    from tunecore.execution.status import pick_metric
    from tunecore.util import as_float, dumps

    analysis = Analysis(args.dir)
    metric, mode = pick_metric(analysis.trials, args.metric, args.mode)  # type: ignore[arg-type]
    endings = _endings(analysis)
    if args.json:
        print(dumps([{"trial_id": t.trial_id, "name": t.name, "status": t.status,
                      "ending": endings[t.trial_id][0], "exploits": endings[t.trial_id][1],
                      "metric": (t.last_result or {}).get(metric) if metric else None,
                      "config": t.config} for t in analysis.trials], indent=2))
        return 0
    from tunecore.execution.endings import ending_label

    rows = [("TRIAL", "STATUS", "ENDING", metric or "METRIC", "CONFIG")]
    for t in analysis.trials:
        value = as_float((t.last_result or {}).get(metric)) if metric else None
        shown = f"{value:.6g}" if value is not None else "-"
        rows.append((t.name, t.status, ending_label(*endings[t.trial_id]), shown,
                     dumps(t.config, sort_keys=True)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]}")
    best = analysis.get_best_trial(metric, mode) if metric else None
    if best is not None:
        print(f"\nBest ({metric}, {mode}): {best.name}  {dumps(best.config, sort_keys=True)}")
    return 0


def _endings(analysis: Any) -> dict:
    """``{trial_id: (ending, exploits)}`` of an experiment folder, as its runner recorded them."""
    from tunecore.execution.endings import folder_ending

    return {t.trial_id: folder_ending(t.logdir, t.status, t.last_result, getattr(t, "stopping_criterion", None))
            for t in analysis.trials}


def build_parser(with_plugins: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tune", description="tunecore: hyperparameter tuning on Ray.")
    parser.add_argument("--version", action="version", version=f"tunecore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli = CommandRegistry(sub)

    def configure_run(p: argparse.ArgumentParser) -> None:
        p.add_argument("spec", help="a JSON or YAML experiment spec file")
        p.add_argument("--resume", action="store_true", help="continue the experiment found on disk")
        p.add_argument("--local-dir", help="override every experiment's local_dir")
        p.add_argument("--quiet", action="store_true", help="print the status table but not each result")

    def configure_ls(p: argparse.ArgumentParser) -> None:
        p.add_argument("dir", help="an experiment folder, e.g. ~/ray_results/my_experiment")
        p.add_argument("--metric", help="the metric to show (default: a common one found in the results)")
        p.add_argument("--mode", choices=("min", "max"), help="whether lower or higher is better")
        p.add_argument("--json", action="store_true", help="print JSON")

    cli.register("run", _cmd_run, help="run an experiment spec file", configure=configure_run)
    cli.register("ls", _cmd_ls, help="list an experiment's trials on disk", configure=configure_ls)
    from tunecore.cli.dashboard_cmd import add_dashboard_command
    from tunecore.cli.plugins_cmd import add_plugins_command
    from tunecore.cli.schema_cmd import add_schema_command

    for add in (add_plugins_command, add_dashboard_command, add_schema_command):
        add(cli)
    if with_plugins:
        from tunecore.plugins import get_plugin_manager

        get_plugin_manager().register_commands(cli)
    return parser


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # plugin commands are only needed when a sub-command is not a core one
    core = {"run", "ls", "plugins", "dashboard", "schema", "--version", "-h", "--help"}
    parser = build_parser(with_plugins=not argv or argv[0] not in core)
    args = parser.parse_args(argv)
    handler = getattr(args, "_handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except TuneError as exc:
        print(f"tune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
