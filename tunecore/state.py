"""Moved to :mod:`tunecore.execution.state`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import state as _moved

sys.modules[__name__] = _moved
