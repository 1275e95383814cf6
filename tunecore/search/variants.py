"""Variant generation: expand an experiment spec's grids, lambdas and sample domains into trials.

A value anywhere in a spec (``config`` and every other key) is *unresolved* if it is

* a plain function, typically ``lambda spec: ...``: called with a read-only view of the
  whole spec, so ``spec.config.alpha`` reads another (resolved on demand) value;
* ``{"eval": "<python expression>"}``: the same, for JSON/YAML (``spec``, ``np``,
  ``random`` and ``math`` are in scope);
* ``{"grid_search": [...]}`` (``tune.grid_search([...])``): one variant per value;
* a sample domain (``tune.uniform(0, 1)``) or its JSON form (``{"uniform": [0, 1]}``).

The single-key dict forms are recognised only when the dict has exactly that one key.
:func:`generate_variants` enumerates the cartesian product of the grids (the first path in
sorted order changes fastest), resolves every other value exactly once per variant in
dependency order, and recurses when a substituted value is itself unresolved.
``tune.function(f)`` wraps a function so it is passed through as a literal.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any, Callable, Optional, Union

import numpy as np

from tunecore.errors import TuneError
from tunecore.search import sample
from tunecore.search.resolve import (  # is_unresolved, call_with_spec, eval_expression: public here too
    GRID_KEY,
    Path,
    Resolver,
    call_with_spec,
    collect,
    copy_spec,
    dotted,
    eval_expression,
    get_at,
    is_grid,
    is_unresolved,
    path_key,
    seeded_globals,
    set_at,
)

__all__ = [
    "function",
    "grid_search",
    "is_unresolved",
    "generate_variants",
    "format_vars",
    "call_with_spec",
    "eval_expression",
]

#: How deep values may produce new unresolved values (a lambda returning a grid of lambdas...).
MAX_DEPTH = 20
#: Top-level keys left out of trial tags.
UNTAGGED_KEYS = ("run", "env", "trial_resources")


class function:  # noqa: N801 - the guide spells it tune.function
    """Wraps a callable so variant generation passes it through instead of calling it.

    The trainable receives the wrapper in its config; calling the wrapper calls ``func``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        if not callable(func):
            raise TuneError(f"tune.function needs a callable, but got func={func!r}")
        self.func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, function) and other.func is self.func

    def __hash__(self) -> int:
        return hash(self.func)

    def __repr__(self) -> str:
        return f"tune.function({getattr(self.func, '__name__', self.func)!r})"


def grid_search(values: Any) -> dict:
    """One variant per value: ``{"grid_search": [values...]}``."""
    if isinstance(values, (str, bytes, Mapping)):
        raise TuneError(f"Grid search expected list of values, got: {values!r}")
    try:
        return {GRID_KEY: list(values)}
    except TypeError:
        raise TuneError(f"Grid search expected list of values, got: {values!r}") from None


_unseeded: Optional[np.random.Generator] = None


def _make_rng(rng: Union[None, int, np.random.Generator]) -> tuple[np.random.Generator, bool]:
    global _unseeded
    if rng is None:
        if _unseeded is None:  # one OS-entropy generator per process; creating one costs ~0.1 ms
            _unseeded = np.random.default_rng()
        return _unseeded, False
    if isinstance(rng, np.random.Generator):
        return rng, True
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng)), True
    raise TuneError(f"rng must be None, an int seed or a numpy Generator, but got rng={rng!r}")


def generate_variants(spec: dict, rng: Union[None, int, np.random.Generator] = None
                      ) -> Iterator[tuple[dict[Path, Any], dict]]:
    """Yield ``(resolved_vars, resolved_spec)`` for every variant of ``spec``.

    Args:
        spec: an experiment spec (or any dict); it is not modified.
        rng: random source for sample domains; an int seed or a Generator also seeds
            ``np.random``/``random`` while lambdas run, so seeded runs repeat exactly.

    Yields:
        ``resolved_vars`` maps each resolved path (a tuple of keys and list indices) to
        its value; ``resolved_spec`` is a fresh copy with nothing unresolved left.

    Raises:
        TuneError: a grid that is not a list, a reference to a missing key, a dependency
            cycle, or a lambda that raised; the message names the path.
    """
    generator, seeded = _make_rng(rng)
    yield from _generate(spec, generator, seeded, 0)


def _generate(spec: dict, rng: np.random.Generator, seeded: bool, depth: int
              ) -> Iterator[tuple[dict[Path, Any], dict]]:
    spec = copy_spec(spec)
    unresolved = list(collect(spec))
    if not unresolved:
        yield {}, spec
        return
    if depth >= MAX_DEPTH:
        paths = ", ".join(dotted(p) for p, _ in unresolved)
        raise TuneError(f"Could not resolve {paths} after {MAX_DEPTH} levels of values producing new "
                        "grids or lambdas; check for a lambda that keeps returning lambdas.")
    grid_vars = sorted(((p, v) for p, v in unresolved if is_grid(v)), key=lambda pv: path_key(pv[0]))
    for path, value in grid_vars:
        values = value[GRID_KEY]
        if not isinstance(values, (list, tuple)):
            raise TuneError(f"Grid search expected list of values, got: {values!r} (at {dotted(path)})")
        if not values:
            raise TuneError(f"grid_search at {dotted(path)} has no values; give at least one.")
    # Odometer with the first path changing fastest: product over reversed axes, reversed back.
    axes = [list(v[GRID_KEY]) for _, v in reversed(grid_vars)]
    for point in itertools.product(*axes):
        point_spec = copy_spec(spec)
        for (path, _), value in zip(grid_vars, reversed(point)):
            set_at(point_spec, path, copy_spec(value))
        resolver = Resolver(point_spec, rng)
        with seeded_globals(rng) if seeded else contextlib.nullcontext():
            lambda_vars = resolver.resolve_all()
        for sub_vars, final_spec in _generate(point_spec, rng, seeded, depth + 1):
            resolved = dict(lambda_vars)
            for path, _ in grid_vars:
                resolved[path] = get_at(final_spec, path)
            resolved.update(sub_vars)
            yield resolved, final_spec


def _format_value(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.5g}"
    return str(value)


def _clean(text: str) -> str:
    return text.replace("/", "_")


def _var_name(path: Path) -> str:
    """Last string key plus the list indices after it: ("config", "nn_layers", 0) -> nn_layers_0."""
    last = max((i for i, p in enumerate(path) if isinstance(p, str)), default=0)
    return "_".join(str(p) for p in path[last:])


def format_vars(resolved_vars: dict[Path, Any]) -> str:
    """``name=value`` pairs joined by ``,`` for a trial tag.

    Variables are named by their full last key (``lr``, ``nn_layers_0``); when two paths
    would get the same name, both are qualified by their parent keys (``a.lr``, ``b.lr``).
    Floats keep 5 significant digits; ``/`` becomes ``_``.
    """
    items = sorted(((p, v) for p, v in resolved_vars.items() if p and p[0] not in UNTAGGED_KEYS),
                   key=lambda pv: path_key(pv[0]))
    names = [_var_name(p) for p, _ in items]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    out = []
    for (path, value), name in zip(items, names):
        if counts[name] > 1:
            inner = path[1:] if path[0] == "config" and len(path) > 1 else path
            name = ".".join(str(p) for p in inner)
        out.append(f"{_clean(name)}={_clean(_format_value(value))}")
    return ",".join(out)


def unresolved_values(spec: Any) -> dict[Path, Any]:
    """Every unresolved value in ``spec`` by path (not descending into unresolved values)."""
    return dict(collect(spec))


def resolve_domain(value: Any, where: str = "") -> Optional[sample.Domain]:
    """The sample domain ``value`` is (an object or its JSON form), else None."""
    if isinstance(value, sample.Domain):
        return value
    return sample.from_json(value, where=where)
