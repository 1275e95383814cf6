"""Search algorithms: the base class and the core's defaults."""

from tunecore.searchers._base import SearchAlgorithm

__all__ = ["SearchAlgorithm"]
