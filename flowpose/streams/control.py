"""What a multi-stream source offers to whoever controls the graph (``flowpose serve``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class StreamError(Exception):
    """A stream request that cannot be carried out (unknown id, a source that cannot open).

    Attributes:
        status: The HTTP status that fits: 400 bad request, 404 unknown stream, 409 conflict.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class StreamInfo:
    """One stream of a source node, as listed by ``GET /api/streams``.

    Attributes:
        id: The stream id: ``Frame.source`` of its frames.
        source: What it reads, as given (a device index, a file, a URL, ``synthetic``...).
        node: The source node that holds it.
        state: ``starting``, ``running``, ``paused``, ``reconnecting`` or ``ended``.
        frames: Frames delivered so far.
        fps: Frames per second over the last few seconds.
        live: Whether it is a live source (newest frame only) or a file (every frame).
        extra: Anything else worth showing (reconnects, the error that ended it...).
    """

    id: str
    source: str
    node: str
    state: str
    frames: int = 0
    fps: float = 0.0
    live: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class StreamControl(Protocol):
    """A running source node whose streams can be changed while the graph runs.

    Every method is called from another thread than the node's and must be thread-safe.
    """

    name: str

    def list_streams(self) -> list[StreamInfo]:
        """Every stream the node holds now (ended ones until they are gone from its buffers)."""
        ...

    def add_stream(self, source: Any, stream_id: str | None = None) -> StreamInfo:
        """Open ``source`` as a new stream; raises :class:`StreamError` when it cannot be opened."""
        ...

    def remove_stream(self, stream_id: str) -> None:
        """End stream ``stream_id`` (its end travels downstream); :class:`StreamError` 404 if unknown."""
        ...

    def pause_stream(self, stream_id: str, paused: bool) -> StreamInfo:
        """Stop (or resume) delivering frames of ``stream_id`` without closing it."""
        ...
