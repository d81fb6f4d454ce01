"""The node API: what a plugin author writes.

A node declares its parameters as a nested pydantic model called ``Params`` and implements
``setup()``, ``process(...)`` and ``close()``. A source implements ``frames()`` instead of
``process``. The same class runs unchanged in a thread or (later) in its own process: a node
never touches buffers, queues or sockets itself, the runner does.

Example:
    >>> class Brighten(Node):
    ...     '''Adds a constant to every pixel.'''
    ...     class Params(NodeParams):
    ...         amount: int = 20
    ...     def process(self, frame: Frame) -> Frame:
    ...         return frame.replace(image=cv2.add(frame.image, self.params.amount))
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from flowpose.frame import EndOfStream, Frame, Instance

ProcessResult = Frame | Mapping[str, Frame] | None
"""What ``process`` returns: one frame for every output, a frame per output name, or None
to emit nothing for this input (a filter)."""


@dataclass(frozen=True)
class BatchLimits:
    """How a node's frames are gathered into batches (see :meth:`Node.batch_limits`).

    Attributes:
        max_batch: At most this many frames per :meth:`Node.process_batch` call.
        max_wait_s: How long after the first frame the runner waits for more. It stops early
            once the batch holds a frame of every stream seen lately, so a single stream is
            never held back.
    """

    max_batch: int
    max_wait_s: float


class StopGraph(Exception):
    """Raised by a node to end the whole graph cleanly (exit 0): e.g. q pressed in a window."""


class NodeParams(BaseModel):
    """Base class of every node's ``Params``: unknown keys are errors, defaults are copied."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Node:
    """A processing step: receives frames on its inputs, emits frames on its outputs.

    Subclasses set ``Params`` (a :class:`NodeParams` subclass) and override
    :meth:`process`; :meth:`setup` and :meth:`close` are optional. Multi-input nodes receive
    one frame per input, joined by frame id, as positional arguments in input order.

    Attributes:
        name: The node's name in the graph.
        params: Validated parameters, an instance of ``Params``.
        log: A logger named after the node.
    """

    Params: ClassVar[type[NodeParams]] = NodeParams
    #: Declared arity: None = any number of inputs; sources have 0.
    num_inputs: ClassVar[int | None] = None
    #: Params that may name ``module:name`` targets (e.g. a Trigger's ``action``): when one does,
    #: the graph file's folder is searched for the module, as for ``module:Class`` node types.
    module_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        self.name = name
        if params is None or isinstance(params, Mapping):
            params = self.Params(**dict(params or {}))
        self.params = params
        self.log = logging.getLogger(f"flowpose.node.{name}")
        #: Set by the runner when the graph is stopping; long waits inside a node use it.
        self.stopping = threading.Event()
        #: Named event counts (e.g. ``reconnects``) shown with the node's stats; they survive restarts.
        self.counters: Counter[str] = Counter()
        # Set by the runner when the graph gives the node feedback buffers.
        self._feedback_frames: Callable[[], dict[str, Frame]] | None = None

    @classmethod
    def is_source(cls) -> bool:
        """Whether the class is a source (produces frames, has no inputs)."""
        return issubclass(cls, Source)

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        """Extra checks run at validation time, before anything starts.

        Override to check what pydantic cannot (a model file exists, ...).

        Returns:
            ``(field, message)`` pairs, empty when all is well.
        """
        return []

    def feedback(self) -> dict[str, Frame]:
        """The newest frame seen on each of the node's ``feedback`` buffers, by buffer name.

        Feedback buffers are written by nodes downstream (e.g. a pose estimator's output read
        by the detector that feeds it). They are never joined and never waited for, so the
        frame here is usually a frame or two older than the one being processed, and the
        dict is empty until the first one arrives.
        """
        return {} if self._feedback_frames is None else self._feedback_frames()

    def setup(self) -> None:
        """Acquire resources (models, devices, files). Called once in the runner's thread."""

    def process(self, *frames: Frame) -> ProcessResult:
        """Handle one frame (one per input for multi-input nodes)."""
        raise NotImplementedError(f"{type(self).__name__} must implement process()")

    def batch_limits(self) -> BatchLimits | None:
        """How the runner may batch this node's frames, or None to call :meth:`process` per frame.

        A single-input node that returns limits gets :meth:`process_batch` calls instead: the
        frames (of any streams) that arrive within ``max_wait_s`` of the first, up to
        ``max_batch``. Called once after :meth:`setup`.
        """
        return None

    def process_batch(self, frames: list[Frame]) -> list[ProcessResult]:
        """Handle several frames at once (e.g. one ``session.run`` over frames of many cameras).

        Returns:
            One result per frame, in the same order, each as :meth:`process` would return it.
        """
        return [self.process(frame) for frame in frames]

    def end_stream(self, stream: str) -> None:
        """One stream (``Frame.source``) of a multi-stream source ended; the others go on.

        Drop what is kept for it (a tracker's tracks, a recorder's open file). The runner
        passes the end on downstream after this returns.
        """

    def close(self) -> None:
        """Release resources; always called, also after a failure or a stop."""


class Source(Node):
    """A node that produces frames, e.g. a camera or a video file.

    Subclasses override :meth:`frames` (a generator) and :meth:`is_live`. Frame ids and
    capture times are best made with :meth:`make_frame`.
    """

    num_inputs: ClassVar[int | None] = 0

    def __init__(self, name: str, params: NodeParams | Mapping[str, Any] | None = None) -> None:
        super().__init__(name, params)
        self._ids = itertools.count()

    def is_live(self) -> bool:
        """True for live sources (cameras, streams): their buffers default to ``latest``.

        File-like sources return False and their buffers default to ``lossless``.
        """
        return True

    def frames(self) -> Iterator[Frame | EndOfStream]:
        """Yield frames until the source ends (then end-of-stream is sent downstream).

        A source with several streams may also yield ``EndOfStream(self.name, stream=ID)``
        when one stream ends alone: the runner passes it downstream as it is, and frames of
        the other streams keep coming.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement frames()")

    def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (e.g. to pace a file), waking early when the graph stops.

        Returns:
            True if the full time passed, False if the graph is stopping.
        """
        return not self.stopping.wait(seconds) if seconds > 0 else not self.stopping.is_set()

    def make_frame(
        self,
        image: np.ndarray,
        *,
        instances: tuple[Instance, ...] = (),
        meta: dict[str, Any] | None = None,
        capture_ns: int | None = None,
        source: str | None = None,
    ) -> Frame:
        """Build the next frame of this source with a fresh id and a capture time."""
        return Frame(
            frame_id=next(self._ids),
            capture_ns=time.time_ns() if capture_ns is None else capture_ns,
            source=self.name if source is None else source,
            image=image,
            instances=instances,
            meta={} if meta is None else meta,
        )
