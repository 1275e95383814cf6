"""The ``tune`` command line: ``run``, ``ls``, ``plugins``, ``dashboard``, ``schema`` and plugin commands.

:func:`main` is the console script; :class:`CommandRegistry` is what a plugin's
``tunecore_register_commands(cli)`` hook receives.
"""

from tunecore.cli.main import RUN_OPTIONS, CommandRegistry, build_parser, load_spec_file, main

__all__ = ["RUN_OPTIONS", "CommandRegistry", "build_parser", "load_spec_file", "main"]
