"""PoseAccuracy: scores a graph's poses against the ground truth riding on synthetic frames."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from flowpose.evaluation.pose_accuracy import PoseAccuracy as Accumulator
from flowpose.frame import Frame
from flowpose.node import Node, NodeParams


class PoseAccuracy(Node):
    """Scores poses against SyntheticScene's ground truth (PCK, recall, pixel error); reports at the end."""

    class Params(NodeParams):
        thresholds: list[float] = Field(
            default_factory=lambda: [0.05, 0.1, 0.2], description="PCK thresholds, as fractions of the box size."
        )
        iou_threshold: float = Field(0.3, gt=0, le=1, description="Box IoU for a prediction to match a figure.")
        path: str = Field("", description="Also write the report as JSON here ('' = log only).")

    def setup(self) -> None:
        self._acc = Accumulator(self.params.iou_threshold)
        self._frames = 0
        self._warned = False

    def process(self, frame: Frame) -> None:
        truth = frame.meta.get("ground_truth")
        if truth is None:
            if not self._warned:
                self.log.warning("frames carry no meta['ground_truth']: PoseAccuracy needs a SyntheticScene source")
                self._warned = True
            return
        self._acc.add(frame.instances, truth)
        self._frames += 1

    def close(self) -> None:
        if not getattr(self, "_frames", 0):
            return
        report = self._acc.report(self.params.thresholds)
        for label, row in report.items():
            pcks = "  ".join(f"{k.upper()} {v:.3f}" for k, v in row.items() if k.startswith("pck"))
            self.log.info(
                "accuracy vs ground truth, %s: %d figures over %d frames, recall %.3f, %s, mean error %.1f px",
                label, int(row["figures"]), self._frames, row["recall"], pcks, row["mean_px_error"],
            )  # fmt: skip
        if self.params.path:
            out = Path(self.params.path)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"frames": self._frames, "labels": report}, indent=2))
