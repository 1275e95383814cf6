"""Old home of the ``tune`` sub-commands, now in :mod:`tunecore.cli`; this import path keeps working."""

from tunecore.cli.plugins_cmd import add_plugins_command

__all__ = ["add_plugins_command"]
