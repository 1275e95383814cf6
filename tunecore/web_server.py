"""Moved to :mod:`tunecore.web.server`; this import path keeps working (the same module object)."""

import sys

from tunecore.web import server as _moved

sys.modules[__name__] = _moved
