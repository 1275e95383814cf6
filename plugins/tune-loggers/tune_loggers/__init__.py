"""tune-loggers: CSV/viskit and TensorBoard result loggers and an S3 syncer for tunecore."""

from tune_loggers.csv_logger import CSVLogger
from tune_loggers.s3 import S3Syncer, parse_s3_uri
from tune_loggers.tensorboard_logger import TensorBoardLogger

__version__ = "0.1.0"

__all__ = ["CSVLogger", "S3Syncer", "TensorBoardLogger", "__version__", "parse_s3_uri"]
