"""Small helpers shared by the core: atomic files, JSON lines, JSON of anything, pinned objects."""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
import threading
from typing import Any

import numpy as np

_PINNED: list = []
_PIN_PREFIX = "tunecore.PinnedObject:"
_pin_cache: dict = {}
_pin_lock = threading.Lock()


def atomic_write(path: str, text: str, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename.

    Readers see the old or the new file, never a torn one, even if the process dies.
    ``durable`` also fsyncs, for files that must survive a power loss (experiment state).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json_lines(path: str) -> list[dict]:
    """The JSON objects of a ``.jsonl`` file (``result.json``, ``events.jsonl``), in order.

    Blank lines, other JSON values and a torn line (a crash mid-write) are skipped; a
    missing file reads as empty.
    """
    rows: list[dict] = []
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return rows
    with f:
        for line in f:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def to_jsonable(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to numbers, NaN/inf to None, unknown objects to str."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    return str(value)


def flatten_dict(d: dict, sep: str = "/", prefix: str = "") -> dict:
    """``{"info": {"loss": 1}}`` -> ``{"info/loss": 1}``."""
    out: dict = {}
    for key, value in d.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten_dict(value, sep, name))
        else:
            out[name] = value
    return out


def pin_in_object_store(obj: Any) -> str:
    """Put ``obj`` in Ray's object store for the life of this driver; return a string id.

    The id is a plain string, so it can be captured in closures and configs; any
    task or actor of the cluster fetches the object with :func:`get_pinned_object`.
    """
    import ray

    from tunecore.executor import ensure_ray

    ensure_ray()
    ref = ray.put(obj)
    _PINNED.append(ref)  # the driver holds the reference: never evicted while it lives
    # cloudpickle (out of band) keeps the owner's address, so any worker can fetch it
    return _PIN_PREFIX + base64.b64encode(ray.cloudpickle.dumps(ref)).decode("ascii")


def get_pinned_object(pinned_id: str) -> Any:
    """The object behind an id from :func:`pin_in_object_store` (cached per process)."""
    import ray

    if not isinstance(pinned_id, str) or not pinned_id.startswith(_PIN_PREFIX):
        raise ValueError(f"{pinned_id!r} is not an id returned by pin_in_object_store")
    with _pin_lock:
        if pinned_id in _pin_cache:
            return _pin_cache[pinned_id]
    ref = ray.cloudpickle.loads(base64.b64decode(pinned_id[len(_PIN_PREFIX):]))
    value = ray.get(ref)
    with _pin_lock:
        _pin_cache[pinned_id] = value
    return value
