"""The search space and the search utilities of Ray Tune 2.x's ``ray.tune.search``.

* domains (:mod:`.sample`) and grid and random expansion (:mod:`.variants`);
* :class:`Searcher`, the one-config-at-a-time interface custom and model-based searchers
  implement, and :class:`SearchGenerator`, which drives a Searcher as the runner's
  :class:`SearchAlgorithm` (:mod:`.searcher`);
* the wrappers :class:`ConcurrencyLimiter` and :class:`Repeater`, and the default
  :class:`BasicVariantGenerator`.

``tunecore.searchers`` holds the search algorithms the runner drives. The classes are
exported lazily (module ``__getattr__``): modules all over the core import this package
for its domains, and the search algorithms import the execution layer, which imports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tunecore.search.sample import (
    choice,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tunecore.search.variants import function, grid_search

if TYPE_CHECKING:  # pragma: no cover
    from tunecore.search.concurrency_limiter import ConcurrencyLimiter
    from tunecore.search.repeater import Repeater
    from tunecore.search.searcher import Searcher, SearchGenerator, as_search_algorithm
    from tunecore.searchers._base import SearchAlgorithm
    from tunecore.searchers.basic_variant import BasicVariantGenerator

_LAZY = {
    "Searcher": "tunecore.search.searcher",
    "SearchGenerator": "tunecore.search.searcher",
    "as_search_algorithm": "tunecore.search.searcher",
    "ConcurrencyLimiter": "tunecore.search.concurrency_limiter",
    "Repeater": "tunecore.search.repeater",
    "SearchAlgorithm": "tunecore.searchers._base",
    "BasicVariantGenerator": "tunecore.searchers.basic_variant",
}

__all__ = ["BasicVariantGenerator", "ConcurrencyLimiter", "Repeater", "SearchAlgorithm", "SearchGenerator",
           "Searcher", "as_search_algorithm", "choice", "function", "grid_search", "lograndint", "loguniform",
           "qloguniform", "qlograndint", "qrandint", "qrandn", "quniform", "randint", "randn", "sample_from",
           "uniform"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
