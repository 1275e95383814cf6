"""Moved to :mod:`tunecore.search.variants`; this import path keeps working (the same module object)."""

import sys

from tunecore.search import variants as _moved

sys.modules[__name__] = _moved
