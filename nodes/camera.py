"""The Camera source: webcams, video files, image folders and phone/IP streams (MJPEG, RTSP).

Parsing the ``source`` lives in :mod:`flowpose.nodes.camera_target`, opening in
:mod:`flowpose.nodes.camera_open`, reading (pacing, end of stream, reconnects, the grab thread
of live sources) in :mod:`flowpose.nodes.camera_stream`; several ``sources`` are read side by
side by :mod:`flowpose.nodes.stream_source`. This module is the node: its params and which
of the two ways it reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, field_validator

from flowpose.frame import EndOfStream, Frame
from flowpose.node import NodeParams
from flowpose.nodes.camera_capture import OpenSettings
from flowpose.nodes.camera_open import unreadable_video
from flowpose.nodes.camera_stream import CameraReader, CameraSettings
from flowpose.nodes.camera_target import missing_input, parse_source
from flowpose.nodes.stream_factory import StreamFactory, is_synthetic
from flowpose.nodes.stream_ids import StreamEntry, assign_ids, parse_entry
from flowpose.nodes.stream_set import ReadContext
from flowpose.nodes.stream_source import MultiStreamSource

SourceValue = int | str | dict[str, Any]
"""One entry of ``sources``: a ``source`` value, or ``{id: NAME, source: ...}``."""


def parse_entries(sources: list[SourceValue]) -> list[StreamEntry]:
    """The ``sources`` entries, each checked as a ``source`` would be (or ``synthetic``).

    Raises:
        ValueError: An entry that is not a source, a bad id, or an id given twice.
    """
    entries = [parse_entry(e) for e in sources]
    for i, entry in enumerate(entries):
        if isinstance(entry.source, bool) or not isinstance(entry.source, int | str):
            raise ValueError(f"entry {i}: a source must be a webcam index, a path or a URL, got {entry.source!r}")
        if not is_synthetic(entry.source):
            try:
                parse_source(entry.source)
            except ValueError as exc:
                raise ValueError(f"entry {i} ({entry.source}): {exc}") from None
    given = [e.id for e in entries if e.id is not None]
    if twice := sorted({i for i in given if given.count(i) > 1}):
        raise ValueError(f"stream id(s) {twice} used twice; give each stream its own id")
    return entries


class Camera(MultiStreamSource):
    """Frames from a webcam, a video file, an image folder or glob, or an HTTP MJPEG / RTSP stream.

    Devices and URLs are live (buffers default to ``latest``; a dropped stream is
    reconnected with exponential backoff); files and images end with end-of-stream (buffers
    default to ``lossless``). Every frame carries its capture time, taken when it was grabbed.
    Live devices and URLs are read by a grab thread that keeps only the newest image, so a
    slow consumer always gets the newest frame, never a queued old one (``latest_only``).

    With ``sources`` (a list) it reads several streams at once, each in its own thread: frames
    of all streams come out interleaved fairly, each with its stream id as ``Frame.source``;
    a stream gone for good ends alone (an end-of-stream for that stream) while the others go on.
    """

    class Params(NodeParams):
        source: int | str | None = Field(
            None,
            description="Webcam index (0), device path (/dev/video2), video file, image folder, glob "
            "('frames/*.png'), or stream URL (http://PHONE:4747/video for DroidCam, http://PHONE:8080/video "
            "for IP Webcam, rtsp://...). null: webcam 0, unless sources lists several streams.",
        )
        width: int = Field(0, ge=0, le=16384, description="Devices: requested width in pixels; 0 = device default.")
        height: int = Field(0, ge=0, le=16384, description="Devices: requested height in pixels; 0 = device default.")
        fps: float = Field(
            0.0,
            ge=0,
            description="Devices: requested frame rate. Files and images with realtime: playback rate "
            "(0 = the file's own rate; images 30).",
        )
        fourcc: str = Field(
            "",
            pattern=r"^(|[ -~]{4})$",
            description="Devices: requested pixel format, e.g. 'MJPG' (many USB webcams need it for 30 fps at 720p).",
        )
        realtime: bool = Field(
            False, description="Files and images: play at their frame rate, like a camera, instead of at full speed."
        )
        live: bool | None = Field(
            None,
            description="Override whether the source is live (null: devices and URLs are, files and images are "
            "not). Live: buffers default to 'latest' and a drop means reconnect; otherwise it means end-of-stream.",
        )
        open_timeout: float = Field(5.0, gt=0, le=300, description="Seconds to wait for a stream to connect.")
        read_timeout: float = Field(
            5.0, gt=0, le=300, description="Seconds without a frame before a stream counts as dropped."
        )
        latest_only: bool = Field(
            True,
            description="Live devices and URLs: read in a grab thread that keeps only the newest frame, so a "
            "slow consumer never sees queued old ones (frames replaced unseen count as grab_dropped). "
            "false: read only when asked, so every frame is delivered, late behind a slow consumer.",
        )
        reconnect_attempts: int = Field(
            0, ge=0, description="Live sources: attempts to reconnect after a drop before failing; 0 = forever."
        )
        reconnect_delay: float = Field(
            0.5, gt=0, le=300, description="Seconds before the first reconnect attempt; doubles after each failure."
        )
        reconnect_max_delay: float = Field(10.0, gt=0, le=3600, description="Upper bound of the reconnect wait, s.")
        ffmpeg_options: str = Field(
            "",
            description="FFmpeg options for streams as 'key;value|key;value', e.g. 'rtsp_transport;udp', or "
            "'rtsp_flags;listen' to receive a stream pushed to this machine. Replaces OpenCV's defaults.",
        )

        sources: list[SourceValue] | None = Field(
            None,
            description="Several streams instead of one source: a list of anything source accepts (or "
            "'synthetic'), or {id: NAME, source: ...} entries. Stream ids (Frame.source, part of recording file "
            "names) default to NODE0, NODE1, ...; each stream is read on its own and ends alone.",
        )
        keep_open: bool = Field(
            False,
            description="With sources: keep running when every stream has ended (or with an empty list), so "
            "streams can be added while it runs (flowpose serve); otherwise the node ends with its last stream.",
        )

        @field_validator("source")
        @classmethod
        def _parseable(cls, value: int | str | None) -> int | str | None:
            if value is not None:
                parse_source(value)  # raises ValueError with a readable reason
            return value

        @property
        def single_source(self) -> int | str:
            """The one source of a Camera without ``sources``: ``source``, or webcam 0."""
            return 0 if self.source is None else self.source

        @field_validator("sources")
        @classmethod
        def _entries(cls, value: list[SourceValue] | None) -> list[SourceValue] | None:
            if value is not None:
                parse_entries(value)  # raises ValueError with a readable reason
            return value

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        if (problem := _mode_problem(params)) is not None:
            return [problem]
        if params.sources is None:
            problem = _input_problem(params.single_source)
            return [("source", problem)] if problem else []
        problems = []
        for i, entry in enumerate(parse_entries(params.sources)):
            if not is_synthetic(entry.source) and (problem := _input_problem(entry.source)):
                problems.append(("sources", f"entry {i} ({entry.id or entry.source}): {problem}"))
        return problems

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        if (problem := _mode_problem(self.params)) is not None:
            raise ValueError(f"Camera {name!r}: params.{problem[0]}: {problem[1]}")
        self.multi = self.params.sources is not None
        self._reader = CameraReader(parse_source(self.params.single_source), self._settings())
        self._target = self._reader.target

    def is_live(self) -> bool:
        if not self.multi:
            return self._reader.live
        if self.params.live is not None:
            return self.params.live
        # Several streams: live when all of them are (an empty serve camera waits for live ones).
        entries = parse_entries(self.params.sources or [])
        return all(is_synthetic(e.source) or parse_source(e.source).live for e in entries)

    def _settings(self) -> CameraSettings:
        p = self.params
        opening = OpenSettings(
            width=p.width,
            height=p.height,
            fps=p.fps,
            fourcc=p.fourcc,
            open_timeout_s=p.open_timeout,
            read_timeout_s=p.read_timeout,
            ffmpeg_options=p.ffmpeg_options,
            node=self.name,
        )
        return CameraSettings(
            open=opening,
            fps=p.fps,
            realtime=p.realtime,
            live=p.live,
            latest_only=p.latest_only,
            reconnect_attempts=p.reconnect_attempts,
            reconnect_delay=p.reconnect_delay,
            reconnect_max_delay=p.reconnect_max_delay,
        )

    def setup(self) -> None:
        if self.multi:
            pairs = assign_ids(self.name, parse_entries(self.params.sources or []))
            self.start_streams(pairs, StreamFactory(camera=self._settings()), self.params.keep_open)
            return
        # The first open is not retried: a wrong address should be an error in seconds.
        # (A graph that must wait for a phone can use `restart: on-failure`.)
        self._reader.open()
        self.log.info("reading %s (%s)", self._target.describe(), "live" if self.is_live() else "file-like")

    def close(self) -> None:
        if self.multi:
            self.stop_streams()
        else:
            self._reader.close()

    def frames(self) -> Iterator[Frame | EndOfStream]:
        if self.multi:
            yield from self.stream_frames()
            return
        ctx = ReadContext(pause=self.pause, stopped=self.stopping.is_set, count=self._count, log=self.log)
        for item in self._reader.items(ctx):
            yield self.make_frame(item.image, capture_ns=item.capture_ns, meta=item.meta)

    def _count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n


def _mode_problem(params: Camera.Params) -> tuple[str, str] | None:
    """Why ``source`` / ``sources`` / ``keep_open`` do not go together (None when they do)."""
    if params.sources is not None and params.source is not None:
        return ("sources", "give either source (one stream) or sources (several streams), not both")
    if params.sources is None and params.keep_open:
        return ("keep_open", "keep_open applies to a Camera with sources: (a list of streams)")
    if params.sources == [] and not params.keep_open:
        return ("sources", "is empty: list at least one source, or set keep_open: true to add streams while running")
    return None


def _input_problem(source: int | str) -> str | None:
    """Why a file-like ``source`` cannot be read, found before anything runs (None: fine or live)."""
    target = parse_source(source)
    problem = missing_input(target)
    if problem is None and target.kind == "file":
        problem = unreadable_video(str(target.value))
    return problem
