"""Result loggers: the base class and the core's JSON logger."""

from tunecore.loggers._base import FileLogger, Logger, NoopLogger
from tunecore.loggers.json import JsonLogger

__all__ = ["FileLogger", "JsonLogger", "Logger", "NoopLogger"]
