"""Where flowpose keeps per-user files (certificate, token), and the session token itself."""

from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

HOME_ENV = "FLOWPOSE_HOME"
TOKEN_FILE = "phone-token"
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def config_dir() -> Path:
    """The folder for flowpose's own files: ``$FLOWPOSE_HOME``, else ``$XDG_CONFIG_HOME/flowpose``,
    else ``~/.config/flowpose``. Tests set ``$FLOWPOSE_HOME`` so they never touch the real home."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "flowpose"


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_token(folder: Path | None = None) -> str:
    """The session token kept in ``folder`` (default :func:`config_dir`), made on first use.

    Keeping it means a phone's bookmark of the URL keeps working from run to run; delete the
    file to revoke every bookmark at once.

    Raises:
        ValueError: The token file exists but does not hold a valid token.
    """
    path = (folder or config_dir()) / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if not TOKEN_PATTERN.match(token):
            raise ValueError(f"{path} does not hold a valid token (16-128 of A-Z a-z 0-9 _ -); delete it to make one")
        return token
    token = secrets.token_urlsafe(18)  # 144 bits: not guessable on a LAN
    write_private(path, token.encode() + b"\n")
    return token


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison, so response times say nothing about how close a guess was."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())
