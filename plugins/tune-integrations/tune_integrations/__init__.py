"""tune-integrations: tunecore where users train and track.

One module per framework, each imported only when used (the framework is an optional extra):

- :mod:`tune_integrations.sklearn`: ``TuneSearchCV``, ``TuneGridSearchCV``;
- :mod:`tune_integrations.lightgbm`, :mod:`tune_integrations.xgboost`: ``TuneReportCallback``,
  ``TuneReportCheckpointCallback``;
- :mod:`tune_integrations.keras`: ``TuneReportCallback``, ``TuneReportCheckpointCallback``;
- :mod:`tune_integrations.mlflow`: ``MLflowLoggerCallback``, ``setup_mlflow``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
