"""What a Camera's ``source`` param names: a device, a video file, images, or a stream URL.

Parsing is pure (no device or network access), so validation can use it before anything
starts; opening lives in :mod:`flowpose.nodes.camera_capture`.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
"""File name endings read as still images (folders and globs keep only these)."""

STREAM_SCHEMES = frozenset({"http", "https", "rtsp", "rtsps", "rtmp", "rtmps", "udp", "tcp", "srt"})
"""URL schemes handed to OpenCV's FFmpeg backend as network streams."""

DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443}
"""Ports used for the reachability probe when a URL names none."""

Kind = Literal["device", "file", "images", "url"]


@dataclass(frozen=True)
class CaptureTarget:
    """A parsed ``source``.

    Attributes:
        kind: ``device`` (webcam index or /dev path), ``file`` (a video), ``images`` (a
            folder, a glob or one image file) or ``url`` (a network stream).
        value: The device index (int) for numbered devices, otherwise the string as given.
    """

    kind: Kind
    value: int | str

    @property
    def live(self) -> bool:
        """Devices and network streams are live; files and images are not."""
        return self.kind in ("device", "url")

    @property
    def device_path(self) -> str | None:
        """The Linux device node of a device, when there is one to check."""
        if self.kind != "device":
            return None
        if isinstance(self.value, int):
            return f"/dev/video{self.value}" if sys.platform.startswith("linux") else None
        return str(self.value)

    def describe(self) -> str:
        """Short human description used in logs and errors, e.g. ``camera 0``."""
        if self.kind == "device":
            return f"camera {self.value}"
        return {"file": "video file", "images": "images", "url": "stream"}[self.kind] + f" {self.value}"


def parse_source(source: int | str) -> CaptureTarget:
    """Classify a ``source`` value without touching the device, the disk or the network.

    Args:
        source: A webcam index (``0`` or ``"0"``), a device path (``/dev/video2``), a video
            file, an image folder, a glob (``frames/*.png``), one image file, or a URL.

    Raises:
        ValueError: For an empty source or a URL with a scheme OpenCV cannot stream.
    """
    if isinstance(source, int):
        if source < 0:
            raise ValueError(f"a webcam index must be >= 0, got {source}")
        return CaptureTarget("device", source)
    text = source.strip()
    if not text:
        raise ValueError("source is empty; give a webcam index, a file, a folder, a glob or a URL")
    if text.isdigit():
        return CaptureTarget("device", int(text))
    if "://" in text:
        scheme = urlsplit(text).scheme.lower()
        if scheme == "file":
            return parse_source(urlsplit(text).path)
        if scheme not in STREAM_SCHEMES:
            raise ValueError(f"unsupported URL scheme {scheme!r}; use one of {sorted(STREAM_SCHEMES)}")
        return CaptureTarget("url", text)
    if text.startswith("/dev/"):
        return CaptureTarget("device", text)
    if glob.has_magic(text) or Path(text).is_dir() or Path(text).suffix.lower() in IMAGE_SUFFIXES:
        return CaptureTarget("images", text)
    return CaptureTarget("file", text)


def list_images(target: CaptureTarget) -> list[Path]:
    """The image files of an ``images`` target, in name order (natural for numbered frames)."""
    text = str(target.value)
    if glob.has_magic(text):
        paths = [Path(p) for p in glob.glob(text, recursive=True)]
    elif Path(text).is_dir():
        paths = list(Path(text).iterdir())
    else:
        paths = [Path(text)] if Path(text).is_file() else []
    return sorted(p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def missing_input(target: CaptureTarget) -> str | None:
    """Why a file-like target cannot be read (None when it looks fine or is live).

    Used both at validation time (:meth:`Camera.check`) and when the node starts.
    """
    text = str(target.value)
    if target.kind == "file":
        if not Path(text).exists():
            return f"no such video file: {text} (relative paths start from {Path.cwd()})"
        if Path(text).is_dir():
            return f"{text} is a folder, not a video file"
    elif target.kind == "images" and not list_images(target):
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        if glob.has_magic(text):
            return f"no image files ({suffixes}) match {text!r}"
        if Path(text).is_dir():
            return f"no image files ({suffixes}) in folder {text}"
        return f"no such image file: {text}"
    return None


def probe_address(url: str) -> tuple[str, int] | None:
    """Host and port worth a TCP reachability probe before FFmpeg opens ``url``.

    None for schemes without a TCP server to probe (udp, srt, ...) or a URL with no host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:  # a port that is not a number: let FFmpeg report it
        return None
    return parts.hostname, port
