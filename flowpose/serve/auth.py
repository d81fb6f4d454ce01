"""The bearer token of ``flowpose serve``: where it comes from, and checking it in constant time."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass

TOKEN_ENV = "FLOWPOSE_TOKEN"
"""Environment variable read by ``flowpose serve`` and ``flowpose streams`` when ``--token`` is not given."""


@dataclass(frozen=True)
class Token:
    """The token a server accepts.

    Attributes:
        value: The secret itself.
        generated: True when nobody gave one (``--token``, ``FLOWPOSE_TOKEN``): it must be shown once.
    """

    value: str
    generated: bool

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries this token (``Bearer TOKEN``)."""
        if not authorization:
            return False
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        # compare_digest: the time taken does not tell how many leading characters matched.
        return hmac.compare_digest(given.strip().encode(), self.value.encode())


def resolve_token(given: str | None, environ: dict[str, str] | None = None) -> Token:
    """The token to serve with: ``given``, else ``FLOWPOSE_TOKEN``, else a fresh random one.

    There is no way to serve without a token, on any interface.

    Raises:
        ValueError: when a token is given but empty or holds whitespace (it could never be sent back).
    """
    env = os.environ if environ is None else environ
    value = given if given is not None else env.get(TOKEN_ENV)
    if value is None:
        return Token(secrets.token_urlsafe(24), generated=True)
    where = "--token" if given is not None else TOKEN_ENV
    if not value.strip():
        raise ValueError(f"{where} is empty; give a token or leave it out to get a generated one")
    if any(c.isspace() for c in value) or not value.isprintable():
        raise ValueError(f"{where} holds spaces or control characters; it must fit in one HTTP header word")
    return Token(value, generated=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to bind) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False
