"""What one batch costs, stage by stage: why the one-graph variant wins by what it wins.

Measured in one thread before the variants run, on the first frame of every stream: the
detector on one image and on N images in one ``process_batch`` call, and the pose model on
all the people of those frames in one batched run and in one run per person (rtmlib's way).
From them, the CPU time per frame of a batched pipeline and of a per-person loop: their
ratio is the most cross-stream batching can gain when every variant fills the same cores.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flowpose.bench.streams_frames import Clips, stream_id
from flowpose.frame import Frame

__all__ = ["StageCosts", "format_stages", "measure_stages"]


@dataclass(frozen=True)
class StageCosts:
    """Median times (ms) of each stage on the first frame of ``streams`` streams.

    Attributes:
        streams: Frames in the batch (one per stream).
        det_one_ms: The detector on one image.
        det_batch_ms: The detector on all the images in one ``process_batch`` call.
        det_dynamic: Whether the detector runs a batch in one ``session.run`` (its batch axis is
            free); None when the node does not say.
        crops: People found in those frames (the pose model's crops).
        pose_batch_ms: Every crop of every frame in one batched run.
        pose_per_crop_ms: The same crops one ``session.run`` each (rtmlib), in total.
    """

    streams: int
    det_one_ms: float
    det_batch_ms: float
    det_dynamic: bool | None
    crops: int
    pose_batch_ms: float
    pose_per_crop_ms: float

    @property
    def batched_ms_per_frame(self) -> float:
        """CPU time per frame of the batched pipeline (both stages)."""
        return (self.det_batch_ms + self.pose_batch_ms) / self.streams

    @property
    def loop_ms_per_frame(self) -> float:
        """CPU time per frame of the per-person loop."""
        return self.det_one_ms + self.pose_per_crop_ms / self.streams


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first runs allocate
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def measure_stages(clips: Clips, counts: list[int], det: dict, pose: dict, repeats: int = 5) -> list[StageCosts]:
    """Stage costs for each stream count, in this thread, with one detector and one pose session."""
    from flowpose.bench.pose import per_crop
    from flowpose.nodes.detector import Detector
    from flowpose.nodes.pose_estimator import TopdownPoseEstimator

    top = max(counts)
    detector = Detector("detector", {**det, "max_batch": top} if "max_batch" in Detector.Params.model_fields else det)
    estimator = TopdownPoseEstimator(
        "pose", {**pose, "max_batch": top} if "max_batch" in TopdownPoseEstimator.Params.model_fields else pose
    )
    detector.setup()
    estimator.setup()
    try:
        padding = estimator.params.bbox_padding
        backend = detector._detector
        dynamic = getattr(backend, "dynamic_batch", None)
        out = []
        for n in counts:
            frames = [Frame(0, 0, stream_id(s), clips.image(s, 0)) for s in range(n)]
            found = detector.process_batch(frames)
            people = [(f.image, np.stack([i.bbox for i in f.instances])) for f in found if f.instances]
            out.append(
                StageCosts(
                    streams=n,
                    det_one_ms=_median_ms(lambda f=frames[0]: detector.process(f), repeats),
                    det_batch_ms=_median_ms(lambda f=frames: detector.process_batch(f), repeats),
                    det_dynamic=dynamic,
                    crops=sum(len(boxes) for _, boxes in people),
                    pose_batch_ms=_median_ms(lambda f=found: estimator.process_batch(f), repeats),
                    pose_per_crop_ms=_median_ms(
                        lambda p=people: [per_crop(estimator._model, im, b, padding) for im, b in p], repeats
                    ),
                )
            )
        return out
    finally:
        estimator.close()
        detector.close()


def format_stages(costs: list[StageCosts]) -> str:
    """Markdown: the stage costs per stream count and the most batching can gain."""
    dynamic = costs[0].det_dynamic if costs else None
    note = {
        True: "the detector runs a batch in one session.run",
        False: "the detector's ONNX batch axis is fixed at 1: a batch runs its images one by one",
        None: "the detector does not say whether it batches",
    }[dynamic]
    lines = [
        f"### stage costs (one thread, medians; {note})",
        "",
        "| streams | det 1 image ms | det N images, one call ms | people | pose all crops, one run ms "
        "| pose one run per person ms | CPU ms/frame batched | CPU ms/frame per-person loop | loop / batched |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in costs:
        lines.append(
            f"| {c.streams} | {c.det_one_ms:.1f} | {c.det_batch_ms:.1f} | {c.crops} | {c.pose_batch_ms:.1f} "
            f"| {c.pose_per_crop_ms:.1f} | {c.batched_ms_per_frame:.1f} | {c.loop_ms_per_frame:.1f} "
            f"| {c.loop_ms_per_frame / c.batched_ms_per_frame:.2f}x |"
        )
    return "\n".join(lines) + "\n"
