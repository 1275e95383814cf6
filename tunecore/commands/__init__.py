"""The ``tune`` command's built-in sub-commands, each added through a ``CommandRegistry``."""

from tunecore.commands.plugins_cmd import add_plugins_command

__all__ = ["add_plugins_command"]
