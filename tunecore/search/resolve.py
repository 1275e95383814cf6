"""Resolving a spec's values: which are unresolved, and each resolved once, in dependency order.

A lambda, an ``{"eval": ...}`` expression or a sample domain is resolved through a
read-only view of the whole spec (``spec.config.alpha``), which resolves on demand
whatever it reads. :mod:`tunecore.search.variants` expands the grids around this and calls
:class:`Resolver` once per grid point.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import random
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable

import numpy as np

from tunecore.errors import TuneError
from tunecore.search import sample

Path = tuple

GRID_KEY = "grid_search"
EVAL_KEY = "eval"


def is_grid(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and GRID_KEY in value


def is_eval(value: Any) -> bool:
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


def unresolved_at(value: Any, path: Path) -> bool:
    return is_unresolved(value) and not _is_literal_at(path, value)


def path_key(path: Path) -> tuple:
    """Sort key for paths: list indices numerically, other keys as strings."""
    return tuple((0, p, "") if isinstance(p, int) and not isinstance(p, bool) else (1, 0, str(p)) for p in path)


def dotted(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) and not isinstance(p, bool) else (f".{p}" if out else str(p))
    return out or "<spec>"


def copy_spec(value: Any) -> Any:
    """Copy the dict/list structure; leaves (functions, domains, user objects) are shared.

    Unresolved values are shared too: they are replaced whole, never changed in place.
    """
    if isinstance(value, dict):
        if len(value) == 1 and is_unresolved(value):
            return value
        return {k: copy_spec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_spec(v) for v in value]
    return value


def collect(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        child = path + (key,)
        if unresolved_at(value, child):
            yield child, value
        elif isinstance(value, (dict, list)):
            yield from collect(value, child)


def set_at(spec: Any, path: Path, value: Any) -> None:
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def get_at(spec: Any, path: Path) -> Any:
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


class Deferred(Exception):
    """A lambda read a value only a deeper level can resolve (e.g. a grid a lambda returned)."""


@contextlib.contextmanager
def seeded_globals(rng: np.random.Generator) -> Iterator[None]:
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


class Resolver:
    """Resolves the non-grid unresolved values of one spec, each once, in dependency order."""

    def __init__(self, spec: dict, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.vars = {p: v for p, v in collect(spec) if not is_grid(v)}
        self.done: dict[Path, Any] = {}
        self.deferred: set = set()
        self.stack: list[Path] = []

    def resolve_all(self) -> dict[Path, Any]:
        for path in sorted(self.vars, key=path_key):
            try:
                self.resolve(path)
            except Deferred:
                pass
        return {p: v for p, v in self.done.items() if not unresolved_at(v, p)}

    def resolve(self, path: Path) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.deferred:
            raise Deferred(path)
        if path in self.stack:
            chain = " -> ".join(dotted(p) for p in self.stack[self.stack.index(path):] + [path])
            raise TuneError(
                f"Cannot resolve {dotted(self.stack[-1])}: `{path[-1]}` recursively depends on itself "
                f"({chain}). Make one of these values a constant or break the cycle."
            )
        self.stack.append(path)
        try:
            value = self._evaluate(path, self.vars[path])
        except Deferred:
            self.deferred.add(path)
            raise
        except TuneError:
            raise
        except Exception as exc:
            raise TuneError(f"Resolving {dotted(path)} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.stack.pop()
        set_at(self.spec, path, value)
        self.done[path] = value
        return value

    def _evaluate(self, path: Path, value: Any) -> Any:
        view = SpecView(self, ())
        if isinstance(value, types.FunctionType):
            result = call_with_spec(value, view)
        elif is_eval(value):
            result = eval_expression(value[EVAL_KEY], view)
        else:
            domain = value if isinstance(value, sample.Domain) else sample.from_json(value, where=dotted(path))
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
            if unresolved_at(node, prefix):
                raise Deferred(prefix)
        return node

    def _missing(self, path: Path, i: int, node: Any) -> None:
        reader = f"{dotted(self.stack[-1])} reads spec.{dotted(path)}, but " if self.stack else ""
        parent = dotted(path[:i]) if i else "the spec"
        if isinstance(node, dict):
            have = ", ".join(map(str, node)) or "nothing"
            raise TuneError(f"{reader}{parent} has no key {path[i]!r} (it has: {have}).")
        if isinstance(node, list):
            raise TuneError(f"{reader}{parent} has no item {path[i]!r} (it is a list of {len(node)}).")
        raise TuneError(f"{reader}{parent} is {node!r}, not a dict or list, so it has no {path[i]!r}.")


class SpecView(Mapping):
    """Read-only attribute access to the spec a lambda receives: ``spec.config.alpha``."""

    __slots__ = ("_resolver", "_path")

    def __init__(self, resolver: Resolver, path: Path) -> None:
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
        return f"<spec view {dotted(self._path)}>"


class ListView(Sequence):
    """Read-only view of a list inside the spec."""

    __slots__ = ("_resolver", "_path")

    def __init__(self, resolver: Resolver, path: Path) -> None:
        self._resolver = resolver
        self._path = path

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return _wrap(self._resolver, self._path + (index,))

    def __len__(self) -> int:
        return len(self._resolver.read(self._path))

    def __repr__(self) -> str:
        return f"<spec view {dotted(self._path)}>"


def _wrap(resolver: Resolver, path: Path) -> Any:
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
