"""One place that turns a source value into an opened stream reader.

Camera and SyntheticScene both add streams through it, so ``flowpose serve`` can add a
webcam, a file, a URL or ``synthetic`` to either kind of node.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowpose.nodes.camera_stream import CameraReader, CameraSettings
from flowpose.nodes.camera_target import parse_source
from flowpose.nodes.stream_set import StreamReader
from flowpose.nodes.stream_synthetic import SYNTHETIC, SceneSettings, SyntheticReader


def is_synthetic(source: Any) -> bool:
    """Whether ``source`` names a synthetic scene stream (the word ``synthetic``)."""
    return isinstance(source, str) and source.strip().lower() == SYNTHETIC


@dataclass
class StreamFactory:
    """Opens streams with one node's settings.

    Attributes:
        camera: How camera sources are read (a SyntheticScene node uses the Camera's defaults).
        scene: How synthetic streams render (a Camera node uses SyntheticScene's defaults).
        seeds: Seeds of the synthetic streams opened from here on, one each.
    """

    camera: CameraSettings = field(default_factory=CameraSettings)
    scene: SceneSettings = field(default_factory=SceneSettings)
    seeds: Iterator[int] = field(default_factory=itertools.count)

    def open(self, source: Any) -> StreamReader:
        """An opened reader for ``source``: anything a Camera's ``source`` accepts, or ``synthetic``.

        Raises:
            ValueError: ``source`` is not something a Camera can read.
            flowpose.nodes.camera_capture.CaptureError: It cannot be opened (the message says why).
        """
        if is_synthetic(source):
            return SyntheticReader(self.scene, next(self.seeds))
        if not isinstance(source, int | str) or isinstance(source, bool):
            raise ValueError(f"a stream source must be a webcam index, a path or a URL, got {source!r}")
        return CameraReader(parse_source(source), self.camera, source=str(source)).open()
