"""Moved to :mod:`tunecore.search.resolve`; this import path keeps working (the same module object)."""

import sys

from tunecore.search import resolve as _moved

sys.modules[__name__] = _moved
