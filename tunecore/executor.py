"""Moved to :mod:`tunecore.execution.ray_executor`; this import path keeps working (the same module object)."""

import sys

from tunecore.execution import ray_executor as _moved

sys.modules[__name__] = _moved
