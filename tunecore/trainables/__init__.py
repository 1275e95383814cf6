"""What a trial runs: the :class:`Trainable` class API, function trainables, and the registry of names."""

from tunecore.trainables.registry import register_trainable
from tunecore.trainables.trainable import Trainable

__all__ = ["Trainable", "register_trainable"]
