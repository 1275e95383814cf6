"""Moved to :mod:`tunecore.execution.status`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import status as _moved

sys.modules[__name__] = _moved
