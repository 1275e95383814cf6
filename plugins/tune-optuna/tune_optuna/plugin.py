"""tune-optuna's registrations: the ``optuna`` search algorithm."""

from __future__ import annotations

import tunecore


@tunecore.hookimpl
def tunecore_register_searchers(register):
    from tune_optuna.search import OptunaSearch

    register("optuna", OptunaSearch)
