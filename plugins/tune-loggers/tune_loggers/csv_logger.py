"""The CSV logger: ``progress.csv`` that viskit and pandas read, one row per result."""

from __future__ import annotations

import csv
import decimal
import io
import json
import math
import os
from typing import Any, Optional

import numpy as np

from tunecore.loggers import FileLogger
from tunecore.util import atomic_open, atomic_write, flatten_dict, plain, to_jsonable

PROGRESS_FILE = "progress.csv"
#: How text Python cannot encode as UTF-8 (a lone surrogate, e.g. from a file name) is written: escaped.
_ERRORS = "backslashreplace"


def _cell(value: Any) -> Any:
    """How one flattened value is written, so that ``csv`` and ``pandas.read_csv`` read it back.

    Numbers as numbers (numpy scalars and 0-d arrays as the Python number they hold,
    ints of any size as their digits), NaN and ±inf as ``nan``/``inf``/``-inf`` (pandas
    reads them as floats), bools as ``True``/``False``, None empty, lists, tuples, sets
    and arrays as JSON text (non-finite items as ``"NaN"``/``"Infinity"``, as in
    ``result.json``), datetimes as ISO 8601 text, anything else as its text.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        return value if value - value == 0.0 else str(value)  # nan, inf, -inf
    if kind is int:
        return value if -_BIG_INT < value < _BIG_INT else _int_text(value)
    value = plain(value)  # numpy scalars and 0-d arrays: numpy 2 reprs np.float64(1.5) as "np.float64(1.5)"
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, int):
        return _int_text(int(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return _json_text(to_jsonable(value))
    value = to_jsonable(value)
    return value if isinstance(value, str) else _json_text(value)


#: Ints this large are written by :func:`_int_text` (Python refuses ``str`` of more than 4300 digits).
_BIG_INT = 2 ** 63


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows: its magnitude
        return f"{decimal.Decimal(value):.15e}"


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError:  # an int inside with more digits than Python prints
        return f"<{type(value).__name__} holding an int too long to print>"


def _iteration(cell: str) -> Optional[float]:
    try:
        return float(cell)
    except ValueError:
        return None


def trim_progress(path: str, iteration: int) -> int:
    """Drop the rows of the CSV file at ``path`` whose ``training_iteration`` > ``iteration``.

    The header stays; so do rows without a readable ``training_iteration``. A row
    torn by a crash mid-write (the file does not end with a newline, or the row is
    shorter or longer than the header) goes too. The file is rewritten atomically
    (temp file + rename), and only when something must go.

    Returns:
        how many rows were dropped.
    """
    try:
        with open(path, newline="", encoding="utf-8", errors=_ERRORS) as f:
            text = f.read()
    except FileNotFoundError:
        return 0
    if not text:
        return 0
    rows = list(csv.reader(io.StringIO(text)))
    if not text.endswith("\n"):
        if len(rows) <= 1:  # even the header is torn: start the file anew
            atomic_write(path, "")
            return 0
        rows.pop()
        dropped = 1
    else:
        dropped = 0
    header, body = rows[0], rows[1:]
    column = header.index("training_iteration") if "training_iteration" in header else None
    kept = []
    for row in body:
        value = _iteration(row[column]) if column is not None and len(row) == len(header) else None
        if len(row) != len(header) or (value is not None and value > iteration):
            dropped += 1
        else:
            kept.append(row)
    if dropped:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(kept)
        atomic_write(path, out.getvalue())
    return dropped


class CSVLogger(FileLogger):
    """Writes ``progress.csv`` in the trial folder, with nested keys flattened (``info/loss``).

    The header is the keys of the first result; a key that first appears later
    widens the header (the file is rewritten atomically with the new column, empty
    in earlier rows; rare), otherwise rows are appended to a file kept open and
    flushed at most every ``flush_interval`` seconds and on ``flush``/``close``.
    A trial that resumes in the same folder appends under the existing header; one
    that restarts from a checkpoint at iteration ``k`` (``restore_iteration``) first
    drops the rows after ``k`` (atomically), so no iteration appears twice.
    ``params.json`` is written too if no other logger wrote it.
    """

    default_enabled = True

    def _init(self) -> None:
        os.makedirs(self.logdir, exist_ok=True)
        self.path = os.path.join(self.logdir, PROGRESS_FILE)
        params = os.path.join(self.logdir, "params.json")
        if not os.path.exists(params):
            self._write_params()
        if self.restore_iteration is not None:
            trim_progress(self.path, self.restore_iteration)
        self._fields: list[str] = []
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            with open(self.path, newline="", encoding="utf-8", errors=_ERRORS) as f:
                self._fields = next(csv.reader(f), [])
        self._fieldset = set(self._fields)
        self._open(self.path, newline="", errors=_ERRORS)
        self._writer = csv.DictWriter(self._file, self._fields)

    def _write_params(self) -> None:
        atomic_write(os.path.join(self.logdir, "params.json"),
                     json.dumps(to_jsonable(self.config), sort_keys=True, indent=2))

    def on_result(self, result: dict) -> None:
        self.on_results([result])

    def on_results(self, results: list[dict]) -> None:
        if self._file.closed:
            return
        rows = [{k: _cell(v) for k, v in flatten_dict(r).items()} for r in results]
        new: dict[str, None] = {}
        for row in rows:
            for key in row:
                if key not in self._fieldset:
                    new[key] = None
        if new:
            self._widen(list(new))
        self._writer.writerows(rows)
        self._written()

    def _widen(self, new_fields: list[str]) -> None:
        """Add columns: write the header (first rows) or rewrite the file with the wider header."""
        fields = self._fields + new_fields
        self._file.flush()
        if self._fields and os.path.getsize(self.path) > 0:
            with atomic_open(self.path, "w", newline="", encoding="utf-8", errors=_ERRORS) as out, \
                    open(self.path, newline="", encoding="utf-8", errors=_ERRORS) as old:
                reader = csv.reader(old)
                next(reader, None)
                writer = csv.writer(out)
                writer.writerow(fields)
                pad = [""] * len(new_fields)
                for row in reader:
                    writer.writerow(row + pad)
                self._file.close()
            self._open(self.path, newline="", errors=_ERRORS)
        self._fields = fields
        self._fieldset.update(new_fields)
        self._writer = csv.DictWriter(self._file, self._fields)
        if os.path.getsize(self.path) == 0:
            self._writer.writeheader()

    def update_config(self, config: dict) -> None:
        super().update_config(config)
        self._write_params()

