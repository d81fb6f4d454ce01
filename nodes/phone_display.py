"""The PhoneDisplay sink: the way back from the graph to the phone that sent a frame.

It is the PhoneCamera's companion: the camera is a source (no inputs), this node a sink, and
they meet in a per-process registry keyed by the camera's node name. That keeps the graph
acyclic and the engine unchanged, and pushes each result the moment it is ready. The price:
both nodes must run in the same process (the default thread runner); this node says so
clearly when they do not.
"""

from __future__ import annotations

import os
import time

import cv2
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams
from flowpose.nodes.phone_hub import PhoneHub, known, lookup
from flowpose.nodes.phone_protocol import RESULT_HEAD

MAX_US = 2**32 - 1


class PhoneDisplay(Node):
    """Sends annotated frames back to the phone (PhoneCamera page) that sent them, as JPEG."""

    num_inputs = 1

    class Params(NodeParams):
        camera: str = Field(
            "phone",
            pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
            description="Name of the PhoneCamera node whose phones get the frames; it must run in the "
            "same process as this node (leave runner unset for both).",
        )
        quality: int = Field(80, ge=10, le=100, description="JPEG quality of the frames sent back.")
        max_width: int = Field(
            0, ge=0, le=8192, description="Scale frames down to this width before sending; 0 = as they are."
        )

    def _hub(self) -> PhoneHub:
        hub = lookup(self.params.camera)
        if hub is None or hub.pid != os.getpid():
            cameras = ", ".join(repr(n) for n in known()) or "none"
            raise RuntimeError(
                f"PhoneDisplay {self.name!r}: no PhoneCamera named {self.params.camera!r} runs in this process "
                f"(params.camera; PhoneCameras here: {cameras}). Both nodes must run in the same process: "
                "leave `runner` unset (thread) for both"
            )
        return hub

    def setup(self) -> None:
        self._counted = False
        self._hub().displays += 1  # pages connecting from now on expect results
        self._counted = True

    def process(self, frame: Frame) -> None:
        hub = self._hub()  # looked up each time: a restarted PhoneCamera has a new hub
        if not hub.serving.is_set():
            raise RuntimeError(
                f"PhoneDisplay {self.name!r}: PhoneCamera {self.params.camera!r} does not serve from this process, "
                "yet phone frames arrive: is it `runner: process`? Both nodes must run in the same process"
            )
        seq = frame.meta.get("phone_seq")
        if not isinstance(seq, int):
            self.counters["not_from_a_phone"] += 1
            return None
        if frame.source not in hub.connected():
            self.counters["phone_gone"] += 1  # it disconnected meanwhile; nobody to send to
            return None
        image = frame.image
        if self.params.max_width and frame.width > self.params.max_width:
            height = round(frame.height * self.params.max_width / frame.width)
            image = cv2.resize(image, (self.params.max_width, height), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.params.quality])
        if not ok:
            raise RuntimeError(f"PhoneDisplay {self.name!r}: cannot encode a {image.shape} image as JPEG")
        graph_us = min(max((time.time_ns() - frame.capture_ns) // 1000, 0), MAX_US)
        if hub.deliver(frame.source, RESULT_HEAD.pack(seq & 0xFFFFFFFF, graph_us) + jpeg.tobytes()):
            self.counters["sent"] += 1
        return None

    def close(self) -> None:
        hub = lookup(self.params.camera)
        if getattr(self, "_counted", False) and hub is not None and hub.displays > 0:
            hub.displays -= 1
