"""The HTTP layer of the experiment server: routing, auth, body limits, JSON errors, static files."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from tunecore.errors import TuneError
from tunecore.util import to_jsonable
from tunecore.web.auth import bearer_matches
from tunecore.web.checks import MAX_BODY_BYTES, RequestError, check_stop_body, check_trial_id, parse_json_body
from tunecore.web.importances import check_metric
from tunecore.web.sources import DataSource

logger = logging.getLogger("tunecore.web")

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".woff2": "font/woff2",
                 ".png": "image/png"}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_\-]+\.[a-z0-9]+$")
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Handler(BaseHTTPRequestHandler):
    """One request: check the token, route, answer JSON (errors as ``{"message": ...}``)."""

    protocol_version = "HTTP/1.1"
    server_version = "tunecore"
    sys_version = ""
    timeout = 20  # seconds a connection may sit idle or trickle a request
    server: ServerCore

    # -- plumbing ---------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s - %s", self.address_string(), format % args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # any other method: 405, not the stdlib's 501
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self._discard_body_or_close()
        self._send_json(405, {"message": f"Method {self.command[:20]} is not allowed."},
                        extra={"Allow": "GET, POST, PUT"})

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """The stdlib's own errors (bad request line, headers too long) as JSON too."""
        self.close_connection = True
        try:
            self._send_json(code, {"message": message or self.responses.get(code, ("Error",))[0]})
        except OSError:
            pass

    def _headers_common(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")

    def _send_bytes(self, status: int, body: bytes, content_type: str, extra: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._headers_common()
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, extra: Optional[dict] = None) -> None:
        body = json.dumps(to_jsonable(payload), separators=(",", ":")).encode("utf-8")
        self._send_bytes(status, body, "application/json", extra)

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise RequestError(411, "Send the body with a Content-Length (chunked bodies are not accepted).")
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw.strip())
        except ValueError:
            self.close_connection = True
            raise RequestError(400, "Content-Length must be a number.") from None
        if length < 0:
            self.close_connection = True
            raise RequestError(400, "Content-Length must be >= 0.")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._drain(length)
            raise RequestError(413, f"The body is too large ({length} bytes; at most {MAX_BODY_BYTES}).")
        return length

    def _drain(self, length: int) -> None:
        """Read and drop a refused body (up to 16 MiB) so the client gets our answer, not a reset."""
        if length > 16 * MAX_BODY_BYTES:
            return
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    return
                length -= len(chunk)
        except OSError:
            return

    def _read_body(self) -> bytes:
        length = self._content_length()
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            raise RequestError(400, "The body ended before Content-Length bytes.")
        return data

    def _discard_body_or_close(self) -> None:
        try:
            self._read_body()
        except (RequestError, OSError):
            self.close_connection = True

    # -- routing ----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            url = urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            if self.command in ("GET", "HEAD") and self._serve_public(path):
                return
            if not bearer_matches(self.headers.get("Authorization"), self.server.token):
                self._discard_body_or_close()
                raise RequestError(401, "Missing or wrong token: send 'Authorization: Bearer <token>'. "
                                        "The token is in TUNECORE_SERVER_TOKEN or the experiment's server_token file.")
            status, payload = self._route(path, url.query)
            self._send_json(status, payload)
        except RequestError as exc:
            extra = {"WWW-Authenticate": 'Bearer realm="tunecore"'} if exc.status == 401 else None
            self._send_json(exc.status, {"message": exc.message}, extra)
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # a bug: answer, log, and keep serving
            logger.exception("tunecore server: request %s %s failed", self.command, self.path[:200])
            self.close_connection = True
            try:
                self._send_json(500, {"message": f"Internal error: {type(exc).__name__}: {exc}"})
            except OSError:
                pass

    def _route(self, path: str, query: str) -> tuple[int, Any]:
        source: DataSource = self.server.source
        parts = path.strip("/").split("/")
        if parts[0] == "trials" and len(parts) <= 2:
            if len(parts) == 1:
                if self.command in ("GET", "HEAD"):
                    self._discard_body_or_close()
                    return 200, {"trials": source.list_trials()}
                if self.command == "POST":
                    return 201, {"trials": source.add_trials(parse_json_body(self._read_body()))}
                raise RequestError(405, "Use GET /trials to list trials or POST /trials to add some.")
            trial_id = check_trial_id(parts[1])
            if self.command in ("GET", "HEAD"):
                self._discard_body_or_close()
                return 200, {"trial_info": source.get_trial(trial_id)}
            if self.command == "PUT":
                check_stop_body(parse_json_body(self._read_body()))
                return 200, {"trial_info": source.stop_trial(trial_id)}
            raise RequestError(405, 'Use GET /trials/{id}, or PUT /trials/{id} with {"status": "TERMINATED"}.')
        if path == "/api/history" and self.command in ("GET", "HEAD"):
            self._discard_body_or_close()
            params = parse_qs(query, max_num_fields=10)
            try:
                since = int(params.get("since", ["0"])[0])
            except ValueError:
                raise RequestError(400, "since must be an integer.") from None
            return 200, source.history(since, params.get("gen", [None])[0])
        if path == "/api/importances" and self.command in ("GET", "HEAD"):
            self._discard_body_or_close()
            return 200, source.importances(check_metric(parse_qs(query, max_num_fields=10)))
        self._discard_body_or_close()
        raise RequestError(404, f"No such endpoint: {self.command[:10]} {path[:100]}.")

    def _serve_public(self, path: str) -> bool:
        """The dashboard's page and static files: no data in them, so no token needed."""
        if path in ("/", "/index.html"):
            name = "index.html"
        elif path.startswith("/static/"):
            name = path[len("/static/"):]
            if not _STATIC_NAME.match(name):
                return False
        else:
            return False
        file = os.path.join(STATIC_DIR, name)
        ext = os.path.splitext(name)[1]
        if ext not in _STATIC_TYPES or not os.path.isfile(file):
            return False
        self._discard_body_or_close()
        with open(file, "rb") as f:
            body = f.read()
        extra = {"Content-Security-Policy": _CSP, "X-Frame-Options": "DENY"} if ext == ".html" else None
        self._send_bytes(200, body, _STATIC_TYPES[ext], extra)
        return True


class ServerCore(ThreadingHTTPServer):
    """A threading HTTP server that knows its data source and token."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, host: str, port: int, source: DataSource, token: str) -> None:
        self.source = source
        self.token = token
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("tunecore server: connection from %s failed", client_address, exc_info=True)


def start_server(host: Optional[str], port: int, source: DataSource, token: str,
                 what: str = "experiment server") -> tuple[ServerCore, threading.Thread]:
    """Bind, listen and serve in a daemon thread; returns once the socket is listening.

    Raises:
        TuneError: the port is taken or the address cannot be bound.
    """
    host = host or "127.0.0.1"
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise TuneError(f"server_port must be an int between 0 and 65535, but got server_port={port!r}")
    try:
        core = ServerCore(host, port, source, token)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise TuneError(f"Cannot start the {what} on {host}:{port}: the port is already in use. "
                            "Pass another server_port (or 0 for any free port), or stop what uses it.") from None
        raise TuneError(f"Cannot start the {what} on {host}:{port}: {exc.strerror or exc}.") from None
    thread = threading.Thread(target=core.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"tunecore-{what.replace(' ', '-')}", daemon=True)
    thread.start()
    return core, thread


def is_loopback(host: Optional[str]) -> bool:
    return (host or "127.0.0.1") in _LOOPBACK or (host or "").startswith("127.")
