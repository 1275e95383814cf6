"""tune-pbt's registrations: the ``pbt`` and ``pbt_replay`` schedulers."""

from __future__ import annotations

import tunecore


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    from tune_pbt.pbt import PopulationBasedTraining
    from tune_pbt.replay import PopulationBasedTrainingReplay

    register("pbt", PopulationBasedTraining)
    register("pbt_replay", PopulationBasedTrainingReplay)
