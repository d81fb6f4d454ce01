"""A small client of the control API (what ``flowpose streams`` uses), on urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flowpose.serve import DEFAULT_URL


class ClientError(Exception):
    """A call that failed; the message is one line, fit for a terminal."""


@dataclass
class ServeClient:
    """Calls a running ``flowpose serve``.

    Attributes:
        url: Where it listens, e.g. ``http://127.0.0.1:8770``.
        token: The bearer token, or None (then only public routes answer).
        timeout_s: How long to wait for an answer.
    """

    url: str = DEFAULT_URL
    token: str | None = None
    timeout_s: float = 10.0

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``method`` on ``path`` (e.g. ``/api/streams``); the parsed JSON reply, None when it has no body.

        Raises:
            ClientError: nobody listens, no answer in time, or the server refused (its message).
        """
        base = self.url.rstrip("/")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise ClientError(_refusal(exc)) from None
        except urllib.error.URLError as exc:
            raise ClientError(f"no flowpose serve at {base}: {_reason(exc.reason)}") from None
        except TimeoutError:
            raise ClientError(f"flowpose serve at {base} did not answer within {self.timeout_s:g} s") from None
        except ValueError as exc:  # a URL urllib cannot use
            raise ClientError(f"bad URL {base!r}: {exc}") from None
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise ClientError(f"{base} answered, but not with JSON: is it flowpose serve?") from None

    # -- the routes ----------------------------------------------------------------------------

    def streams(self) -> list[dict[str, Any]]:
        """``GET /api/streams``."""
        return self.call("GET", "/api/streams")

    def add(self, source: Any, stream_id: str | None = None, node: str | None = None) -> dict[str, Any]:
        """``POST /api/streams``; the new stream."""
        body: dict[str, Any] = {"source": source}
        if stream_id is not None:
            body["id"] = stream_id
        if node is not None:
            body["node"] = node
        return self.call("POST", "/api/streams", body)

    def remove(self, stream_id: str) -> None:
        """``DELETE /api/streams/{id}``."""
        self.call("DELETE", f"/api/streams/{quote(stream_id, safe='')}")

    def pause(self, stream_id: str, paused: bool = True) -> dict[str, Any]:
        """``POST /api/streams/{id}/pause`` (or ``/resume``)."""
        return self.call("POST", f"/api/streams/{quote(stream_id, safe='')}/{'pause' if paused else 'resume'}")

    def stats(self) -> dict[str, Any]:
        """``GET /api/stats``."""
        return self.call("GET", "/api/stats")


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "no answer (timed out)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(exc.read().decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, OSError):
        message = exc.reason
    hint = " (pass --token or set FLOWPOSE_TOKEN)" if exc.code == 401 else ""
    return f"{exc.code} {message}{hint}"
