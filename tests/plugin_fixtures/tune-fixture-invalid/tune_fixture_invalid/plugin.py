"""A plugin whose hookimpl asks for an argument the hookspec does not have."""

import tunecore
from tunecore.schedulers import FIFOScheduler


@tunecore.hookimpl
def tunecore_register_schedulers(register, scheduler_options):
    register("fixture_invalid", FIFOScheduler)
