"""Registers the HyperBand schedulers with tunecore (entry point ``tune-hyperband``)."""

from __future__ import annotations

import tunecore


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    """``hyperband`` (synchronous, pauses trials); ``async_hyperband`` and its alias ``asha``;
    ``mo_asha`` and its alias ``multi_objective_asha`` (several objectives)."""
    from tune_hyperband.async_hyperband import AsyncHyperBandScheduler
    from tune_hyperband.hyperband import HyperBandScheduler
    from tune_hyperband.mo_asha import MultiObjectiveAsyncHyperBandScheduler

    register("hyperband", HyperBandScheduler)
    register("async_hyperband", AsyncHyperBandScheduler)
    register("asha", AsyncHyperBandScheduler)
    register("mo_asha", MultiObjectiveAsyncHyperBandScheduler)
    register("multi_objective_asha", MultiObjectiveAsyncHyperBandScheduler)
