"""The flowpose variants of ``flowpose bench streams``: one graph for all streams, or one graph each.

* ``graph`` (the issue's **a**): one multi-stream source → one Detector → one
  TopdownPoseEstimator → a recording sink; when the nodes take ``max_batch`` /
  ``max_wait_ms``, the runner gathers frames of many streams into one ``process_batch`` call
  (one ``session.run`` over all images, then over all crops).
* ``graph-nobatch`` (**a0**): the same graph with ``max_batch: 1``, frame by frame: what
  batching adds to having one graph (two sessions, two threads) at all;
* ``graphs`` (**b**): what a user does without multi-stream support: one single-stream graph
  per stream, all started at once in this process (each node a thread, as ``flowpose run``
  would run them), so N detectors and N pose models share the cores.

Both are built as graph data and validated like a graph file, with two bench nodes: a source
that hands out the pre-made frames of :mod:`flowpose.bench.streams_frames` (so neither pays
for rendering or decoding) and a sink that records every frame (:mod:`flowpose.bench.streams_record`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from flowpose.bench.streams_frames import Clips, live_schedule, stream_id
from flowpose.bench.streams_record import WARMUP_INDEX, FrameRecord, RunLog, StartGate, sleep_until_ns
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.frame import Frame
from flowpose.graph.spec import SourceMap
from flowpose.graph.validate import validate_data
from flowpose.node import Node, NodeParams, Source

__all__ = [
    "GRAPH_VARIANTS",
    "Batching",
    "ClipSource",
    "RecordingSink",
    "batching_supported",
    "graph_data",
    "run_graph_variant",
]

GRAPH_VARIANTS = ("graph", "graph-nobatch", "graphs")
_runs = itertools.count()


@dataclass(frozen=True)
class Batching:
    """Cross-stream batching of the one-graph variant.

    Attributes:
        max_batch: At most this many frames per detector / pose call.
        max_wait_ms: How long the runner waits for more frames after the first of a batch.
    """

    max_batch: int
    max_wait_ms: float


def batching_supported() -> bool:
    """Whether the Detector and TopdownPoseEstimator nodes take ``max_batch`` and ``max_wait_ms``."""
    from flowpose.nodes.detector import Detector
    from flowpose.nodes.pose_estimator import TopdownPoseEstimator

    return all({"max_batch", "max_wait_ms"} <= set(cls.Params.model_fields) for cls in (Detector, TopdownPoseEstimator))


@dataclass
class _Run:
    clips: Clips
    log: RunLog


class ClipSource(Source):
    """Hands out pre-made frames of some streams: a warm-up frame each, then the timed ones.

    Live (``rate`` > 0) each frame leaves at its scheduled time and carries it as its capture
    time, even when the buffer downstream held the source back: latency counts from when a
    camera would have taken the frame. At max speed the streams take turns, as fast as taken.
    """

    runs: ClassVar[dict[str, _Run]] = {}

    class Params(NodeParams):
        run: str
        streams: list[int]
        total_streams: int
        frames: int
        rate: float = 0.0
        seed: int = 0

    def is_live(self) -> bool:
        return False  # every frame is processed (lossless): the benchmark never drops one

    def frames(self) -> Iterator[Frame]:
        p = self.params
        run = self.runs[p.run]
        for s in p.streams:
            yield self._frame(run.clips, s, WARMUP_INDEX, None)
        t0 = run.log.gate.wait(self.stopping)
        if t0 is None or not sleep_until_ns(t0, self.stopping):
            return
        if p.rate > 0:
            mine = set(p.streams)
            for offset_s, s, k in live_schedule(p.total_streams, p.frames, p.rate, p.seed):
                if s not in mine:
                    continue
                due = t0 + int(offset_s * 1e9)
                if not sleep_until_ns(due, self.stopping):
                    return
                yield self._frame(run.clips, s, k, due)
        else:
            for k in range(p.frames):
                for s in p.streams:
                    yield self._frame(run.clips, s, k, None)

    def _frame(self, clips: Clips, stream: int, index: int, capture_ns: int | None) -> Frame:
        meta = {"bench_stream": stream, "bench_index": index}
        return self.make_frame(clips.image(stream, index), meta=meta, capture_ns=capture_ns, source=stream_id(stream))


class RecordingSink(Node):
    """Records every timed frame into its run's log; a warm-up frame opens the gate instead."""

    class Params(NodeParams):
        run: str

    def process(self, frame: Frame) -> None:
        done, cpu = time.time_ns(), time.process_time_ns()
        log = ClipSource.runs[self.params.run].log
        stream, index = frame.meta["bench_stream"], frame.meta["bench_index"]
        if index == WARMUP_INDEX:
            log.gate.arrived(stream)
            return
        hops = {h.node: (h.t_in, h.t_out) for h in frame.trace}
        posed = tuple(i.keypoints for i in frame.instances if i.keypoints is not None)
        log.add(
            FrameRecord(
                stream=stream,
                index=index,
                capture_ns=frame.capture_ns,
                done_ns=done,
                cpu_ns=cpu,
                keypoints=posed,
                detect=hops.get("detector", (0, 0)),
                pose=hops.get("pose", (0, 0)),
                crops=len(posed),
                detect_ms=frame.meta.get("detector", {}).get("ms"),
            )
        )


def graph_data(
    run: str, streams: list[int], total: int, frames: int, rate: float, seed: int, det: dict, pose: dict
) -> dict:
    """The graph of one run: ClipSource (``streams`` of ``total``) → Detector → TopdownPoseEstimator → sink."""
    # Lossless buffers deep enough for a frame of every stream: a full batch can gather.
    size = max(4, 2 * len(streams))
    here = __name__
    return {
        "name": f"bench streams {run}",
        "defaults": {"buffer": {"policy": "lossless", "size": size}},
        "nodes": [
            {
                "name": "cam",
                "type": f"{here}:ClipSource",
                "outputs": ["frames"],
                "params": {
                    "run": run,
                    "streams": streams,
                    "total_streams": total,
                    "frames": frames,
                    "rate": rate,
                    "seed": seed,
                },
            },
            {"name": "detector", "type": "Detector", "inputs": ["frames"], "outputs": ["detections"], "params": det},
            {
                "name": "pose",
                "type": "TopdownPoseEstimator",
                "inputs": ["detections"],
                "outputs": ["poses"],
                "params": pose,
            },
            {"name": "sink", "type": f"{here}:RecordingSink", "inputs": ["poses"], "params": {"run": run}},
        ],
    }


def _run_together(runners: list[GraphRunner]) -> list[RunResult]:
    """Start every runner, wait for all; one that fails stops the others (they wait at the same gate)."""
    results: list[RunResult | None] = [None] * len(runners)

    def wait(i: int) -> None:
        results[i] = result = runners[i].wait()
        if result.exit_code != 0:
            for other in runners:
                other.request_stop(result.exit_code)

    for runner in runners:
        runner.start()
    waiters = [threading.Thread(target=wait, args=(i,), name=f"bench-wait-{i}") for i in range(len(runners))]
    for w in waiters:
        w.start()
    for w in waiters:
        w.join()
    return [r for r in results if r is not None]


def run_graph_variant(
    variant: str,
    clips: Clips,
    streams: int,
    frames: int,
    rate: float,
    det: dict,
    pose: dict,
    batching: Batching | None = None,
    seed: int = 0,
) -> RunLog:
    """Run ``graph`` (one graph, all streams) or ``graphs`` (one graph per stream) once.

    Args:
        variant: ``graph`` or ``graphs``.
        clips: The pre-made frames (at least ``streams`` streams).
        streams: How many streams to run.
        frames: Timed frames per stream.
        rate: Frames per second of each stream (live), or 0 for max speed.
        det: The Detector's params.
        pose: The TopdownPoseEstimator's params.
        batching: Cross-stream batching of ``graph`` (None: the nodes' defaults).
        seed: Seeds the live streams' phases.

    Raises:
        GraphError: When a graph does not validate (a model is missing...).
        RuntimeError: When a graph fails.
    """
    if variant not in GRAPH_VARIANTS:
        raise ValueError(f"unknown graph variant {variant!r}")
    run = f"streams{next(_runs)}"
    log = RunLog(StartGate(streams))
    ClipSource.runs[run] = _Run(clips, log)
    if variant == "graph" and batching is not None:
        extra = {"max_batch": batching.max_batch, "max_wait_ms": batching.max_wait_ms}
        det, pose = {**det, **extra}, {**pose, **extra}
    elif batching is not None:  # frame by frame, as before multi-stream graphs
        det, pose = {**det, "max_batch": 1}, {**pose, "max_batch": 1}
    groups = [[s] for s in range(streams)] if variant == "graphs" else [list(range(streams))]
    try:
        graphs = [
            validate_data(graph_data(run, g, streams, frames, rate, seed, det, pose), SourceMap("<bench streams>"))
            for g in groups
        ]
        results = _run_together([GraphRunner(g) for g in graphs])
    finally:
        ClipSource.runs.pop(run, None)
    failed = [r for r in results if r.exit_code != 0]
    if failed:
        raise RuntimeError(f"bench streams ({variant}, {streams} streams) failed: {failed[0].failure}")
    if variant == "graph" and batching is not None:
        log.pose_call_ms = _call_ms(results[0], "pose")
    return log


def _call_ms(result: RunResult, node: str) -> float | None:
    """A batching node's time per call: its median time per frame (a batch's time shared out) x frames per call.

    The frames' hops cannot tell: each frame's ``t_in`` is when it joined the batch, and the
    batch may have waited for more after the last one joined.
    """
    snap = next((s for s in result.stats if s.name == node), None)
    if snap is None or snap.proc_ms_p50 is None:
        return None
    batches = snap.counters.get("batches", 0)
    per_call = snap.counters.get("batched_frames", 0) / batches if batches else 1.0
    return snap.proc_ms_p50 * per_call
