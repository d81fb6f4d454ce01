"""``flowpose bench closedloop``: capture-to-action latency and fps, a flowpose graph vs a single loop.

The closed loop of a behaviour experiment — read a frame, estimate the animal's pose, test a
condition, act — measured two ways on the same video with the same model:

* **graph**: ``Camera -> TopdownPoseEstimator (box: frame, dynamic crop) -> Trigger`` (callback
  action) as a flowpose graph, every node in its own thread, so reading and decoding the next
  frame overlaps with the pose model;
* **loop**: DeepLabCut-Live's structure — one thread that reads a frame, runs the pose model,
  tests the condition and calls the action, then reads the next. It calls the very same two
  nodes' ``process`` back to back (same ONNX model and session options, same preprocessing,
  same condition code), so the only difference is the graph's threads and queues.

Two ways to feed them: **max speed** (the file read as fast as the path takes it; the graph's
buffers are lossless, so both paths see every frame and their keypoints must be equal) and
**live** (the file paced at its own frame rate like a camera; the graph's buffers keep the
latest frame). Latency is ``time.time_ns()`` at the action's return minus the frame's capture
time (taken right after ``grab()``, in both paths). The paths alternate, repeat by repeat, so
load from elsewhere hits both alike; medians over the repeats are printed with graph/loop ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from flowpose.bench.video_loop import video_frames
from flowpose.closedloop import TriggerEvent
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame
from flowpose.graph.spec import SourceMap
from flowpose.graph.validate import validate_data
from flowpose.node import Node, StopGraph

__all__ = ["ClosedLoopResult", "default_video", "main", "measure"]

#: Actions left out of the figures at the start of each run (session warm-up).
WARMUP_FRAMES = 10
DEFAULT_MODEL = "zoo:flowpose-animal"


def default_video() -> Path:
    """The shared openfield video: ``$FLOWPOSE_SHARED`` or ``../shared`` beside the checkout."""
    shared = os.environ.get("FLOWPOSE_SHARED")
    root = Path(shared) if shared else Path.cwd().parent / "shared"
    return root / "data" / "videos" / "mouse_openfield.mp4"


class BenchAction:
    """The Trigger's action in both paths: notes (frame id, capture ns, return ns, keypoint)."""

    records: ClassVar[dict[str, list[tuple[int, int, int, list[float] | None]]]] = {}
    _lock = threading.Lock()

    def __init__(self, run: str) -> None:
        self._rows = self.records.setdefault(run, [])

    def fire(self, event: TriggerEvent) -> None:
        """Record the event; the stamp is the action's return, as the Trigger's own latency."""
        with self._lock:
            self._rows.append((event.frame_id, event.capture_ns, time.time_ns(), event.keypoint))


class ClosedLoopSink(Node):
    """Keeps every frame's keypoints by frame id and ends the graph after ``frames`` frames."""

    collected: ClassVar[dict[str, dict[int, np.ndarray]]] = {}
    limits: ClassVar[dict[str, int]] = {}

    def process(self, frame: Frame) -> None:
        posed = [i for i in frame.instances if i.keypoints is not None]
        self.collected.setdefault(self.name, {})[frame.frame_id] = posed[-1].keypoints if posed else None
        if frame.frame_id >= self.limits.get(self.name, 0) - 1:
            raise StopGraph()


@dataclass(frozen=True)
class ClosedLoopResult:
    """One run of one path.

    Attributes:
        path: ``graph`` or ``loop``.
        paced: Whether the video played at its own rate (live) or as fast as possible.
        frames: Frames whose action fired (after the warm-up).
        fps: Actions per second after the warm-up.
        latency_ms_p50: Median capture-to-action latency.
        latency_ms_p95: 95th percentile of the same.
    """

    path: str
    paced: bool
    frames: int
    fps: float
    latency_ms_p50: float
    latency_ms_p95: float


def node_params(
    model: str, preset: str | None, threads: int | None, dynamic_crop: bool, search_tile: float = 0.0
) -> tuple[dict, dict]:
    """The pose estimator's and the trigger's params, shared by both paths (``measure`` adds the run id)."""
    pose: dict[str, Any] = {"model": model, "box": "frame", "dynamic_crop": dynamic_crop, "search_tile": search_tile}
    if preset:
        pose["preset"] = preset
    if threads:
        pose["intra_op_threads"] = threads
    trigger = {
        # Fires on every frame (any pose is inside a region larger than the frame), so every
        # frame's latency is measured; the condition code runs exactly as in an experiment.
        "condition": {"kind": "region", "keypoint": 0, "rect": [-1e6, -1e6, 1e6, 1e6]},
        "min_score": -1e9,
        "fire_on": "frame",
        "action": f"{__name__}:BenchAction",
    }
    return pose, trigger


def _summarise(path: str, paced: bool, rows: list[tuple[int, int, int, Any]]) -> ClosedLoopResult:
    warm = min(WARMUP_FRAMES, len(rows) // 4)
    rows = rows[warm:]
    if len(rows) < 2:
        raise RuntimeError(f"{path}: only {len(rows)} actions after the warm-up")
    done = np.array([r[2] for r in rows], np.int64)
    latency = (done - np.array([r[1] for r in rows], np.int64)) / 1e6
    span = (done[-1] - done[0]) / 1e9
    return ClosedLoopResult(
        path,
        paced,
        len(rows),
        (len(rows) - 1) / span if span > 0 else float("inf"),
        float(np.percentile(latency, 50)),
        float(np.percentile(latency, 95)),
    )


def run_graph(video: str, frames: int, pose: dict, trigger: dict, paced: bool, sink: str) -> None:
    """The flowpose graph, to the end of ``frames`` frames."""
    ClosedLoopSink.limits[sink] = frames
    data = {
        "name": "bench closedloop",
        # Live: a camera's `latest` queues (latency is the pipeline's, not a backlog's); max
        # speed: lossless, one frame in flight per hop, so no frame is skipped.
        "defaults": {"buffer": {"policy": "latest" if paced else "lossless", "size": 1}},
        "nodes": [
            {"name": "camera", "type": "Camera", "outputs": ["frames"], "params": {"source": video, "realtime": paced}},
            {
                "name": "pose",
                "type": "TopdownPoseEstimator",
                "inputs": ["frames"],
                "outputs": ["poses"],
                "params": pose,
            },
            {"name": "trigger", "type": "Trigger", "inputs": ["poses"], "outputs": ["out"], "params": trigger},
            {"name": sink, "type": f"{__name__}:ClosedLoopSink", "inputs": ["out"]},
        ],
    }
    result = GraphRunner(validate_data(data, SourceMap("<bench>"))).run(handle_signals=False)
    if result.exit_code != 0:
        raise RuntimeError(f"closed-loop graph failed: {result.failure}")


def run_loop(video: str, frames: int, pose: dict, trigger: dict, paced: bool) -> dict[int, np.ndarray]:
    """DeepLabCut-Live's loop: read, pose, condition, action, in this thread; keypoints by frame id."""
    from flowpose.nodes.pose_estimator import TopdownPoseEstimator
    from flowpose.nodes.trigger import Trigger

    estimator, trig = TopdownPoseEstimator("pose", pose), Trigger("trigger", trigger)
    estimator.setup()
    trig.setup()
    keypoints: dict[int, np.ndarray] = {}
    try:
        for index, stamp, image in video_frames(video, frames, paced):
            out = trig.process(estimator.process(Frame(index, stamp, "camera", image)))
            keypoints[index] = out.instances[-1].keypoints
    finally:
        trig.close()
        estimator.close()
    return keypoints


def measure(
    video: str, frames: int, pose: dict, trigger: dict, path: str, paced: bool
) -> tuple[ClosedLoopResult, dict[int, np.ndarray]]:
    """One run of one path; returns its figures and its keypoints by frame id."""
    run = f"{path}_{time.monotonic_ns()}"
    trigger = {**trigger, "action_params": {"run": run}}
    if path == "graph":
        sink = f"sink_{run}"
        run_graph(video, frames, pose, trigger, paced, sink)
        keypoints = ClosedLoopSink.collected.pop(sink, {})
        ClosedLoopSink.limits.pop(sink, None)
    else:
        keypoints = run_loop(video, frames, pose, trigger, paced)
    return _summarise(path, paced, BenchAction.records.pop(run, [])), keypoints


def check_equal(graph: dict[int, np.ndarray], loop: dict[int, np.ndarray], frames: int) -> float:
    """Largest keypoint difference (px) between the paths over the same frames.

    Raises:
        RuntimeError: When a path skipped frames or the keypoints differ.
    """
    if sorted(graph) != list(range(frames)) or sorted(loop) != list(range(frames)):
        raise RuntimeError(f"at max speed both paths must see all {frames} frames: {len(graph)} vs {len(loop)}")
    diff = max(float(np.abs(graph[i] - loop[i]).max()) for i in range(frames))
    if diff > 1e-3:
        raise RuntimeError(f"the graph's and the loop's keypoints differ by up to {diff:.3f} px")
    return diff


def _median_rows(results: list[ClosedLoopResult]) -> list[ClosedLoopResult]:
    out = []
    for key in dict.fromkeys((r.paced, r.path) for r in results):
        group = [r for r in results if (r.paced, r.path) == key]
        out.append(
            ClosedLoopResult(
                key[1],
                key[0],
                int(statistics.median(r.frames for r in group)),
                statistics.median(r.fps for r in group),
                statistics.median(r.latency_ms_p50 for r in group),
                statistics.median(r.latency_ms_p95 for r in group),
            )
        )
    return out


def format_table(rows: list[ClosedLoopResult]) -> str:
    """The table: one row per (video mode, path), then graph/loop ratios per mode."""
    lines = [f"{'video':<10} {'path':<6} {'frames':>6} {'fps':>7} {'lat p50 ms':>11} {'lat p95 ms':>11}"]
    for r in rows:
        lines.append(
            f"{'live' if r.paced else 'max speed':<10} {r.path:<6} {r.frames:>6} {r.fps:>7.1f} "
            f"{r.latency_ms_p50:>11.2f} {r.latency_ms_p95:>11.2f}"
        )
    by = {(r.paced, r.path): r for r in rows}
    for paced in (False, True):
        g, loop = by.get((paced, "graph")), by.get((paced, "loop"))
        if g and loop:
            lines.append(
                f"graph / loop, {'live' if paced else 'max speed'}: fps {g.fps / loop.fps:.2f}x, "
                f"latency p50 {g.latency_ms_p50 / loop.latency_ms_p50:.2f}x, "
                f"p95 {g.latency_ms_p95 / loop.latency_ms_p95:.2f}x"
            )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed arguments; returns the exit code."""
    video = Path(args.video) if args.video else default_video()
    if not video.is_file():
        print(f"bench closedloop: video not found: {video} (give --video)", file=sys.stderr)
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("max", "live") for m in modes):
        print(f"bench closedloop: --modes takes max and/or live, got {args.modes!r}", file=sys.stderr)
        return 2
    model = args.model or DEFAULT_MODEL
    pose, trigger = node_params(model, args.preset, args.threads, not args.no_dynamic_crop, args.search_tile)
    from flowpose.pose import open_pose_model
    from flowpose.zoo import ModelNotFoundError

    try:
        spec = open_pose_model(model, args.preset)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as exc:
        print(f"bench closedloop: {exc}", file=sys.stderr)
        return 2
    w, h = spec.card.input_size
    print(
        f"pose model: {model}{' (packaged default; give --model for your own)' if not args.model else ''}, "
        f"{spec.layout.name} {spec.layout.num_keypoints} keypoints, input {w}x{h}; "
        f"whole frame{', dynamic crop' if pose['dynamic_crop'] else ''}"
        f"{f', search tiles of {args.search_tile:g} px' if args.search_tile else ''}; "
        f"intra-op threads {args.threads or 'default'}; {os.cpu_count()} CPUs visible"
    )
    print(f"video: {video}, {args.frames} frames per run, {args.repeats} repeat(s)")
    results: list[ClosedLoopResult] = []
    for r in range(args.repeats):
        for paced in [m == "live" for m in modes]:
            order = ("graph", "loop") if r % 2 == 0 else ("loop", "graph")  # interleaved
            kept: dict[str, dict[int, np.ndarray]] = {}
            for path in order:
                result, kept[path] = measure(str(video), args.frames, pose, trigger, path, paced)
                results.append(result)
            if not paced and r == 0:
                diff = check_equal(kept["graph"], kept["loop"], args.frames)
                print(f"keypoints: graph == loop on all {args.frames} frames (max difference {diff:.1e} px)")
    rows = _median_rows(results)
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0
