"""The JSON logger: ``params.json`` once, ``result.json`` one object a line."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from tunecore.loggers._base import Logger
from tunecore.util import atomic_write, to_jsonable


class JsonLogger(Logger):
    """The core's logger, always on unless a spec's ``loggers`` leaves out ``"json"``.

    Results are appended to an open file and flushed at most every
    ``flush_interval`` seconds (and on flush/close), not once per result.
    """

    flush_interval = 1.0

    def _init(self) -> None:
        self.write_params()
        self._file = open(os.path.join(self.logdir, "result.json"), "a", encoding="utf-8")
        self._last_flush = time.monotonic()

    def write_params(self) -> None:
        atomic_write(os.path.join(self.logdir, "params.json"),
                     json.dumps(to_jsonable(self.config), sort_keys=True, indent=2))

    def update_config(self, config: dict) -> None:
        super().update_config(config)
        self.write_params()

    def on_result(self, result: dict) -> None:
        self._file.write(json.dumps(to_jsonable(result), sort_keys=True) + "\n")
        if time.monotonic() - self._last_flush > self.flush_interval:
            self.flush()

    def on_results(self, results: list[dict]) -> None:
        self._file.write("".join(json.dumps(to_jsonable(r), sort_keys=True) + "\n" for r in results))
        if time.monotonic() - self._last_flush > self.flush_interval:
            self.flush()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
