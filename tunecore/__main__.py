"""``python -m tunecore``: the ``tune`` command."""

import sys

from tunecore.cli import main

sys.exit(main())
