"""Moved to :mod:`tunecore.execution.trial`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import trial as _moved

sys.modules[__name__] = _moved
