"""Shared plumbing for the benchmark workloads: arguments, a fresh Ray, memory probes, output.

Every workload script runs one framework (``--framework tunecore`` or ``raytune``) in its
own process and prints exactly one JSON line of figures on stdout; everything else the
frameworks print goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any, Optional

FRAMEWORKS = ("tunecore", "raytune")

#: Exit code of a workload asked to run Ray Tune when ``ray.tune`` cannot be imported.
EXIT_NO_RAYTUNE = 3

RAYTUNE_MISSING = ('Ray Tune is not installed (import ray.tune failed: {error}); install the optional '
                   'comparator with: pip install "ray[tune]"')

_real_stdout = sys.stdout


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every workload shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--framework", choices=FRAMEWORKS, default="tunecore",
                   help="which tuner runs the workload (default: tunecore)")
    p.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray started here (default: 2)")
    p.add_argument("--keep-dir", action="store_true", help="keep the results folder (printed in the JSON)")
    return p


def raytune_import_error() -> Optional[str]:
    """None when ``ray.tune`` imports, else the error text."""
    try:
        import ray.tune  # noqa: F401
    except Exception as exc:  # ImportError, or a broken optional extra
        return f"{type(exc).__name__}: {exc}"
    return None


def require_framework(framework: str) -> None:
    """Exit with :data:`EXIT_NO_RAYTUNE` and a clear message if Ray Tune is asked for but missing."""
    if framework == "raytune":
        error = raytune_import_error()
        if error is not None:
            print(RAYTUNE_MISSING.format(error=error), file=sys.stderr)
            sys.exit(EXIT_NO_RAYTUNE)


def init_ray(num_cpus: int) -> None:
    """Start a fresh local Ray in this process (never joins another one)."""
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    ray.init(address="local", num_cpus=num_cpus, num_gpus=0, include_dashboard=False, log_to_driver=False,
             configure_logging=False)


def rss_bytes() -> int:
    """The resident set size of this process now."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except ImportError:
            return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """The peak resident set size of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def framework_version(framework: str) -> str:
    if framework == "tunecore":
        import tunecore

        return getattr(tunecore, "__version__", "?")
    import ray

    return ray.__version__


@contextlib.contextmanager
def workdir(keep: bool, prefix: str) -> Iterator[str]:
    """A temporary results folder, removed afterwards unless ``keep``."""
    path = tempfile.mkdtemp(prefix=f"tunecore-bench-{prefix}-")
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send what the frameworks print to stderr, keeping stdout for the JSON line."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


class Timer:
    """Wall-clock seconds of a ``with`` block."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.start


def emit(workload: str, framework: str, figures: dict, params: dict) -> dict:
    """Print the one JSON line of a workload and return it."""
    line = {
        "workload": workload,
        "framework": framework,
        "version": framework_version(framework),
        "python": platform.python_version(),
        "params": params,
        **figures,
    }
    _real_stdout.write(json.dumps(line, sort_keys=True) + "\n")
    _real_stdout.flush()
    return line


def tunecore_default_loggers() -> list[str]:
    """The loggers tunecore turns on when a spec lists none (json plus installed plugins)."""
    from tunecore.plugins import get_plugin_manager

    return sorted(n for n, f in get_plugin_manager().loggers.items() if getattr(f, "default_enabled", True))
