"""Opening what a Camera names, with errors that say what was tried and what to check.

Everything that can wait on the outside world is bounded: URLs get a TCP probe with a
timeout (which also tells "refused" from "no answer" from "unknown host") and FFmpeg's
open/read timeouts, so a missing phone or camera is an error within seconds, not a hang.
"""

from __future__ import annotations

import glob
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import cv2

from flowpose.nodes.camera_capture import Capture, CaptureError, ImageSequence, OpenSettings, VideoCapture
from flowpose.nodes.camera_target import CaptureTarget, list_images, missing_input, probe_address

log = logging.getLogger(__name__)

_FFMPEG_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
# OpenCV reads FFmpeg options from this process-wide variable when a capture opens, so every
# FFmpeg open takes this lock: one camera's options must never leak into another's open.
_ffmpeg_env_lock = threading.Lock()


def open_capture(target: CaptureTarget, settings: OpenSettings) -> Capture:
    """Open ``target``; raises :class:`CaptureError` with what was tried and what to check."""
    if target.kind == "device":
        return _open_device(target, settings)
    if problem := missing_input(target):
        raise CaptureError(problem)
    if target.kind == "images":
        return ImageSequence(list_images(target), settings.fps or 30.0)
    if target.kind == "file":
        cap = _open_ffmpeg(str(target.value), [], "")
        if not cap.isOpened():
            raise CaptureError(
                f"could not open video file {target.value}: OpenCV's FFmpeg backend cannot decode it; "
                "is it a video (check with `ffprobe`)?"
            )
        return VideoCapture(cap, with_position=True)
    return _open_url(str(target.value), settings)


def unreadable_video(path: str) -> str | None:
    """Why the video file at ``path`` gives no frame (None when its first frame decodes).

    Opens the file and decodes one frame, so `flowpose validate` catches a damaged file
    (a broken header opens fine but has no frames) in milliseconds, before anything runs.
    """
    cap = _open_ffmpeg(path, [], "")
    try:
        if not cap.isOpened():
            return (
                f"cannot read video file {path}: OpenCV's FFmpeg backend cannot open it; "
                "is it a video (check with `ffprobe`)?"
            )
        if not cap.grab():
            return (
                f"cannot read video file {path}: it opens but its first frame does not decode; the file is "
                "damaged or incomplete (check with `ffprobe`)"
            )
        return None
    finally:
        cap.release()


def _open_device(target: CaptureTarget, settings: OpenSettings) -> Capture:
    path = target.device_path
    what = f"could not open camera {target.value}"
    if path is not None and not os.path.exists(path):
        others = sorted(glob.glob("/dev/video*"))
        found = f"found {', '.join(others)}" if others else "no /dev/video* at all: in a container, pass the device in"
        raise CaptureError(
            f"{what}: no such device ({path} missing; {found}); check the cable, "
            f"or pick another with --set {settings.node}.source=1"
        )
    cap = cv2.VideoCapture(target.value)
    if not cap.isOpened():
        where = f"{path} exists but " if path else ""
        raise CaptureError(
            f"{what}: {where}it did not open; is another program using it, and may this user read it "
            "(Linux: group 'video')?"
        )
    # FOURCC first: on V4L2 it decides which sizes and rates the camera offers.
    if settings.fourcc:
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*settings.fourcc))
    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, settings.width), (cv2.CAP_PROP_FRAME_HEIGHT, settings.height)):
        if value:
            cap.set(prop, value)
    if settings.fps:
        cap.set(cv2.CAP_PROP_FPS, settings.fps)
    got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), cap.get(cv2.CAP_PROP_FPS))
    log.info("camera %s opened at %dx%d, %.1f fps", target.value, *got)
    return VideoCapture(cap, with_position=False)


def _open_url(url: str, settings: OpenSettings) -> Capture:
    options = settings.ffmpeg_options
    listening = "listen" in options  # FFmpeg is the server: there is nothing to probe
    if listening and "listen_timeout" not in options:
        # Without it FFmpeg waits forever (and some builds reject the default outright).
        options += f"|listen_timeout;{max(1, round(settings.open_timeout_s))}"
    address = None if listening else probe_address(url)
    if address is not None:
        _probe(url, *address, settings.open_timeout_s)
    timeouts = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(settings.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(settings.read_timeout_s * 1000),
    ]
    cap = _open_ffmpeg(url, timeouts, options.strip("|"))
    if not cap.isOpened():
        reached = f"the server at {address[0]}:{address[1]} answered, but " if address else ""
        raise CaptureError(
            f"could not open {url}: {reached}no video came within {settings.open_timeout_s:g} s; check the "
            "path (DroidCam and IP Webcam serve /video) and that the stream is MJPEG over HTTP or RTSP"
        )
    return VideoCapture(cap, with_position=False)


def _probe(url: str, host: str, port: int, timeout_s: float) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except socket.gaierror:
        raise CaptureError(f"could not connect to {url}: unknown host {host!r}; check the address") from None
    except ConnectionRefusedError:
        raise CaptureError(
            f"could not connect to {url}: connection refused by {host}:{port}; is the phone app "
            "(or camera) running and streaming, and is the port right?"
        ) from None
    except TimeoutError:
        raise CaptureError(
            f"could not connect to {url}: no answer from {host}:{port} within {timeout_s:g} s; "
            "is the phone on the same network as this computer?"
        ) from None
    except OSError as exc:
        raise CaptureError(f"could not connect to {url}: {exc.strerror or exc}") from None


def _open_ffmpeg(name: str, params: list[int], options: str) -> cv2.VideoCapture:
    with _ffmpeg_env(options):
        return cv2.VideoCapture(name, cv2.CAP_FFMPEG, params)


@contextmanager
def _ffmpeg_env(options: str) -> Iterator[None]:
    with _ffmpeg_env_lock:
        if not options:
            yield
            return
        saved = os.environ.get(_FFMPEG_ENV)
        os.environ[_FFMPEG_ENV] = options
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(_FFMPEG_ENV, None)
            else:
                os.environ[_FFMPEG_ENV] = saved
