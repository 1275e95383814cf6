"""The entry point module: registers the scheduler under the name ``no_improvement``."""

import tunecore


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    from tune_example_scheduler.scheduler import NoImprovementStopper

    register("no_improvement", NoImprovementStopper)
