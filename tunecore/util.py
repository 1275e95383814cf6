"""Small helpers shared by the core: atomic files, JSON lines, JSON of anything, pinned objects."""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any, Optional

import numpy as np

_PINNED: list = []
_PIN_PREFIX = "tunecore.PinnedObject:"
_pin_cache: dict = {}
_pin_lock = threading.Lock()


_umask: Optional[int] = None


def _default_permissions() -> int:
    """What ``open(path, "w")`` would give a new file (0666 less the umask)."""
    global _umask
    if _umask is None:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                _umask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError, IndexError):
            _umask = os.umask(0o022)
            os.umask(_umask)
    return 0o666 & ~_umask


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", *, durable: bool = False, permissions: Optional[int] = None,
                **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Write ``path`` through a temp file in the same folder, renamed over it on success.

    Readers see the old or the new file, never a torn one, even if the process dies; an
    exception inside the block leaves the old file as it was. ``durable`` also fsyncs (for
    files that must survive a power loss, such as experiment state). ``permissions``: the
    new file's mode, set before a byte is written (0600 for secrets); default as ``open``.
    The file object's ``name`` is the temp file's path.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)  # created 0600, O_EXCL
    try:
        os.fchmod(fd, _default_permissions() if permissions is None else permissions)
        os.close(fd)
        if "b" not in mode:
            open_kwargs.setdefault("encoding", "utf-8")
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str, text: str, durable: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, durable=durable) as f:
        f.write(text)


def describe_error(exc: Optional[BaseException], limit: int = 300, one_line: bool = True) -> str:
    """``Type: message`` of an error for a log line or a trial's error (Ray's wrapped cause first).

    ``one_line`` folds whitespace; the text is cut at ``limit`` characters.
    """
    if exc is None:
        return "none"
    cause = getattr(exc, "cause", None)  # a RayTaskError/RayActorError wraps the user's error
    if isinstance(cause, BaseException) and not isinstance(cause, type(exc)):
        exc = cause
    text = " ".join(str(exc).split()) if one_line else str(exc).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 3)] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def format_number(x: float) -> str:
    """``2`` for 2.0, ``0.5`` for 0.5: a resource amount as a status line shows it."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def read_json_lines(path: str) -> list[dict]:
    """The JSON objects of a ``.jsonl`` file (``result.json``, ``events.jsonl``), in order.

    Blank lines, other JSON values and a torn line (a crash mid-write) are skipped; a
    missing file reads as empty. Non-finite numbers come back as floats (:data:`NONFINITE`).
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
                rows.append(from_jsonable(row))
    return rows


#: How ``result.json``, ``experiment_state.json`` and the HTTP API write non-finite floats: as
#: these strings (the protobuf JSON mapping's spelling), so every file stays plain JSON that any
#: parser reads. :func:`from_jsonable` (and so ``Analysis``) turns them back into floats.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _nonfinite_name(value: float) -> str:
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and 0-d arrays turned into the Python numbers they hold.

    Applied to every result as it leaves the trainable, so schedulers, searchers,
    stopping criteria and the status table see ``float``/``int``/``bool``; dicts,
    lists and tuples are converted inside; larger arrays stay arrays (the loggers
    write them as lists). Returns ``value`` itself when nothing needs converting.
    """
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is dict:
        out = None
        for key, item in value.items():
            new = plain(item)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if kind is list or kind is tuple:
        items = [plain(v) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else kind(items)
    if isinstance(value, np.generic):
        return _numpy_scalar(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return plain(value[()])  # a numpy scalar, or the Python object of an object array
    return value


_PLAIN_TYPES = frozenset((float, int, str, bool, type(None)))
_MAX_INT_BITS = 14_000  # about 4,200 decimal digits


def _numpy_scalar(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return str(value)  # .item() of ns units is a bare int, of NaT None: the text says what it is
    if isinstance(value, np.complexfloating):
        return str(value.item())
    try:
        return value.item()
    except Exception:  # pragma: no cover - exotic dtypes
        return str(value)


def to_jsonable(value: Any) -> Any:
    """A plain-JSON copy of ``value``; never raises.

    numpy scalars become Python numbers and arrays lists; NaN and ±inf become the
    strings of :data:`NONFINITE`; ``datetime``/``date`` become ISO 8601 text; sets
    become lists; dict keys become strings; anything else becomes ``str(value)``.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        # beyond Python's 4300-digit limit an int has no JSON text: it is written as ±inf
        return value if value.bit_length() < _MAX_INT_BITS else ("Infinity" if value > 0 else "-Infinity")
    if kind is float:
        return value if value - value == 0.0 else _nonfinite_name(value)
    if isinstance(value, dict):
        return {k if type(k) is str else str(plain(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist() if value.dtype.kind in "biufcMm?" else list(value))
    if isinstance(value, np.generic):
        return to_jsonable(_numpy_scalar(value))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return to_jsonable(int(value))  # an IntEnum, a bool-free int subclass
    if isinstance(value, float):
        return to_jsonable(float(value))
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable` for numbers: the :data:`NONFINITE` strings back to floats."""
    kind = type(value)
    if kind is str:
        return NONFINITE.get(value, value) if value[:1] in "NI-" else value
    if kind is dict:
        return {k: from_jsonable(v) for k, v in value.items()}
    if kind is list:
        return [from_jsonable(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (plain JSON: no NaN tokens)."""
    return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)


def is_number(value: Any) -> bool:
    """A real number (Python or numpy), not a bool: what a metric comparison can use."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def as_float(value: Any) -> Optional[float]:
    """``value`` as a Python float if it is a real number (or a 0-d array of one), else None."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not is_number(value):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        return math.inf if value > 0 else -math.inf


def flatten_dict(d: dict, sep: str = "/", prefix: Optional[str] = None) -> dict:
    """``{"info": {"loss": 1}}`` -> ``{"info/loss": 1}``."""
    out: dict = {}
    for key, value in d.items():
        name = str(key) if prefix is None else f"{prefix}{sep}{key}"
        if isinstance(value, dict):
            out.update(flatten_dict(value, sep, name))
        else:
            out[name] = value
    return out


def lookup_metric(row: Any, metric: str) -> Any:
    """``row[metric]``; ``"a/b"`` is ``row["a"]["b"]`` unless ``"a/b"`` is a key itself (None when absent)."""
    if not isinstance(row, dict):
        return None
    if metric in row:
        return row[metric]
    if "/" not in metric:
        return None
    return flatten_dict(row).get(metric)


def pin_in_object_store(obj: Any) -> str:
    """Put ``obj`` in Ray's object store for the life of this driver; return a string id.

    The id is a plain string, so it can be captured in closures and configs; any
    task or actor of the cluster fetches the object with :func:`get_pinned_object`.
    """
    import ray

    from tunecore.execution.ray_executor import ensure_ray

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
