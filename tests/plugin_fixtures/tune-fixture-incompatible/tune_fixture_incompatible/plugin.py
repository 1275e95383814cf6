"""A plugin made for another tunecore (it requires tunecore<0.0.1); never imported."""

import tunecore
from tunecore.schedulers import FIFOScheduler


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    register("fixture_incompatible", FIFOScheduler)
