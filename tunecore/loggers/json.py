"""The JSON logger: ``params.json`` once, ``result.json`` one object a line."""

from __future__ import annotations

import json
import os
from typing import Optional

from tunecore import result as R
from tunecore.loggers._base import FileLogger
from tunecore.util import atomic_write, to_jsonable


def trim_results(logdir: Optional[str], iteration: int) -> int:
    """Drop rows of ``<logdir>/result.json`` after ``iteration`` (and any torn line).

    Called before a trial restarts from a checkpoint at ``iteration`` (0: from
    scratch), so the rows it logs next do not repeat iterations already logged.
    The file is rewritten atomically (temp file + rename), and only when something
    must go.

    Returns:
        how many rows were dropped.
    """
    if not logdir:
        return 0
    path = os.path.join(logdir, R.RESULT_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return 0
    kept: list[str] = []
    dropped = 0
    for line in lines:
        try:
            row = json.loads(line)
            it = row.get(R.TRAINING_ITERATION) if isinstance(row, dict) else None
        except ValueError:  # a line torn by a crash mid-write
            dropped += 1
            continue
        if isinstance(it, (int, float)) and it > iteration:
            dropped += 1
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        atomic_write(path, "".join(kept))
    return dropped


class JsonLogger(FileLogger):
    """The core's logger, always on unless a spec's ``loggers`` leaves out ``"json"``.

    Results are appended to an open file and flushed at most every
    ``flush_interval`` seconds (and on flush/close), not once per result. A trial
    restarting from iteration ``k`` (``restore_iteration``) first drops the rows
    after ``k``, so no iteration appears twice.
    """

    def _init(self) -> None:
        self.write_params()
        if self.restore_iteration is not None:
            trim_results(self.logdir, self.restore_iteration)
        self._open(os.path.join(self.logdir, R.RESULT_FILE))

    def write_params(self) -> None:
        atomic_write(os.path.join(self.logdir, "params.json"),
                     json.dumps(to_jsonable(self.config), sort_keys=True, indent=2))

    def update_config(self, config: dict) -> None:
        super().update_config(config)
        self.write_params()

    def on_result(self, result: dict) -> None:
        self._file.write(json.dumps(to_jsonable(result), sort_keys=True) + "\n")
        self._written()

    def on_results(self, results: list[dict]) -> None:
        self._file.write("".join(json.dumps(to_jsonable(r), sort_keys=True) + "\n" for r in results))
        self._written()

