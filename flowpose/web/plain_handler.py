"""The request handler the web view servers share: HTTP/1.1, requests logged at debug, whole replies.

``mjpeg.ViewServer`` and ``webrtc_server.WebRTCServer`` each subclass it with their own routes;
what is here is only what an answer of known length needs, so both send bodies the same way.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler

log = logging.getLogger(__name__)


class PlainHandler(BaseHTTPRequestHandler):
    """A handler that keeps connections open (HTTP/1.1) and answers with whole, uncached bodies."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        # http.server writes every request to stderr; a viewer polling stats would flood it.
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        """Send ``body`` whole, with its length (so the connection stays usable) and ``no-store``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
