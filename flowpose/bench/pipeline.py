"""``flowpose bench pipeline``: a video through detector + pose: a graph in threads or processes vs a loop.

Two measurements per layout, the layouts interleaved so load from elsewhere hits all alike:

* **max fps** — the video read as fast as the pipeline takes it (``lossless`` buffers), frames
  per second at the sink after a short warm-up;
* **live** — the video paced at its own frame rate like a camera (``latest`` buffers): the fps
  that reaches the sink and the end-to-end latency from capture to the sink, p50 / p95.

Layouts: ``thread`` (every node in a thread of one process), ``process`` (detector and
pose estimator each in their own process, camera and sink in the parent), and the baseline
without flowpose (:mod:`flowpose.bench.pipeline_loop`): ``loop``, one thread that reads a
frame, runs the detector and one pose ``session.run`` per person (rtmlib's ``PoseTracker``),
then reads the next, and ``loop-batched``, the same with all crops in one run. Same models,
same ONNX Runtime threads; at max speed every path sees every frame, and the first repeat
checks that all paths computed the same keypoints. Without ``--pose`` a stand-in for RTMPose
(:mod:`flowpose.bench.pose_model`) is built in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from flowpose.bench.pipeline_loop import LOOP_LAYOUTS, run_loop
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame
from flowpose.graph.problems import GraphError
from flowpose.graph.spec import SourceMap
from flowpose.graph.validate import validate_data
from flowpose.node import Node, StopGraph

__all__ = ["LAYOUTS", "PipelineResult", "check_equal", "format_table", "main", "measure", "node_params"]

WARMUP_FRAMES = 10
GRAPH_LAYOUTS = ("thread", "process")
LAYOUTS = GRAPH_LAYOUTS + LOOP_LAYOUTS
#: Keypoints of the per-person loop may differ from the batched ones by float rounding only
#: (float64 vs float32 normalisation), as ``bench pose`` checks.
KEYPOINT_TOLERANCE_PX = 0.05


class PipelineSink(Node):
    """Keeps (arrival ns, capture ns, instances with keypoints) and the keypoints per frame, by node name.

    Ends the graph after ``limits[name]`` frames when one is set.
    """

    collected: ClassVar[dict[str, list[tuple[int, int, int]]]] = {}
    keypoints: ClassVar[dict[str, dict[int, list[np.ndarray]]]] = {}
    limits: ClassVar[dict[str, int]] = {}
    _lock = threading.Lock()

    def process(self, frame: Frame) -> None:
        posed = [i.keypoints for i in frame.instances if i.keypoints is not None]
        with self._lock:
            self.collected.setdefault(self.name, []).append((time.time_ns(), frame.capture_ns, len(posed)))
            self.keypoints.setdefault(self.name, {})[frame.frame_id] = posed
        limit = self.limits.get(self.name, 0)
        if limit and frame.frame_id >= limit - 1:
            raise StopGraph()


@dataclass(frozen=True)
class PipelineResult:
    """One run of the pipeline.

    Attributes:
        layout: ``thread``, ``process``, ``loop`` or ``loop-batched``.
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


def node_params(detector: str, preset: str | None, pose: str, threads: int | None) -> tuple[dict, dict]:
    """The Detector's and the TopdownPoseEstimator's params, the same for the graph and the loop."""
    common = {"intra_op_threads": threads} if threads else {}
    det = {"model": detector, "classes": ["person"], **({"preset": preset} if preset else {}), **common}
    return det, {"model": pose, "labels": ["person"], **common}


def _graph(video: str, detector: dict, pose: dict, layout: str, paced: bool, sink: str) -> dict:
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
                "params": detector,
            },
            {
                "name": "pose",
                "type": "TopdownPoseEstimator",
                "inputs": ["detections"],
                "outputs": ["poses"],
                "runner": runner,
                "params": pose,
            },
            {"name": sink, "type": f"{__name__}:PipelineSink", "inputs": ["poses"]},
        ],
    }


def measure(
    video: str, detector: dict, pose: dict, layout: str, paced: bool, frames: int = 0
) -> tuple[PipelineResult, dict[int, list[np.ndarray]]]:
    """Run one layout once; summarise what reached the sink and return the keypoints by frame id.

    Args:
        video: The video file.
        detector: The Detector's params (:func:`node_params`).
        pose: The TopdownPoseEstimator's params (:func:`node_params`).
        layout: One of :data:`LAYOUTS`.
        paced: Play the video at its own rate (live) instead of as fast as possible.
        frames: Stop after this many frames; 0 = the whole video.

    Raises:
        GraphError: When the graph does not validate (a model is missing...).
        RuntimeError: When the graph fails or too few frames arrive.
    """
    if layout in LOOP_LAYOUTS:
        run = run_loop(video, detector, pose, layout, paced, frames)
        rows, keypoints = run.rows, run.keypoints
    else:
        sink = f"sink_{time.monotonic_ns()}"
        PipelineSink.limits[sink] = frames
        graph = validate_data(_graph(video, detector, pose, layout, paced, sink), SourceMap("<bench>"))
        result = GraphRunner(graph).run(handle_signals=False)
        PipelineSink.limits.pop(sink, None)
        rows, keypoints = PipelineSink.collected.pop(sink, []), PipelineSink.keypoints.pop(sink, {})
        if result.exit_code != 0:
            raise RuntimeError(f"pipeline ({layout}) failed: {result.failure}")
    warm = min(WARMUP_FRAMES, len(rows) // 4)
    rows = rows[warm:]
    if len(rows) < 2:
        raise RuntimeError(f"pipeline ({layout}): only {len(rows)} frames after the warm-up reached the sink")
    arrivals = np.array([r[0] for r in rows], dtype=np.int64)
    latency_ms = (arrivals - np.array([r[1] for r in rows], dtype=np.int64)) / 1e6
    span_s = (arrivals[-1] - arrivals[0]) / 1e9
    summary = PipelineResult(
        layout=layout,
        paced=paced,
        frames=len(rows) + warm,
        fps=(len(rows) - 1) / span_s if span_s > 0 else float("inf"),
        latency_ms_p50=float(np.percentile(latency_ms, 50)),
        latency_ms_p95=float(np.percentile(latency_ms, 95)),
        posed_per_frame=float(np.mean([r[2] for r in rows])),
    )
    return summary, keypoints


def check_equal(runs: dict[str, dict[int, list[np.ndarray]]]) -> float:
    """Largest keypoint difference (px) between the layouts' max-speed runs, against the first.

    Raises:
        RuntimeError: When a layout skipped frames, posed other instances, or the keypoints differ.
    """
    names = list(runs)
    first = runs[names[0]]
    worst = 0.0
    for name in names[1:]:
        other = runs[name]
        if sorted(other) != sorted(first):
            raise RuntimeError(f"{name} and {names[0]} saw different frames: {len(other)} vs {len(first)}")
        for fid, points in first.items():
            if len(other[fid]) != len(points):
                raise RuntimeError(f"frame {fid}: {name} posed {len(other[fid])} instances, {names[0]} {len(points)}")
            for a, b in zip(points, other[fid], strict=True):
                worst = max(worst, float(np.abs(a - b).max()))
    if worst > KEYPOINT_TOLERANCE_PX:
        raise RuntimeError(f"the layouts' keypoints differ by up to {worst:.3f} px")
    return worst


def format_table(rows: list[PipelineResult]) -> str:
    """The table (one row per layout and video mode), then the graph / loop and process / thread ratios."""
    lines = [
        f"{'layout':<12} {'video':<10} {'frames':>6} {'fps':>7} {'lat p50 ms':>11} {'lat p95 ms':>11} "
        f"{'posed/frame':>12}"
    ]
    for r in rows:
        kind = "live" if r.paced else "max speed"
        lines.append(
            f"{r.layout:<12} {kind:<10} {r.frames:>6} {r.fps:>7.1f} {r.latency_ms_p50:>11.1f} "
            f"{r.latency_ms_p95:>11.1f} {r.posed_per_frame:>12.2f}"
        )
    by = {(r.layout, r.paced): r for r in rows}
    pairs = [(g, loop) for g in GRAPH_LAYOUTS for loop in LOOP_LAYOUTS] + [("process", "thread")]
    for top, bottom in pairs:
        fast, slow = by.get((top, False)), by.get((bottom, False))
        if fast and slow:
            text = f"{top} / {bottom}: max fps {fast.fps / slow.fps:.2f}x"
            live, live_base = by.get((top, True)), by.get((bottom, True))
            if live and live_base:
                text += (
                    f"; live fps {live.fps / live_base.fps:.2f}x, "
                    f"latency p50 {live.latency_ms_p50 / live_base.latency_ms_p50:.2f}x"
                )
            lines.append(text)
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
    bad = [x for x in layouts if x not in LAYOUTS]
    if bad or not layouts:
        print(f"bench pipeline: unknown layout(s) {bad}; use {', '.join(LAYOUTS)}", file=sys.stderr)
        return 2
    frames = getattr(args, "frames", 0)
    with tempfile.TemporaryDirectory(prefix="flowpose-bench-") as tmp:
        pose_model = args.pose
        if not pose_model:
            from flowpose.bench.pose_model import build_rtmpose_like

            built = build_rtmpose_like(Path(tmp) / f"rtmpose-{args.pose_size}-standin.onnx", args.pose_size)
            pose_model = str(built.path)
            print(
                f"pose model: RTMPose-{args.pose_size} stand-in, {built.params / 1e6:.2f} M weights, "
                f"{built.macs / 1e9:.2f} GMACs per crop"
            )
        threads = getattr(args, "threads", None)
        detector, pose = node_params(args.detector, args.detector_preset, pose_model, threads)
        print(
            f"video: {args.video}, {frames or 'all'} frames per run, {args.repeats} repeat(s); "
            f"intra-op threads per model: {threads or 'default'}; {os.cpu_count()} CPUs visible"
        )
        results = []
        try:
            for r in range(args.repeats):
                for paced in (False, True):
                    # Interleaved, the order reversed every other repeat: load hits every layout alike.
                    order = layouts if r % 2 == 0 else layouts[::-1]
                    kept = {}
                    for layout in order:
                        result, kept[layout] = measure(args.video, detector, pose, layout, paced, frames)
                        results.append(result)
                    if not paced and r == 0 and len(layouts) > 1:
                        diff = check_equal({name: kept[name] for name in layouts})
                        print(f"keypoints: {' == '.join(layouts)} on every frame (max difference {diff:.1e} px)")
        except GraphError as exc:
            print(f"bench pipeline: {exc}", file=sys.stderr)
            return 2
    rows = _median_rows(results)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0
