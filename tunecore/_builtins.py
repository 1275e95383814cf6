"""The core's own defaults, registered through the same hooks as any plugin."""

from __future__ import annotations

from tunecore.hookspecs import hookimpl


@hookimpl
def tunecore_register_schedulers(register):
    from tunecore.schedulers import FIFOScheduler, MedianStoppingRule

    register("fifo", FIFOScheduler)
    register("median_stopping", MedianStoppingRule)


@hookimpl
def tunecore_register_searchers(register):
    from tunecore.searchers import BasicVariantGenerator

    register("variant_generator", BasicVariantGenerator)
    register("basic_variant", BasicVariantGenerator)


@hookimpl
def tunecore_register_loggers(register):
    from tunecore.loggers.json import JsonLogger

    register("json", JsonLogger)


@hookimpl
def tunecore_register_syncers(register):
    from tunecore.syncers.local import LocalSyncer

    register("file", LocalSyncer)
