"""A headless Chromium for tests, driven over the DevTools protocol (no Selenium, no downloads).

Chromium runs with a fake camera (a moving test pattern), camera permission granted without
a prompt, and certificate errors ignored (the phone page's certificate is self-signed). Each
page gets its own DevTools WebSocket; calls are synchronous request/response.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from websockets.sync.client import ClientConnection, connect

CHROMIUM_ENV = "FLOWPOSE_CHROMIUM"
DOCS_IMG_ENV = "FLOWPOSE_DOCS_IMG"  # set to docs/img to refresh the screenshots in the docs
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
START_TIMEOUT_S = 60.0


def find_chromium() -> str | None:
    """The Chromium executable: ``$FLOWPOSE_CHROMIUM`` or the first of :data:`NAMES` on PATH."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).exists() else None
    return next((found for name in NAMES if (found := shutil.which(name))), None)


class BrowserError(RuntimeError):
    """Chromium did not start, or a DevTools call failed."""


class Page:
    """One tab, driven through its own DevTools WebSocket."""

    def __init__(self, port: int, info: dict[str, Any]) -> None:
        self.port, self.id = port, info["id"]
        # Entered as a context manager: the form every websockets version since 13 supports.
        self._stack = contextlib.ExitStack()
        self._ws: ClientConnection = self._stack.enter_context(
            connect(info["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        )
        self._next = 0

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are skipped)."""
        self._next += 1
        self._ws.send(json.dumps({"id": self._next, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if msg.get("id") == self._next:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        res = self.call("Runtime.evaluate", timeout, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise BrowserError(f"{expression!r} threw: {res['exceptionDetails'].get('text')}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, every: float = 0.1) -> Any:
        """Evaluate ``expression`` until it is truthy; its value, or BrowserError on timeout."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(every)  # test-side wait for a browser state; nothing to block on
        raise BrowserError(f"timed out after {timeout:.0f} s waiting for {expression!r} (last value {value!r})")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def screenshot(self) -> np.ndarray:
        """The visible page as a BGR image."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, "the screenshot is not a PNG"
        return image

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            with contextlib.suppress(OSError):  # the browser may be gone already
                _http(self.port, f"/json/close/{self.id}")


def _http(port: int, path: str, method: str = "GET") -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


class Chromium:
    """A headless Chromium with a fake camera; ``new_page(url)`` opens tabs.

    Args:
        profile: An empty folder for the browser profile (also where DevTools says its port).
        executable: The browser (default: :func:`find_chromium`).
    """

    def __init__(self, profile: Path, executable: str | None = None) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise BrowserError("chromium not found")
        self.profile = profile
        args = [
            exe,
            "--headless",
            "--disable-gpu",
            "--use-fake-device-for-media-stream",  # a moving test pattern as the camera
            "--use-fake-ui-for-media-stream",  # grant camera access without a prompt
            "--ignore-certificate-errors",  # the phone page's certificate is self-signed
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            "--mute-audio",
            "--window-size=900,760",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.log_path = profile / "chromium.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.close)  # a script or session that fails half-way leaves no browser behind
        self.port = self._wait_port()
        about = _http(self.port, "/json/version")
        self.version, self.browser_ws = about.get("Browser", "?"), about["webSocketDebuggerUrl"]

    def _wait_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            if marker.exists() and (lines := marker.read_text().split()):
                return int(lines[0])
            time.sleep(0.05)
        raise BrowserError(f"chromium did not open its DevTools port in {START_TIMEOUT_S:.0f} s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def new_page(self, url: str = "about:blank") -> Page:
        """Open ``url`` in a window of its own: a tab behind another would be hidden, and a
        hidden page gets no camera frames (as on a phone)."""
        with connect(self.browser_ws, max_size=None, open_timeout=30) as browser:
            browser.send(
                json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": url, "newWindow": True}})
            )
            while (msg := json.loads(browser.recv(timeout=30))).get("id") != 1:
                pass
        if "error" in msg:
            raise BrowserError(f"cannot open {url}: {msg['error']}")
        target = msg["result"]["targetId"]
        info = {"id": target, "webSocketDebuggerUrl": f"ws://127.0.0.1:{self.port}/devtools/page/{target}"}
        return Page(self.port, info)

    def close(self) -> None:
        atexit.unregister(self.close)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def save_screenshot(image: np.ndarray, name: str, folder: Path) -> Path:
    """Keep a screenshot in ``folder``, and in ``$FLOWPOSE_DOCS_IMG`` when set (docs refresh)."""
    path = folder / name
    cv2.imwrite(str(path), image)
    docs = os.environ.get(DOCS_IMG_ENV)
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / name)
    return path


def assert_not_blank(image: np.ndarray, box: tuple[int, int, int, int] | None = None) -> None:
    """The image (or its ``box``: x, y, w, h) has real content: contrast and many distinct colours."""
    if box is not None:
        x, y, w, h = box
        image = image[y : y + h, x : x + w]
    assert image.size, "empty region"
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    assert image.std() > 10 and colours > 20, f"looks blank: std {image.std():.1f}, {colours} colours"
