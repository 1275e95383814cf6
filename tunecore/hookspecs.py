"""The plugin contract: every hook tunecore calls, in the order of an experiment's life.

A plugin is a module named by an entry point in the group ``tunecore.plugins``::

    [project.entry-points."tunecore.plugins"]
    tune-pbt = "tune_pbt.plugin"

The module holds functions marked with :data:`tunecore.hookimpl` whose names are the
hooks below. Every registration hook is *historic*: it runs once for each plugin, when
that plugin is loaded (discovery happens on first use by ``run_experiments`` or the
``tune`` command, never at import), and receives a ``register`` callable::

    @tunecore.hookimpl
    def tunecore_register_schedulers(register):
        register("pbt", PopulationBasedTraining)

``register(name, factory)`` files ``factory`` under ``name`` for the plugin being
loaded. ``factory`` is a class or callable; specs name it (``"scheduler": "pbt"`` or
``{"name": "pbt", ...kwargs}``) and tunecore calls ``factory(**kwargs)``. Registering a
name another plugin already registered is an error that names both plugins.

The core's own defaults (FIFO, median stopping, the variant generator, the JSON
logger, the local ``file://`` syncer) register through these same hooks.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("tunecore")
hookimpl = pluggy.HookimplMarker("tunecore")

Register = Callable[[str, Any], None]


@hookspec(historic=True)
def tunecore_register_schedulers(register: Register) -> None:
    """Register trial schedulers.

    Runs when the plugin is loaded. ``register(name, factory)``: ``factory(**kwargs)``
    returns a :class:`tunecore.schedulers.TrialScheduler`. The return value is ignored.
    """


@hookspec(historic=True)
def tunecore_register_searchers(register: Register) -> None:
    """Register search algorithms.

    Runs when the plugin is loaded. ``register(name, factory)``: ``factory(**kwargs)``
    returns a :class:`tunecore.searchers.SearchAlgorithm`. The return value is ignored.
    """


@hookspec(historic=True)
def tunecore_register_loggers(register: Register) -> None:
    """Register result loggers.

    Runs when the plugin is loaded. ``register(name, factory)``: ``factory`` is a
    :class:`tunecore.loggers.Logger` subclass, constructed once per trial as
    ``factory(config, logdir, trial)``. Loggers whose class sets
    ``default_enabled = True`` are on for every experiment that does not list
    ``loggers`` explicitly. When a trial restarts from a checkpoint, its new loggers
    see ``self.restore_iteration`` (see ``Logger.restoring``) and drop what they logged
    after it. The return value is ignored.
    """


@hookspec(historic=True)
def tunecore_register_syncers(register: Register) -> None:
    """Register syncers for ``upload_dir`` URIs, by scheme.

    Runs when the plugin is loaded. ``register(scheme, factory)`` with ``scheme`` such
    as ``"s3"``: ``factory(local_dir, remote_uri, **options)`` returns a
    :class:`tunecore.syncers.Syncer`. The return value is ignored.
    """


@hookspec(historic=True)
def tunecore_register_callbacks(register: Register) -> None:
    """Register experiment callbacks (:class:`tunecore.Callback`).

    Runs when the plugin is loaded. ``register(name, factory)``: ``factory()`` returns a
    ``Callback``. Runs name them (``RunConfig(callbacks=["name"])``, the spec key
    ``callbacks``); a factory whose ``default_enabled`` attribute is true is added to every
    run. Its hooks are called on the driver, in the order documented in
    :mod:`tunecore.callback`; one that raises is reported once and skipped. The return
    value is ignored.
    """


@hookspec(historic=True)
def tunecore_register_commands(cli: Any) -> None:
    """Add sub-commands to the ``tune`` command line.

    Runs when the plugin is loaded, only when the ``tune`` command runs. ``cli`` is a
    :class:`tunecore.cli.CommandRegistry`; call
    ``cli.register(name, handler, help="...", configure=None)`` where
    ``configure(parser)`` adds arguments to an ``argparse`` parser and
    ``handler(args) -> int`` runs the command and returns its exit code.
    """
