"""Bearer tokens for the experiment server: where the token comes from and how it is checked."""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Optional

from tunecore import settings
from tunecore.util import atomic_open

#: The environment variable both the server and ``TuneClient`` read the token from.
TOKEN_ENV = "TUNECORE_SERVER_TOKEN"
#: The file, inside the experiment folder, a generated token is written to (mode 0600).
TOKEN_FILE = "server_token"


def write_secret_file(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that it is never readable by anyone but the owner.

    The file is created with mode 0600 from the start (``O_CREAT | O_EXCL``, then an
    atomic rename over any older file), so there is no moment at which it is
    world-readable.
    """
    with atomic_open(path, durable=True, permissions=0o600) as f:
        f.write(text)


def resolve_server_token(token_dir: Optional[str], filename: str = TOKEN_FILE) -> tuple[str, Optional[str]]:
    """The token a server should require, and the file it was written to (if any).

    ``TUNECORE_SERVER_TOKEN`` wins when set; otherwise a fresh random token is
    generated and written to ``<token_dir>/<filename>`` with mode 0600.

    Args:
        token_dir: folder for the token file (the experiment folder); when None and
            no variable is set, the token is generated but not written anywhere.
        filename: the token file's name inside ``token_dir``.

    Returns:
        ``(token, path)``; ``path`` is None when the token came from the environment.
    """
    env = (settings.raw(TOKEN_ENV) or "").strip()
    if env:
        return env, None
    token = secrets.token_urlsafe(32)
    if token_dir is None:
        return token, None
    path = os.path.join(token_dir, filename)
    write_secret_file(path, token + "\n")
    return token, path


def client_token(token: Optional[str]) -> Optional[str]:
    """The token a client sends: the argument, else ``TUNECORE_SERVER_TOKEN``."""
    if token:
        return token
    env = (settings.raw(TOKEN_ENV) or "").strip()
    return env or None


def bearer_matches(header: Optional[str], token: str) -> bool:
    """True if an ``Authorization`` header carries ``Bearer <token>`` (constant-time compare)."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode("utf-8", "surrogateescape"),
                               token.encode("utf-8", "surrogateescape"))
