"""Moved to :mod:`tunecore.execution.guard`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import guard as _moved

sys.modules[__name__] = _moved
