"""Moved to :mod:`tunecore.trainables.registry`; this import path keeps working (the same module object)."""

import sys

from tunecore.trainables import registry as _moved

sys.modules[__name__] = _moved
