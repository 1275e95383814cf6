"""The experiment server (``with_server=True``) and ``TuneClient``, its Python client.

The server is a small REST API over a running experiment (REST form):

* ``GET /trials`` -> ``{"trials": [<trial info>, ...]}``
* ``GET /trials/{id}`` -> ``{"trial_info": <trial info>}``
* ``POST /trials`` with ``{"name": ..., "spec": {...}}`` -> ``201 {"trials": [<added>...]}``
* ``PUT /trials/{id}`` with ``{"status": "TERMINATED"}`` -> ``{"trial_info": ...}``
* ``GET /`` -> the dashboard page; ``GET /api/history?since=N`` its data (with the run's
  ``"objective"``: ``{"metric", "mode", "constraints"}`` or null), and
  ``GET /api/importances?metric=NAME`` the searched parameters' importances for a metric.

A trial info is ``{"id", "trainable_name", "name", "config", "status", "result",
"num_failures", "logdir"}``. Every API request needs ``Authorization: Bearer <token>``;
errors are 4xx with ``{"message": ...}``. Changes are carried out by the runner's
own loop (``runner.submit``), never from the server's threads.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import warnings
from typing import Any, Optional
from urllib.parse import quote

from tunecore.errors import TuneError, TuneManagerError
from tunecore.util import dumps, from_jsonable
from tunecore.web.auth import TOKEN_ENV, TOKEN_FILE, client_token, resolve_server_token
from tunecore.web.service import ServerCore, is_loopback, start_server
from tunecore.web.sources import RUNNER_TIMEOUT, DataSource, FolderSource, RunnerSource

__all__ = ["DashboardServer", "TuneClient", "TuneServer", "TOKEN_ENV"]

DEFAULT_PORT = 4321


class _BackgroundServer:
    """Start/stop plumbing shared by :class:`TuneServer` and :class:`DashboardServer`."""

    what = "server"
    token_filename = TOKEN_FILE

    def __init__(self, port: int, host: Optional[str], token_dir: Optional[str], token: Optional[str],
                 verbose: bool) -> None:
        self.host = host or "127.0.0.1"
        self.requested_port = port
        self.token_dir = token_dir
        self.verbose = verbose
        self._token = token
        self.token_file: Optional[str] = None
        self._core: Optional[ServerCore] = None
        self._thread: Optional[threading.Thread] = None
        if not is_loopback(self.host):
            warnings.warn(
                f"The {self.what} will listen on {self.host}, reachable from other machines. "
                "Requests still need the token, but traffic is not encrypted; prefer 127.0.0.1 with "
                "an SSH tunnel.", stacklevel=3)

    def _source(self) -> DataSource:
        raise NotImplementedError

    @property
    def port(self) -> int:
        """The port actually listened on (after :meth:`start`)."""
        if self._core is None:
            return self.requested_port
        return self._core.server_address[1]

    @property
    def address(self) -> str:
        """``host:port``, as ``TuneClient`` takes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    @property
    def token(self) -> Optional[str]:
        return self._core.token if self._core else self._token

    def start(self) -> _BackgroundServer:
        """Bind and serve in a daemon thread; returns once listening.

        Raises:
            TuneError: the port is taken or the host cannot be bound.
        """
        if self._core is not None:
            return self
        if self._token:
            token, self.token_file = self._token, None
        else:
            token, self.token_file = resolve_server_token(self.token_dir, self.token_filename)
        self._core, self._thread = start_server(self.host, self.requested_port, self._source(), token, self.what)
        if self.verbose:
            where = (f"token in {self.token_file}" if self.token_file
                     else f"token from ${TOKEN_ENV}" if not self._token else "token given by the caller")
            print(self._banner(where), flush=True)
        return self

    def _banner(self, where: str) -> str:
        return f"{self.what} at {self.url} ({where})"

    def shutdown(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        core, self._core = self._core, None
        if core is None:
            return
        close = getattr(core.source, "close", None)
        if close is not None:
            close()  # requests waiting for the runner's loop answer 503 now
        core.shutdown()
        core.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


class TuneServer(_BackgroundServer):
    """Serve the HTTP API and dashboard of a running experiment in a background thread.

    Args:
        runner: the TrialRunner; the server calls its ``get_trials()``, ``get_trial(id)``
            (reads, from the server's threads) and ``submit(fn)`` (changes: ``fn`` runs on
            the runner's thread and calls ``add_experiment``/``stop_trial``).
        port: TCP port (0 picks a free one; see :attr:`port`).
        host: address to bind; ``127.0.0.1`` unless given. Any other address warns,
            since the API then answers other machines (still only with the token).
        experiment_dir: the (first) experiment's folder: the generated token is written
            there as ``server_token`` (mode 0600), and added trials are written beside it.
        token: the token to require; default ``TUNECORE_SERVER_TOKEN`` or a generated one.
        verbose: print where the server listens and where the token is.
        request_timeout: seconds a change request waits for the runner's loop (then 503).
    """

    what = "experiment server"

    def __init__(self, runner: Any, port: int = DEFAULT_PORT, host: Optional[str] = None,
                 experiment_dir: Optional[str] = None, token: Optional[str] = None,
                 verbose: bool = True, request_timeout: float = RUNNER_TIMEOUT) -> None:
        self.runner = runner
        self.experiment_dir = experiment_dir
        self.request_timeout = request_timeout
        super().__init__(port, host, experiment_dir, token, verbose)

    def _source(self) -> DataSource:
        return RunnerSource(self.runner, self.experiment_dir, timeout=self.request_timeout)

    def _banner(self, where: str) -> str:
        return (f"Starting Tune Server: dashboard and API at {self.url} ({where}; "
                f"TuneClient({self.address!r}) reads ${TOKEN_ENV} or token=).")


class DashboardServer(_BackgroundServer):
    """Serve the dashboard (and read-only ``GET /trials``) of an experiment folder on disk.

    The folder may hold a finished experiment or one still running in another
    process; the page follows ``experiment_state.json`` and each trial's files.
    A generated token is written to ``<experiment_dir>/dashboard_token`` (mode 0600).
    """

    what = "dashboard"
    token_filename = "dashboard_token"

    def __init__(self, experiment_dir: str, port: int = DEFAULT_PORT + 1, host: Optional[str] = None,
                 token: Optional[str] = None, verbose: bool = True) -> None:
        self.experiment_dir = os.path.abspath(os.path.expanduser(experiment_dir))
        super().__init__(port, host, self.experiment_dir, token, verbose)

    def _source(self) -> DataSource:
        return FolderSource(self.experiment_dir)

    def _banner(self, where: str) -> str:
        return f"Dashboard of {self.experiment_dir} at {self.url} ({where}). Ctrl-C to stop."


class TuneClient:
    """Inspect and change a running experiment over its HTTP API.

    Args:
        tune_address: ``"host:port"`` of the server (``"http://host:port"`` also works).
        token: the server's token; default ``TUNECORE_SERVER_TOKEN``. A generated token
            is in ``<experiment dir>/server_token`` (see :meth:`from_experiment_dir`).
        timeout: seconds to wait for each answer.

    Every method returns the parsed JSON answer. A refusal (4xx/5xx) raises
    :class:`tunecore.errors.TuneManagerError` with ``.status`` and the server's message.
    """

    def __init__(self, tune_address: str, token: Optional[str] = None, timeout: float = 60.0) -> None:
        address = tune_address.strip()
        if "://" not in address:
            address = "http://" + address
        self._base = address.rstrip("/")
        self._token = client_token(token)
        self.timeout = timeout

    @classmethod
    def from_experiment_dir(cls, tune_address: str, experiment_dir: str, **kwargs: Any) -> TuneClient:
        """A client using the token the server wrote to ``<experiment_dir>/server_token``."""
        with open(os.path.join(os.path.expanduser(experiment_dir), TOKEN_FILE), encoding="utf-8") as f:
            return cls(tune_address, token=f.read().strip(), **kwargs)

    def get_all_trials(self) -> dict:
        """``{"trials": [<trial info>, ...]}``."""
        return self._request("GET", "/trials")

    def get_trial(self, trial_id: str) -> dict:
        """``{"trial_info": <trial info>}``; unknown ids raise (404)."""
        return self._request("GET", f"/trials/{quote(str(trial_id), safe='')}")

    def add_trial(self, name: str, trial_spec: dict) -> dict:
        """Add the trials of experiment spec ``trial_spec`` (``run`` a registered name) as ``name``.

        Returns ``{"trials": [<trial info of each added trial>]}``.
        """
        return self._request("POST", "/trials", {"name": name, "spec": trial_spec})

    def stop_trial(self, trial_id: str) -> dict:
        """Ask the runner to stop the trial; returns ``{"trial_info": ...}`` once it is carried out."""
        return self._request("PUT", f"/trials/{quote(str(trial_id), safe='')}", {"status": "TERMINATED"})

    def _request(self, method: str, path: str, body: Any = None) -> dict:
        data = None if body is None else dumps(body).encode("utf-8")
        req = urllib.request.Request(self._base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return from_jsonable(json.loads(resp.read().decode("utf-8") or "{}"))  # "NaN" -> nan
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read().decode("utf-8")).get("message", "")
            except (ValueError, AttributeError, OSError):
                message = ""
            hint = "" if self._token or exc.code != 401 else (
                f" No token was sent: set {TOKEN_ENV} or pass token= (a generated token is in the "
                f"experiment folder's {TOKEN_FILE} file).")
            err = TuneManagerError(f"{method} {path} -> {exc.code}: {message or exc.reason}{hint}")
            err.status = exc.code  # type: ignore[attr-defined]
            raise err from None
        except urllib.error.URLError as exc:
            raise TuneError(f"Cannot reach the experiment server at {self._base}: {exc.reason}") from None

