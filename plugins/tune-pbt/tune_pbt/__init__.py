"""Population Based Training for tunecore: the ``pbt`` scheduler, its explore step and schedule replay."""

from tune_pbt.explore import explore
from tune_pbt.pbt import PopulationBasedTraining
from tune_pbt.replay import PopulationBasedTrainingReplay, load_schedule, replay_schedule, trial_lineage

__version__ = "0.1.0"

__all__ = [
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "__version__",
    "explore",
    "load_schedule",
    "replay_schedule",
    "trial_lineage",
]
