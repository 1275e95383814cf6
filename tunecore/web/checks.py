"""What the server accepts over the wire: JSON bodies, trial ids, and specs that carry no code."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from tunecore import spec as _spec
from tunecore.errors import TuneError, TuneManagerError

#: Largest request body accepted (bytes); larger bodies get 413.
MAX_BODY_BYTES = 1 << 20
#: Most trials one ``POST /trials`` may create (num_samples times the grid size).
MAX_TRIALS_PER_REQUEST = 1000
#: Deepest nesting of lists/dicts accepted in a spec.
MAX_DEPTH = 32

#: Spec keys accepted over HTTP: the fields of ``tunecore.spec.SPEC_FIELDS`` marked ``http``
#: (and the aliases). ``restore``/``local_dir``/``upload_dir``/``loggers``... are left out on
#: purpose: they name files, folders and remote targets on the driver's host.
HTTP_SPEC_KEYS = _spec.http_keys()
#: ``{key: why it is refused over HTTP}``, from the same table.
_REFUSED_KEYS = _spec.http_refusals()

#: Keys whose values are Python expressions (evaluated by variant generation): never from the wire.
_CODE_KEYS = ("eval", "sample_from")

_TRIAL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class RequestError(TuneManagerError):
    """A request the server refuses, with the HTTP status to answer with (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]!r} is out of range")
    return value


def parse_json_body(raw: bytes) -> Any:
    """Parse a UTF-8 JSON body; NaN, Infinity, huge numbers and deep nesting are refused (400)."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except RecursionError:
        raise RequestError(400, "Malformed JSON: nested too deeply.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestError(400, f"Malformed JSON body: {exc}") from None


def check_keys(body: Any, required: tuple, what: str) -> dict:
    """``body`` must be an object with exactly the keys ``required``."""
    if not isinstance(body, dict):
        raise RequestError(400, f"{what}: the body must be a JSON object with keys {list(required)}.")
    unknown = sorted(set(body) - set(required))
    if unknown:
        raise RequestError(400, f"{what}: unknown key(s) {unknown}; expected exactly {list(required)}.")
    missing = [k for k in required if k not in body]
    if missing:
        raise RequestError(400, f"{what}: missing key(s) {missing}.")
    return body


def check_trial_id(trial_id: str) -> str:
    """A trial id from a URL path; anything not id-shaped is simply not found (404)."""
    if not _TRIAL_ID.match(trial_id):
        raise RequestError(404, f"Trial ({trial_id[:80]}) not found.")
    return trial_id


def check_stop_body(body: Any) -> None:
    """``PUT /trials/{id}`` accepts only ``{"status": "TERMINATED"}``."""
    check_keys(body, ("status",), "PUT /trials/{id}")
    if body["status"] != "TERMINATED":
        raise RequestError(400, f'Only {{"status": "TERMINATED"}} is supported, but got status={body["status"]!r}.')


def _walk(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise RequestError(400, f"spec is nested too deeply at {path} (more than {MAX_DEPTH} levels).")
    if isinstance(value, dict):
        for key in _CODE_KEYS:
            if key in value:
                raise RequestError(400, f'{path}: {{"{key}": ...}} is refused over HTTP: no code is accepted '
                                        "from the network. Give the values, a grid_search list or a "
                                        "sample domain such as {\"uniform\": [0, 1]} instead.")
        for key, item in value.items():
            _walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", depth + 1)


def _grid_size(value: Any) -> int:
    """How many variants the grid searches inside ``value`` expand to."""
    if isinstance(value, dict):
        if set(value) == {"grid_search"} and isinstance(value["grid_search"], list):
            return max(1, len(value["grid_search"])) * max((_grid_size(v) for v in value["grid_search"]), default=1)
        size = 1
        for item in value.values():
            size *= _grid_size(item)
            if size > MAX_TRIALS_PER_REQUEST:
                return size
        return size
    if isinstance(value, list):
        size = 1
        for item in value:
            size *= _grid_size(item)
            if size > MAX_TRIALS_PER_REQUEST:
                return size
        return size
    return 1


def check_add_body(body: Any, has_trainable: Any) -> tuple[str, dict]:
    """Check a ``POST /trials`` body; return ``(name, spec)``.

    Args:
        body: the parsed JSON.
        has_trainable: ``name -> bool``, true for trainables registered in the driver.

    Raises:
        RequestError: 400 with a message saying what is wrong and what is accepted.
    """
    check_keys(body, ("name", "spec"), "POST /trials")
    name, spec = body["name"], body["spec"]
    if not isinstance(name, str) or not _EXPERIMENT_NAME.match(name):
        raise RequestError(400, "name must be 1-100 characters of letters, digits, '_', '.', '-' "
                                f"(starting with a letter or digit), but got name={str(name)[:120]!r}.")
    if not isinstance(spec, dict):
        raise RequestError(400, f"spec must be a JSON object of experiment keys, but got {type(spec).__name__}.")
    for key in spec:
        if key in _REFUSED_KEYS:
            raise RequestError(400, f"spec key {key!r} is not accepted over HTTP: {_REFUSED_KEYS[key]}.")
        if key not in HTTP_SPEC_KEYS:
            raise RequestError(400, f"Unknown spec key {key[:80]!r}. Accepted over HTTP: {sorted(HTTP_SPEC_KEYS)}.")
    _walk(spec, "spec", 0)  # depth and code first: the table's checks below recurse into grids
    try:  # the table's checks, with the messages of every other way in
        _spec.validate_values(spec, where=name)
    except TuneError as exc:
        raise RequestError(400, str(exc)) from None
    run = spec.get("run")
    if not isinstance(run, str) or not run:
        raise RequestError(400, "spec.run must be the name of a trainable registered in the driver.")
    if ":" in run or not has_trainable(run):
        raise RequestError(400, f"spec.run={run[:120]!r} is not a trainable registered in the driver; "
                                "import paths are not accepted over HTTP. Register it with "
                                "tunecore.register_trainable(name, fn_or_class) in the driver script.")
    for key in ("num_samples", "repeat"):
        n = spec.get(key)
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TRIALS_PER_REQUEST):
            raise RequestError(400, f"spec.{key} must be an int between 1 and {MAX_TRIALS_PER_REQUEST}, "
                                    f"but got {key}={n!r}.")
    samples = spec.get("num_samples") or spec.get("repeat") or 1
    total = samples * _grid_size(spec)
    if total > MAX_TRIALS_PER_REQUEST:
        raise RequestError(400, f"spec would create more than {MAX_TRIALS_PER_REQUEST} trials "
                                "(num_samples times the grid size); add them in smaller requests.")
    return name, spec
