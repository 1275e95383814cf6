"""An example tunecore plugin: a scheduler that stops trials which stopped improving."""

from tune_example_scheduler.scheduler import NoImprovementStopper

__all__ = ["NoImprovementStopper"]
__version__ = "0.1.0"
