"""Moved to :mod:`tunecore.search.sample`; this import path keeps working (the same module object)."""

import sys

from tunecore.search import sample as _moved

sys.modules[__name__] = _moved
