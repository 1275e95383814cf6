"""The search space: domains (:mod:`.sample`), grid and random expansion (:mod:`.variants`).

``tunecore.searchers`` holds the search algorithms that walk such a space.
"""

from tunecore.search.sample import choice, loguniform, quniform, randint, randn, sample_from, uniform
from tunecore.search.variants import function, grid_search

__all__ = ["choice", "function", "grid_search", "loguniform", "quniform", "randint", "randn", "sample_from",
           "uniform"]
