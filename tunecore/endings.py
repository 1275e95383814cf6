"""Moved to :mod:`tunecore.execution.endings`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import endings as _moved

sys.modules[__name__] = _moved
