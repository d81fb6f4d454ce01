"""``flowpose bench pipeline``: a video through detector + pose, all in threads vs in processes.

Two measurements per runner layout, interleaved so load from elsewhere hits both alike:

* **max fps** — the video read as fast as the pipeline takes it (``lossless`` buffers), frames
  per second at the sink after a short warm-up;
* **live** — the video paced at its own frame rate like a camera (``latest`` buffers): the fps
  that reaches the sink and the end-to-end latency from capture to the sink, p50 / p95.

Layouts: ``thread`` (every node in a thread of one process) and ``process`` (detector and
pose estimator each in their own process, camera and sink in the parent). Without ``--pose``
a stand-in for RTMPose (:mod:`flowpose.bench.pose_model`) is built in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from flowpose.frame import Frame
from flowpose.node import Node
from flowpose.problems import GraphError
from flowpose.runtime import GraphRunner
from flowpose.spec import SourceMap
from flowpose.validate import validate_data

__all__ = ["PipelineResult", "main", "measure"]

WARMUP_FRAMES = 10


class PipelineSink(Node):
    """Keeps (arrival ns, capture ns, instances with keypoints) per frame, by node name."""

    collected: ClassVar[dict[str, list[tuple[int, int, int]]]] = {}
    _lock = threading.Lock()

    def process(self, frame: Frame) -> None:
        posed = sum(i.keypoints is not None for i in frame.instances)
        with self._lock:
            self.collected.setdefault(self.name, []).append((time.time_ns(), frame.capture_ns, posed))


@dataclass(frozen=True)
class PipelineResult:
    """One run of the pipeline.

    Attributes:
        layout: ``thread`` or ``process``.
        paced: Whether the video played at its own rate (live) or as fast as possible.
        frames: Frames that reached the sink.
        fps: Frames per second at the sink, after the warm-up.
        latency_ms_p50: Median capture-to-sink latency.
        latency_ms_p95: 95th percentile of the same.
        posed_per_frame: Mean instances with keypoints per frame (a sanity check).
    """

    layout: str
    paced: bool
    frames: int
    fps: float
    latency_ms_p50: float
    latency_ms_p95: float
    posed_per_frame: float


def _graph(video: str, detector: dict, pose: str, layout: str, paced: bool, sink: str) -> dict:
    runner = "process" if layout == "process" else "thread"
    return {
        "name": f"bench pipeline ({layout})",
        # Live: a camera's `latest` queues, so latency is the pipeline's, not a backlog's.
        "defaults": {"buffer": {"policy": "latest" if paced else "lossless", "size": 1 if paced else 4}},
        "nodes": [
            {
                "name": "camera",
                "type": "Camera",
                "outputs": ["frames"],
                # Paced like a camera but not `live`: a live file would reconnect (loop) at its end.
                "params": {"source": video, "realtime": paced},
            },
            {
                "name": "detector",
                "type": "Detector",
                "inputs": ["frames"],
                "outputs": ["detections"],
                "runner": runner,
                "params": {**detector, "classes": ["person"]},
            },
            {
                "name": "pose",
                "type": "TopdownPoseEstimator",
                "inputs": ["detections"],
                "outputs": ["poses"],
                "runner": runner,
                "params": {"model": pose, "labels": ["person"]},
            },
            {"name": sink, "type": f"{__name__}:PipelineSink", "inputs": ["poses"]},
        ],
    }


def measure(video: str, detector: dict, pose: str, layout: str, paced: bool) -> PipelineResult:
    """Run the pipeline once and summarise what reached the sink.

    Args:
        video: The video file.
        detector: The Detector's ``model`` (and ``preset``) params.
        pose: The pose model (path or zoo:NAME).
        layout: ``thread`` or ``process``.
        paced: Play the video at its own rate (live) instead of as fast as possible.

    Raises:
        GraphError: When the graph does not validate (a model is missing...).
        RuntimeError: When the graph fails.
    """
    sink = f"sink_{time.monotonic_ns()}"
    graph = validate_data(_graph(video, detector, pose, layout, paced, sink), SourceMap("<bench>"))
    result = GraphRunner(graph).run(handle_signals=False)
    if result.exit_code != 0:
        raise RuntimeError(f"pipeline ({layout}) failed: {result.failure}")
    rows = PipelineSink.collected.pop(sink, [])[WARMUP_FRAMES:]
    if len(rows) < 2:
        raise RuntimeError(f"pipeline ({layout}): only {len(rows)} frames after the warm-up reached the sink")
    arrivals = np.array([r[0] for r in rows], dtype=np.int64)
    latency_ms = (arrivals - np.array([r[1] for r in rows], dtype=np.int64)) / 1e6
    span_s = (arrivals[-1] - arrivals[0]) / 1e9
    return PipelineResult(
        layout=layout,
        paced=paced,
        frames=len(rows) + WARMUP_FRAMES,
        fps=(len(rows) - 1) / span_s if span_s > 0 else float("inf"),
        latency_ms_p50=float(np.percentile(latency_ms, 50)),
        latency_ms_p95=float(np.percentile(latency_ms, 95)),
        posed_per_frame=float(np.mean([r[2] for r in rows])),
    )


def _format(results: list[PipelineResult]) -> str:
    lines = [
        f"{'layout':<8} {'video':<10} {'frames':>6} {'fps':>7} {'lat p50 ms':>11} {'lat p95 ms':>11} "
        f"{'posed/frame':>12}"
    ]
    for r in results:
        kind = "live" if r.paced else "max speed"
        lines.append(
            f"{r.layout:<8} {kind:<10} {r.frames:>6} {r.fps:>7.1f} {r.latency_ms_p50:>11.1f} "
            f"{r.latency_ms_p95:>11.1f} {r.posed_per_frame:>12.2f}"
        )
    return "\n".join(lines)


def _median_rows(results: list[PipelineResult]) -> list[PipelineResult]:
    """One row per (layout, paced): the medians over the repeats."""
    out = []
    for key in dict.fromkeys((r.layout, r.paced) for r in results):
        group = [r for r in results if (r.layout, r.paced) == key]
        out.append(
            PipelineResult(
                layout=key[0],
                paced=key[1],
                frames=group[0].frames,
                fps=statistics.median(r.fps for r in group),
                latency_ms_p50=statistics.median(r.latency_ms_p50 for r in group),
                latency_ms_p95=statistics.median(r.latency_ms_p95 for r in group),
                posed_per_frame=statistics.median(r.posed_per_frame for r in group),
            )
        )
    return out


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed arguments; returns the exit code."""
    if not Path(args.video).is_file():
        print(f"bench pipeline: video not found: {args.video}", file=sys.stderr)
        return 2
    layouts = [s.strip() for s in args.layouts.split(",") if s.strip()]
    bad = [x for x in layouts if x not in ("thread", "process")]
    if bad:
        print(f"bench pipeline: unknown layout(s) {bad}; use thread, process", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="flowpose-bench-") as tmp:
        pose = args.pose
        if not pose:
            from flowpose.bench.pose_model import build_rtmpose_like

            built = build_rtmpose_like(Path(tmp) / f"rtmpose-{args.pose_size}-standin.onnx", args.pose_size)
            pose = str(built.path)
            print(
                f"pose model: RTMPose-{args.pose_size} stand-in, {built.params / 1e6:.2f} M weights, "
                f"{built.macs / 1e9:.2f} GMACs per crop"
            )
        detector = {"model": args.detector, **({"preset": args.detector_preset} if args.detector_preset else {})}
        results = []
        try:
            for _ in range(args.repeats):
                for paced in (False, True):
                    for layout in layouts:  # interleaved: load from elsewhere hits every layout alike
                        results.append(measure(args.video, detector, pose, layout, paced))
        except GraphError as exc:
            print(f"bench pipeline: {exc}", file=sys.stderr)
            return 2
    rows = _median_rows(results)
    print(_format(rows))
    by = {(r.layout, r.paced): r for r in rows}
    if ("thread", False) in by and ("process", False) in by:
        ratio = by[("process", False)].fps / by[("thread", False)].fps
        print(f"processes / threads, max fps: {ratio:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0
