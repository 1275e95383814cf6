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
import inspect
import itertools
import math
import random
import types
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np

from tunecore import sample
from tunecore.errors import TuneError

__all__ = [
    "function",
    "grid_search",
    "is_unresolved",
    "generate_variants",
    "format_vars",
    "call_with_spec",
    "eval_expression",
]

Path = tuple
GRID_KEY = "grid_search"
EVAL_KEY = "eval"
#: How deep values may produce new unresolved values (a lambda returning a grid of lambdas...).
MAX_DEPTH = 20
#: Top-level keys left out of trial tags (spec §7.4).
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


def _is_grid(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and GRID_KEY in value


def _is_eval(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and EVAL_KEY in value


_PLAIN = frozenset((int, float, str, bool, type(None), list, tuple))


def is_unresolved(value: Any) -> bool:
    """True if variant generation will replace ``value`` (lambda, grid, eval, sample domain)."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    if isinstance(value, dict):
        if len(value) != 1:
            return False
        key = next(iter(value))
        return key == GRID_KEY or key == EVAL_KEY or sample.is_domain_json(value)
    return isinstance(value, (types.FunctionType, sample.Domain))


def _is_literal_at(path: Path, value: Any) -> bool:
    """A callable stopping criterion ``stop(trial_id, result)`` at the top-level ``stop`` key."""
    if path != ("stop",) or not isinstance(value, types.FunctionType):
        return False
    params = [p for p in inspect.signature(value).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params) >= 2


def _unresolved(value: Any, path: Path) -> bool:
    return is_unresolved(value) and not _is_literal_at(path, value)


def _path_key(path: Path) -> tuple:
    """Sort key for paths: list indices numerically, other keys as strings."""
    return tuple((0, p, "") if isinstance(p, int) and not isinstance(p, bool) else (1, 0, str(p)) for p in path)


def _dotted(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) and not isinstance(p, bool) else (f".{p}" if out else str(p))
    return out or "<spec>"


def _copy(value: Any) -> Any:
    """Copy the dict/list structure; leaves (functions, domains, user objects) are shared.

    Unresolved values are shared too: they are replaced whole, never changed in place.
    """
    if isinstance(value, dict):
        if len(value) == 1 and is_unresolved(value):
            return value
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _collect(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        child = path + (key,)
        if _unresolved(value, child):
            yield child, value
        elif isinstance(value, (dict, list)):
            yield from _collect(value, child)


def _set(spec: Any, path: Path, value: Any) -> None:
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _get(spec: Any, path: Path) -> Any:
    node = spec
    for key in path:
        node = node[key]
    return node


_takes_spec: dict[Any, bool] = {}


def call_with_spec(func: Callable[..., Any], spec: Any) -> Any:
    """Call ``func(spec)``, or ``func()`` if it takes no arguments."""
    key = getattr(func, "__code__", None)
    takes = _takes_spec.get(key) if key is not None else None
    if takes is None:
        try:
            params = inspect.signature(func).parameters.values()
            takes = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)
        except (TypeError, ValueError):  # builtins without a signature
            takes = True
        if key is not None:
            _takes_spec[key] = takes
    return func(spec) if takes else func()


def eval_expression(expr: Any, spec: Any) -> Any:
    """Evaluate the expression of ``{"eval": expr}`` with ``spec``, ``np``, ``random``, ``math``."""
    if not isinstance(expr, str):
        raise TuneError(f'"eval" needs a Python expression string, e.g. {{"eval": "2 + 2"}}, but got {expr!r}')
    return eval(expr, {"np": np, "random": random, "math": math}, {"spec": spec})  # noqa: S307 - the user's spec


class _Deferred(Exception):
    """A lambda read a value only a deeper level can resolve (e.g. a grid a lambda returned)."""


@contextlib.contextmanager
def _seeded_globals(rng: np.random.Generator) -> Iterator[None]:
    """Seed ``np.random`` and ``random`` from ``rng`` for user lambdas, restoring them after."""
    np_state, py_state = np.random.get_state(), random.getstate()
    seed = int(rng.integers(2**32))
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class _Resolver:
    """Resolves the non-grid unresolved values of one spec, each once, in dependency order."""

    def __init__(self, spec: dict, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.vars = {p: v for p, v in _collect(spec) if not _is_grid(v)}
        self.done: dict[Path, Any] = {}
        self.deferred: set = set()
        self.stack: list[Path] = []

    def resolve_all(self) -> dict[Path, Any]:
        for path in sorted(self.vars, key=_path_key):
            try:
                self.resolve(path)
            except _Deferred:
                pass
        return {p: v for p, v in self.done.items() if not _unresolved(v, p)}

    def resolve(self, path: Path) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.deferred:
            raise _Deferred(path)
        if path in self.stack:
            chain = " -> ".join(_dotted(p) for p in self.stack[self.stack.index(path):] + [path])
            raise TuneError(
                f"Cannot resolve {_dotted(self.stack[-1])}: `{path[-1]}` recursively depends on itself "
                f"({chain}). Make one of these values a constant or break the cycle."
            )
        self.stack.append(path)
        try:
            value = self._evaluate(path, self.vars[path])
        except _Deferred:
            self.deferred.add(path)
            raise
        except TuneError:
            raise
        except Exception as exc:
            raise TuneError(f"Resolving {_dotted(path)} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.stack.pop()
        _set(self.spec, path, value)
        self.done[path] = value
        return value

    def _evaluate(self, path: Path, value: Any) -> Any:
        view = SpecView(self, ())
        if isinstance(value, types.FunctionType):
            result = call_with_spec(value, view)
        elif _is_eval(value):
            result = eval_expression(value[EVAL_KEY], view)
        else:
            domain = value if isinstance(value, sample.Domain) else sample.from_json(value, where=_dotted(path))
            assert domain is not None
            result = domain.sample(self.rng, view)
        return _materialize(result)

    def read(self, path: Path) -> Any:
        """The resolved value at ``path``, resolving (only) what it depends on."""
        node: Any = self.spec
        for i, key in enumerate(path):
            prefix = path[: i + 1]
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
                node = node[key]
            else:
                self._missing(path, i, node)
            if prefix in self.vars:
                node = self.resolve(prefix)
            if _unresolved(node, prefix):
                raise _Deferred(prefix)
        return node

    def _missing(self, path: Path, i: int, node: Any) -> None:
        reader = f"{_dotted(self.stack[-1])} reads spec.{_dotted(path)}, but " if self.stack else ""
        parent = _dotted(path[:i]) if i else "the spec"
        if isinstance(node, dict):
            have = ", ".join(map(str, node)) or "nothing"
            raise TuneError(f"{reader}{parent} has no key {path[i]!r} (it has: {have}).")
        if isinstance(node, list):
            raise TuneError(f"{reader}{parent} has no item {path[i]!r} (it is a list of {len(node)}).")
        raise TuneError(f"{reader}{parent} is {node!r}, not a dict or list, so it has no {path[i]!r}.")


class SpecView(Mapping):
    """Read-only attribute access to the spec a lambda receives: ``spec.config.alpha``."""

    __slots__ = ("_resolver", "_path")

    def __init__(self, resolver: _Resolver, path: Path) -> None:
        self._resolver = resolver
        self._path = path

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._resolver, self._path + (key,))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._resolver.read(self._path))

    def __len__(self) -> int:
        return len(self._resolver.read(self._path))

    def __contains__(self, key: object) -> bool:
        return key in self._resolver.read(self._path)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __repr__(self) -> str:
        return f"<spec view {_dotted(self._path)}>"


class ListView(Sequence):
    """Read-only view of a list inside the spec."""

    __slots__ = ("_resolver", "_path")

    def __init__(self, resolver: _Resolver, path: Path) -> None:
        self._resolver = resolver
        self._path = path

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return _wrap(self._resolver, self._path + (index,))

    def __len__(self) -> int:
        return len(self._resolver.read(self._path))

    def __repr__(self) -> str:
        return f"<spec view {_dotted(self._path)}>"


def _wrap(resolver: _Resolver, path: Path) -> Any:
    value = resolver.read(path)
    if isinstance(value, dict):
        return SpecView(resolver, path)
    if isinstance(value, list):
        return ListView(resolver, path)
    return value


def _materialize(value: Any) -> Any:
    """Plain dicts/lists in place of views a lambda returned."""
    if isinstance(value, SpecView):
        return {k: _materialize(value[k]) for k in value}
    if isinstance(value, ListView):
        return [_materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_materialize(v) for v in value]
    return value


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
    """Yield ``(resolved_vars, resolved_spec)`` for every variant of ``spec`` (spec §7.2).

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
    spec = _copy(spec)
    unresolved = list(_collect(spec))
    if not unresolved:
        yield {}, spec
        return
    if depth >= MAX_DEPTH:
        paths = ", ".join(_dotted(p) for p, _ in unresolved)
        raise TuneError(f"Could not resolve {paths} after {MAX_DEPTH} levels of values producing new "
                        "grids or lambdas; check for a lambda that keeps returning lambdas.")
    grid_vars = sorted(((p, v) for p, v in unresolved if _is_grid(v)), key=lambda pv: _path_key(pv[0]))
    for path, value in grid_vars:
        values = value[GRID_KEY]
        if not isinstance(values, (list, tuple)):
            raise TuneError(f"Grid search expected list of values, got: {values!r} (at {_dotted(path)})")
        if not values:
            raise TuneError(f"grid_search at {_dotted(path)} has no values; give at least one.")
    # Odometer with the first path changing fastest: product over reversed axes, reversed back.
    axes = [list(v[GRID_KEY]) for _, v in reversed(grid_vars)]
    for point in itertools.product(*axes):
        point_spec = _copy(spec)
        for (path, _), value in zip(grid_vars, reversed(point)):
            _set(point_spec, path, _copy(value))
        resolver = _Resolver(point_spec, rng)
        with _seeded_globals(rng) if seeded else contextlib.nullcontext():
            lambda_vars = resolver.resolve_all()
        for sub_vars, final_spec in _generate(point_spec, rng, seeded, depth + 1):
            resolved = dict(lambda_vars)
            for path, _ in grid_vars:
                resolved[path] = _get(final_spec, path)
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
    """``name=value`` pairs joined by ``,`` for a trial tag (spec §7.4).

    Variables are named by their full last key (``lr``, ``nn_layers_0``); when two paths
    would get the same name, both are qualified by their parent keys (``a.lr``, ``b.lr``).
    Floats keep 5 significant digits; ``/`` becomes ``_``.
    """
    items = sorted(((p, v) for p, v in resolved_vars.items() if p and p[0] not in UNTAGGED_KEYS),
                   key=lambda pv: _path_key(pv[0]))
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
    return dict(_collect(spec))


def resolve_domain(value: Any, where: str = "") -> Optional[sample.Domain]:
    """The sample domain ``value`` is (an object or its JSON form), else None."""
    if isinstance(value, sample.Domain):
        return value
    return sample.from_json(value, where=where)
