"""tune-integrations' registrations (entry point ``tune-integrations``).

Registers the ``mlflow`` experiment callback by name (``RunConfig(callbacks=["mlflow"])``): a
:class:`tune_integrations.mlflow.MLflowLoggerCallback` with its defaults (the tracking URI from
``MLFLOW_TRACKING_URI``, the MLflow experiment named after the tunecore experiment). Nothing here
imports a framework: the factory imports :mod:`tune_integrations.mlflow`, and MLflow itself, only
when a run asks for it; without MLflow it raises an ImportError naming the extra to install.
"""

from __future__ import annotations

import tunecore


def _mlflow_callback(**kwargs):
    from tune_integrations.mlflow import MLflowLoggerCallback

    return MLflowLoggerCallback(**kwargs)


@tunecore.hookimpl
def tunecore_register_callbacks(register):
    register("mlflow", _mlflow_callback)
