"""Moved to :mod:`tunecore.cli.dashboard_cmd`; this import path keeps working (the same module object)."""

import sys

from tunecore.cli import dashboard_cmd as _moved

sys.modules[__name__] = _moved
