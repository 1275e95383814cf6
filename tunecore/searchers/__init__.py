"""Search algorithms: the base classes, the core's default, and the sample domains they read."""

from tunecore.search.sample import Choice, Domain, LogUniform, QUniform, RandInt, RandN, SampleFrom, Uniform
from tunecore.search.variants import function, grid_search
from tunecore.searchers._base import SearchAlgorithm
from tunecore.searchers.basic_variant import BasicVariantGenerator
from tunecore.searchers.suggestion import SuggestionAlgorithm, flatten_config, searchable_space, unflatten_config

__all__ = [
    "BasicVariantGenerator",
    "Choice",
    "Domain",
    "LogUniform",
    "QUniform",
    "RandInt",
    "RandN",
    "SampleFrom",
    "SearchAlgorithm",
    "SuggestionAlgorithm",
    "Uniform",
    "flatten_config",
    "searchable_space",
    "function",
    "grid_search",
    "unflatten_config",
]
