"""tune-loggers' registrations: the ``csv`` and ``tensorboard`` loggers and the ``s3`` syncer."""

from __future__ import annotations

import tunecore


@tunecore.hookimpl
def tunecore_register_loggers(register):
    from tune_loggers.csv_logger import CSVLogger
    from tune_loggers.tensorboard_logger import TensorBoardLogger

    register("csv", CSVLogger)
    register("tensorboard", TensorBoardLogger)


@tunecore.hookimpl
def tunecore_register_syncers(register):
    from tune_loggers.s3 import S3Syncer

    register("s3", S3Syncer)
