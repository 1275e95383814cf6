"""A plugin whose module cannot be imported (a dependency is missing)."""

import tune_fixture_missing_dependency  # noqa: F401  (does not exist, on purpose)

import tunecore


@tunecore.hookimpl
def tunecore_register_schedulers(register):
    register("fixture_broken", object)
