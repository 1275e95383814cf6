"""PBT's *explore* step: perturb or resample the hyperparameters of a donor's config."""

from __future__ import annotations

import copy
import inspect
import math
import random
from collections.abc import Mapping
from typing import Any, Callable, Optional

from tunecore.errors import TuneError
from tunecore.util import is_number, plain

#: The factors a continuous hyperparameter is multiplied by (one picked 50/50).
PERTURBATION_FACTORS = (1.2, 0.8)

Mutations = Mapping[str, Any]


def is_domain(value: Any) -> bool:
    """True for a sample domain (``tunecore.uniform(0, 20)`` and friends): it has ``.sample``."""
    return callable(getattr(value, "sample", None)) and not isinstance(value, type)


def categories_of(value: Any) -> Optional[list]:
    """The allowed values of a list/tuple or of a categorical domain (``tunecore.choice``), else None."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if is_domain(value):
        cats = getattr(value, "categories", None)
        if isinstance(cats, (list, tuple)):
            return list(cats)
    return None


#: The JSON form of sample domains (``{"uniform": [0, 1]}``), built with tunecore's public factories.
_DOMAIN_JSON_KEYS = ("uniform", "loguniform", "quniform", "randint", "choice", "randn", "sample_from")


def normalize_mutations(mutations: Any) -> Any:
    """Turn the JSON form of domains (``{"uniform": [0, 20]}``) into domain objects.

    Used for specs read from JSON/YAML files (``{"name": "pbt", "hyperparam_mutations":
    {"lr": {"loguniform": [1e-4, 1e-1]}}}``). Anything else is returned unchanged.
    """
    if not isinstance(mutations, Mapping):
        return mutations
    out = {}
    for key, spec in mutations.items():
        if isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in _DOMAIN_JSON_KEYS:
            (name, args), = spec.items()
            out[key] = _domain_from_json(name, args, key)
        elif isinstance(spec, Mapping):
            out[key] = normalize_mutations(spec)
        else:
            out[key] = spec
    return out


def _domain_from_json(name: str, args: Any, key: str) -> Any:
    import importlib

    import tunecore

    factory = getattr(tunecore, name, None)
    if factory is None:  # older tunecore builds keep the factories in tunecore.search.sample only
        factory = getattr(importlib.import_module("tunecore.search.sample"), name, None)
    if factory is None:  # pragma: no cover - a tunecore without sample domains
        raise TuneError(f"hyperparam_mutations[{key!r}] uses {{{name!r}: ...}}, but this tunecore has no "
                        f"tunecore.{name}")
    try:
        if name == "choice":
            return factory(args)
        if isinstance(args, Mapping):
            return factory(**args)
        if isinstance(args, (list, tuple)):
            return factory(*args)
        return factory(args)
    except TypeError as exc:
        raise TuneError(f"hyperparam_mutations[{key!r}] has bad arguments for {name}: {exc}, "
                        f"but got {{{name!r}: {args!r}}}") from None


def validate_mutations(mutations: Any, path: str = "hyperparam_mutations") -> None:
    """Check a mutation spec; raise :class:`TuneError` naming the bad key.

    Each value must be a non-empty list/tuple of allowed values, a sample domain
    (an object with ``.sample``), a callable returning a new value, or a nested dict
    of the same (for a nested config).
    """
    if not isinstance(mutations, Mapping):
        raise TuneError(f"{path} must be a dict, but got {path}={mutations!r}")
    for key, spec in mutations.items():
        where = f"{path}[{key!r}]"
        if isinstance(spec, Mapping):
            validate_mutations(spec, where)
        elif isinstance(spec, (list, tuple)):
            if not spec:
                raise TuneError(f"{where} must be a non-empty list of values, but got {where}={spec!r}")
        elif not (is_domain(spec) or callable(spec)):
            raise TuneError(
                f"{where} must be a list of values, a sample domain (e.g. tunecore.uniform(0, 1)), "
                f"a function returning a value, or a nested dict, but got {where}={spec!r}"
            )


def draw(spec: Any, rng: random.Random, config: Optional[dict] = None) -> Any:
    """A fresh value from a list, a sample domain or a callable."""
    cats = categories_of(spec)
    if cats is not None:
        return rng.choice(cats)
    if is_domain(spec):
        return _sample_domain(spec, rng)
    return _call(spec, config)


def _sample_domain(domain: Any, rng: random.Random) -> Any:
    """Call ``domain.sample`` with a seeded numpy Generator (or no argument if it takes none)."""
    import numpy as np

    try:
        params = list(inspect.signature(domain.sample).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        params = []
    required = [p for p in params
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not params:
        return _unwrap(domain.sample())
    gen = np.random.default_rng(rng.getrandbits(63))
    if "random_state" in params:
        return _unwrap(domain.sample(random_state=gen))
    if "rng" in params or required:
        return _unwrap(domain.sample(gen))
    return _unwrap(domain.sample())


def _unwrap(value: Any) -> Any:
    """numpy scalars -> Python numbers; a one-element list (``sample(size=1)`` style) -> the element."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return value


def _call(fn: Callable, config: Optional[dict]) -> Any:
    """Call a zero-argument sampler; a one-argument one (``lambda spec: ...``) gets the config."""
    try:
        params = inspect.signature(fn).parameters
        required = [p for p in params.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # pragma: no cover
        required = []
    if required:
        return fn(config)
    return fn()


def explore(config: dict, mutations: Mutations, resample_probability: float,
            custom_explore_fn: Optional[Callable[[dict], dict]], rng: random.Random,
            operations: Optional[dict] = None) -> dict:
    """Return a perturbed deep copy of ``config`` (PBT's *explore* step).

    For each key of ``mutations``:

    * allowed values (list, tuple, categorical domain): with probability
      ``resample_probability``, or when the current value is not one of them, pick one
      uniformly; else move to the neighbour below or above (50/50, clamped at the ends);
    * a sample domain or a callable: with probability ``resample_probability`` draw a
      new value; else multiply the current value by 1.2 or 0.8 (50/50). An ``int``
      stays an ``int`` (rounded), a ``bool`` stays a ``bool``; a numpy number is
      perturbed as the Python number it holds, and a value that is not a finite
      number (NaN, ±inf, None, text) is resampled;
    * a nested dict: the same, one level down.

    Then ``custom_explore_fn(new_config)`` may change anything; it must return the
    config. Keys not named in ``mutations`` are left as they were.

    Args:
        config: the donor's config (not modified).
        mutations: the mutation spec.
        resample_probability: chance of resampling instead of perturbing.
        custom_explore_fn: applied last; returns the new config.
        rng: the scheduler's random source (seeded for reproducible runs).
        operations: if given, filled with ``key -> "resample" | "*1.2" | "shift left" ...``.

    Returns:
        The new config.
    """
    new_config = copy.deepcopy(config)
    ops = operations if operations is not None else {}
    _explore_into(new_config, config, mutations, resample_probability, rng, ops)
    if custom_explore_fn is not None:
        result = custom_explore_fn(new_config)
        if not isinstance(result, dict):
            raise TuneError(
                f"custom_explore_fn must return the new config dict, but got {result!r}"
            )
        new_config = result
    return new_config


def _explore_into(new_config: dict, config: dict, mutations: Mutations, p: float,
                  rng: random.Random, ops: dict) -> None:
    for key, spec in mutations.items():
        if isinstance(spec, Mapping):
            sub_old = config.get(key)
            if not isinstance(sub_old, dict):
                sub_old = {}
            sub_new = copy.deepcopy(sub_old)
            ops[key] = {}
            _explore_into(sub_new, sub_old, spec, p, rng, ops[key])
            new_config[key] = sub_new
            continue
        old = plain(config.get(key))  # numpy scalars as Python numbers
        cats = categories_of(spec)
        if cats is not None:
            if rng.random() < p or old not in cats:
                new_config[key] = rng.choice(cats)
                ops[key] = "resample"
            else:
                idx = cats.index(old)
                shift = rng.choice((-1, 1))
                new_idx = min(max(idx + shift, 0), len(cats) - 1)
                new_config[key] = cats[new_idx]
                ops[key] = f"shift {'left' if shift < 0 else 'right'}" + (" (noop)" if new_idx == idx else "")
            continue
        if rng.random() < p or not _is_number(old):
            value = draw(spec, rng, config)
            ops[key] = "resample"
        else:
            factor = rng.choice(PERTURBATION_FACTORS)
            value = old * factor
            ops[key] = f"*{factor}"
        value = plain(value)
        if isinstance(old, bool):
            value = bool(value)
        elif isinstance(old, int) and _is_number(value):
            value = int(round(value))
        new_config[key] = value


def _is_number(value: Any) -> bool:
    """A finite real number (Python or numpy) that fits in a float, not a bool."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        return False


def mutated_values(config: dict, mutations: Mutations, prefix: tuple = ()) -> dict:
    """``{path: value}`` of the keys named in ``mutations`` (nested dicts give longer paths)."""
    out: dict = {}
    for key, spec in mutations.items():
        if isinstance(spec, Mapping):
            sub = config.get(key)
            out.update(mutated_values(sub if isinstance(sub, dict) else {}, spec, prefix + (key,)))
        elif key in config:
            out[prefix + (key,)] = config[key]
    return out


def format_vars(values: dict) -> str:
    """``lr=0.1,momentum=0.9`` as trial tags show it: floats to 5 significant digits."""
    pieces = []
    for path in sorted(values, key=lambda p: tuple(str(x) for x in p)):
        name = str(path[-1]).replace("/", "_")
        value = values[path]
        text = f"{value:.5g}" if isinstance(value, float) else str(value)
        pieces.append(f"{name}={text.replace('/', '_')}")
    return ",".join(pieces)
