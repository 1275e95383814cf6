"""Moved to :mod:`tunecore.execution.failures`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import failures as _moved

sys.modules[__name__] = _moved
