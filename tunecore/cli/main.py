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
               "queue_trials", "raise_on_failed_trial", "address", "metric", "mode", "reuse_actors", "resume",
               "constraints")


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


def _split_list(value: Optional[str]) -> Any:
    """``"a,b"`` -> ``["a", "b"]`` (several objectives); ``"a"`` stays ``"a"``."""
    if value is None or "," not in value:
        return value
    return [part.strip() for part in value.split(",")]


def _cmd_ls(args: argparse.Namespace) -> int:
    from tunecore.analysis import Analysis
    from tunecore.execution.endings import ending_label
    from tunecore.execution.status import pick_metric
    from tunecore.pareto import pareto_trials
    from tunecore.util import as_float, dumps, lookup_metric

    metric_arg, mode_arg = _split_list(args.metric), _split_list(args.mode)
    if isinstance(metric_arg, list) and mode_arg is None:
        raise TuneError(f"--metric {args.metric} names several objectives; give as many modes, e.g. "
                        f"--mode {','.join(['min'] * len(metric_arg))}")
    analysis = Analysis(args.dir, metric_arg, mode_arg)
    metric, mode = pick_metric(analysis.trials, analysis.metric, analysis.mode)  # type: ignore[arg-type]
    metrics = metric if isinstance(metric, list) else [metric] if metric else []
    front = {t.trial_id for t in pareto_trials(analysis.trials, metric, mode, analysis.constraints)} \
        if isinstance(metric, list) else set()
    endings = _endings(analysis)

    def value(t: Any, m: str) -> Optional[float]:
        return as_float(lookup_metric(t.last_result or {}, m))

    if args.json:
        out = []
        for t in analysis.trials:
            row = {"trial_id": t.trial_id, "name": t.name, "status": t.status, "ending": endings[t.trial_id][0],
                   "exploits": endings[t.trial_id][1], "config": t.config}
            if isinstance(metric, list):
                row["metrics"] = {m: lookup_metric(t.last_result or {}, m) for m in metrics}
                row["pareto"] = t.trial_id in front
            else:
                row["metric"] = lookup_metric(t.last_result or {}, metric) if metric else None
            out.append(row)
        print(dumps(out, indent=2))
        return 0
    marked = isinstance(metric, list)
    rows = [("TRIAL", "STATUS", "ENDING", *(metrics or ["METRIC"]), *(["PARETO"] if marked else []), "CONFIG")]
    for t in analysis.trials:
        shown = [f"{v:.6g}" if (v := value(t, m)) is not None else "-" for m in metrics] or ["-"]
        mark = (["*" if t.trial_id in front else ""] if marked else [])
        rows.append((t.name, t.status, ending_label(*endings[t.trial_id]), *shown, *mark,
                     dumps(t.config, sort_keys=True)))
    n = len(rows[0]) - 1
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    for r in rows:
        cells = [f"{r[i]:<{widths[i]}}" if i < 3 or (marked and i == n - 1) else f"{r[i]:>{widths[i]}}"
                 for i in range(n)]
        print("  ".join(cells + [r[n]]))
    if marked:
        objectives = ", ".join(f"{m} {o}" for m, o in zip(metrics, mode))
        names = ", ".join(t.name for t in analysis.trials if t.trial_id in front)
        print(f"\nPareto front ({objectives}): {len(front)} of {len(analysis.trials)} trials"
              + (f" (feasible: {', '.join(analysis.constraints)} <= 0)" if analysis.constraints else "")
              + (f": {names}" if names else ""))
        return 0
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
        p.add_argument("--metric", help="the metric to show, or several comma-separated (a,b) to mark the Pareto "
                                        "front (default: the run's objective, else a common metric in the results)")
        p.add_argument("--mode", help="min or max (comma-separated, one per metric, for several)")
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
