"""The Visualizer node: draws instances, skeletons and an fps/latency overlay on a copy of each frame.

The overlay's fps is measured per stream (``Frame.source``), so each camera of a multi-stream
graph shows its own rate, and its second line names the stream.

Layers (boxes, labels, skeleton, keypoints, overlay) are switched on and off by params, and
flipped at run time through :data:`LAYER_TOGGLES`, which the Display node feeds with key
presses (``b``, ``l``, ``s``, ``k``, ``o``). The toggles are process-wide: they reach every
Visualizer running in a thread of the same process as the Display, and do nothing (without
error) when the two run in different processes.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.meta import KeypointLayout, load_layout
from flowpose.node import Node, NodeParams
from flowpose.nodes import drawing

LAYERS = ("boxes", "labels", "skeleton", "keypoints", "overlay")
#: Display key -> layer it flips.
LAYER_KEYS = {"b": "boxes", "l": "labels", "s": "skeleton", "k": "keypoints", "o": "overlay"}


class LayerToggles:
    """Thread-safe run-time flips of the Visualizer's layers, shared within one process.

    A flip inverts whatever the Visualizer's params say, so a key press always changes what
    is on screen, whether the graph file switched the layer on or off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flipped: set[str] = set()

    def toggle(self, layer: str) -> bool:
        """Flip ``layer``; returns True when it is now flipped relative to the params.

        Raises:
            ValueError: ``layer`` is not one of :data:`LAYERS`.
        """
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers are {list(LAYERS)}")
        with self._lock:
            self._flipped ^= {layer}
            return layer in self._flipped

    def flipped(self) -> frozenset[str]:
        """The layers currently flipped."""
        with self._lock:
            return frozenset(self._flipped)

    def reset(self) -> None:
        """Undo every flip (tests, or a new graph in the same process)."""
        with self._lock:
            self._flipped.clear()


#: The process-wide toggles read by every Visualizer and written by Display's key handler.
LAYER_TOGGLES = LayerToggles()


class Visualizer(Node):
    """Draws boxes, labels, skeletons, keypoints and an fps/latency overlay on a copy of each frame."""

    class Params(NodeParams):
        boxes: bool = Field(True, description="Draw bounding boxes (key b in a Display window).")
        labels: bool = Field(True, description="Draw a label tag on each box (key l).")
        scores: bool = Field(True, description="Show the detection score in the label tag.")
        track_ids: bool = Field(True, description="Show the track id (#N) in the label tag.")
        skeleton: bool = Field(True, description="Draw skeleton links in the layout's colours (key s).")
        keypoints: bool = Field(True, description="Draw keypoints in the layout's colours (key k).")
        overlay: bool = Field(True, description="Show fps and end-to-end latency in the corner (key o).")
        keypoint_threshold: float = Field(
            0.3, ge=0, le=1, description="Keypoints scoring below this are not drawn, nor their links."
        )
        thickness: int = Field(2, ge=1, le=20, description="Line thickness of boxes and links, in pixels.")
        radius: int = Field(3, ge=1, le=30, description="Keypoint dot radius in pixels.")
        font_scale: float = Field(0.5, gt=0, le=4, description="OpenCV font scale of labels and overlay.")
        fps_window: int = Field(30, ge=2, le=1000, description="Frames over which the shown fps is measured.")

    def setup(self) -> None:
        self._layouts: dict[str, KeypointLayout | None] = {}
        # Per stream: the overlay's fps is that camera's rate, not the sum over all streams.
        self._arrivals: dict[str, collections.deque[int]] = {}

    def active_layers(self) -> frozenset[str]:
        """Layers to draw now: the params, with the run-time flips applied."""
        on = {layer for layer in LAYERS if getattr(self.params, layer)}
        return frozenset(on ^ LAYER_TOGGLES.flipped())

    def process(self, frame: Frame) -> Frame:
        arrivals = self._arrivals.get(frame.source)
        if arrivals is None:
            arrivals = self._arrivals[frame.source] = collections.deque(maxlen=self.params.fps_window)
        arrivals.append(time.monotonic_ns())
        layers = self.active_layers()
        if not layers:
            return frame.replace(meta={**frame.meta, "layers": []})
        image = frame.image.copy()  # never draw on the shared input image
        if image.ndim == 2:  # a grey camera: draw in colour anyway
            image = np.repeat(image[:, :, None], 3, axis=2)
        for inst in frame.instances:
            self._draw_instance(image, inst, layers)
        if "overlay" in layers:
            drawing.draw_overlay(image, self._overlay_lines(frame), self.params.font_scale)
        image.setflags(write=False)  # the new frame is immutable too
        # The active layers go along in meta, so a Display (or a remote viewer) can show them.
        return frame.replace(image=image, meta={**frame.meta, "layers": sorted(layers)})

    def _draw_instance(self, image: np.ndarray, inst: Instance, layers: frozenset[str]) -> None:
        p = self.params
        color = drawing.instance_color(inst)
        if "boxes" in layers:
            drawing.draw_box(image, inst, color, p.thickness)
        if "labels" in layers:
            text = drawing.label_text(inst, score=p.scores, track_id=p.track_ids)
            anchor = (int(inst.bbox[0]), int(inst.bbox[1]))
            drawing.draw_label(image, text, anchor, color, p.font_scale)
        if inst.keypoints is None or not layers & {"skeleton", "keypoints"}:
            return
        layout = self._layout(inst.layout)
        assert inst.keypoint_scores is not None  # Instance fills it whenever keypoints are set
        visible = (inst.keypoint_scores >= p.keypoint_threshold) & np.isfinite(inst.keypoints).all(axis=1)
        points = np.round(np.nan_to_num(inst.keypoints)).astype(np.int32)
        if layout is not None and layout.num_keypoints != len(points):
            layout = None  # a mismatched layout would index out of range; draw plain dots
        if "skeleton" in layers and layout is not None:
            drawing.draw_skeleton(image, points, visible, layout, p.thickness)
        if "keypoints" in layers:
            colors = layout.keypoint_colors if layout is not None else [color] * len(points)
            drawing.draw_keypoints(image, points, visible, colors, p.radius)

    def _layout(self, name: str) -> KeypointLayout | None:
        """The layout called ``name``, loaded once; None (warned once) when it cannot be loaded."""
        if name not in self._layouts:
            try:
                self._layouts[name] = load_layout(name) if name else None
            except (ValueError, OSError) as exc:
                self.log.warning("cannot load keypoint layout %r (%s); drawing its keypoints without links", name, exc)
                self._layouts[name] = None
        return self._layouts[name]

    def end_stream(self, stream: str) -> None:
        """Forget the stream's arrival times (a stream that comes back starts its fps afresh)."""
        getattr(self, "_arrivals", {}).pop(stream, None)

    def stream_fps(self, stream: str) -> float | None:
        """The rate at which ``stream``'s frames reached this node lately (last ``fps_window``), or
        None before two of them did."""
        arrivals = self._arrivals.get(stream, ())
        span_ns = arrivals[-1] - arrivals[0] if len(arrivals) >= 2 else 0
        return (len(arrivals) - 1) * 1e9 / span_ns if span_ns > 0 else None

    def _overlay_lines(self, frame: Frame) -> list[str]:
        rate = self.stream_fps(frame.source)
        fps = "" if rate is None else f"{rate:.1f} fps  "
        latency_ms = frame.latency_ns() / 1e6
        return [f"{fps}latency {latency_ms:.0f} ms", f"{frame.source} #{frame.frame_id}  {len(frame.instances)} inst"]
