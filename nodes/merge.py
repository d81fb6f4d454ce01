"""The MergeInstances node: joins branches that each added keypoints to the same detections.

Estimators running side by side (one for people, one for animals) read the same detections
buffer and each fill in the instances they serve; this node takes, for every instance
position, the version that has keypoints. The runtime joins the inputs by frame id.

When the detections may already carry keypoints (ground truth from a SyntheticScene, an
upstream estimator), "has keypoints" cannot tell a branch's result from what it passed
through. Then give the detections themselves as the first input and set ``base_input``:
for each position the branch version that differs from the base wins.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.node import Node, NodeParams


class MergeInstances(Node):
    """Merges the instances of several branches of the same detections, keeping keypoints from each."""

    num_inputs = None  # any number >= 2 (3 with base_input), checked on each frame

    class Params(NodeParams):
        base_input: bool = Field(
            False,
            description="The first input is the detections the branches started from: per instance, take the "
            "branch version that changed it (needed when detections already carry keypoints).",
        )

    def process(self, *frames: Frame) -> Frame:
        needed = 3 if self.params.base_input else 2
        if len(frames) < needed:
            raise ValueError(f"{self.name}: MergeInstances needs at least {needed} inputs here, got {len(frames)}")
        first = frames[0]
        for index, other in enumerate(frames[1:], start=2):
            self._check_same_boxes(first, other, index)
        merged = []
        for versions in zip(*(f.instances for f in frames), strict=True):
            if self.params.base_input:
                changed = [v for v in versions[1:] if not _same_pose(v, versions[0])]
            else:
                changed = [v for v in versions if v.keypoints is not None]
            if len(changed) > 1 and any(not _same_pose(v, changed[0]) for v in changed[1:]):
                self.counters["conflicts"] += 1  # two branches estimated one instance: input order decides
            merged.append(changed[0] if changed else versions[0])
        return first.with_instances(merged)

    def _check_same_boxes(self, first: Frame, other: Frame, index: int) -> None:
        """The inputs must be branches of one detection result: same instances, same order."""
        where = f"{self.name}: frame {first.frame_id} of {first.source!r}"
        hint = "(merge only branches that read the same detections and change nothing but keypoints)"
        if len(other.instances) != len(first.instances):
            raise ValueError(
                f"{where}: input 1 has {len(first.instances)} instances, input {index} has "
                f"{len(other.instances)} {hint}"
            )
        for pos, (a, b) in enumerate(zip(first.instances, other.instances, strict=True)):
            if a.label != b.label or not np.allclose(a.bbox, b.bbox, rtol=0, atol=1e-3):
                raise ValueError(
                    f"{where}: instance {pos} differs between input 1 ({a.label!r} {a.bbox.tolist()}) and "
                    f"input {index} ({b.label!r} {b.bbox.tolist()}) {hint}"
                )


def _same_pose(a: Instance, b: Instance) -> bool:
    """Whether two versions of an instance carry the same keypoints, scores and layout."""
    if a is b:
        return True
    if a.layout != b.layout or (a.keypoints is None) != (b.keypoints is None):
        return False
    if a.keypoints is None:
        return True
    return np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.keypoint_scores, b.keypoint_scores)
