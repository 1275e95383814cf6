"""Moved to :mod:`tunecore.execution.runner`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import runner as _moved

sys.modules[__name__] = _moved
