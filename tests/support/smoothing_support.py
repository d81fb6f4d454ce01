"""A test node for tracking and smoothing graphs: detector-like jitter on perfect instances."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from flowpose.frame import Frame
from flowpose.node import Node, NodeParams


class Jitter(Node):
    """Adds Gaussian noise to keypoints and boxes, proportional to each box's size (seeded)."""

    class Params(NodeParams):
        std: float = Field(0.02, ge=0, description="Per-axis noise, fraction of sqrt(box area).")
        seed: int = 0

    def setup(self) -> None:
        self._rng = np.random.default_rng(self.params.seed)

    def process(self, frame: Frame) -> Frame:
        out = []
        for inst in frame.instances:
            w, h = inst.bbox[2] - inst.bbox[0], inst.bbox[3] - inst.bbox[1]
            sigma = self.params.std * float(np.sqrt(max(w * h, 1.0)))
            changes = {"bbox": inst.bbox + self._rng.normal(0, sigma, 4).astype(np.float32)}
            if inst.keypoints is not None:
                changes["keypoints"] = inst.keypoints + self._rng.normal(0, sigma, inst.keypoints.shape)
            out.append(inst.replace(**changes))
        return frame.with_instances(out)
