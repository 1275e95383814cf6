"""Moved to :mod:`tunecore.trainables.trainable`; this import path keeps working (the same module object)."""

import sys

from tunecore.trainables import trainable as _moved

sys.modules[__name__] = _moved
