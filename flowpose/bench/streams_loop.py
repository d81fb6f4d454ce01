"""The baselines of ``flowpose bench streams`` without flowpose: rtmlib-style sequential loops.

What a user of rtmlib writes for many cameras: for each frame, run the detector, then the
pose model once per person (a crop, a normalisation and a ``session.run`` of batch one:
:func:`flowpose.bench.pose.per_crop`). Two ways to spread it over the streams:

* ``loops`` (the issue's **c**): one thread per stream, each with its own detector and pose
  sessions, as ``PoseTracker`` objects in threads would be;
* ``loop-rr``: one thread, one detector and one pose session, going round the streams (at max
  speed frame k of every stream in turn; live, whichever frame is due next) — what a careful
  user writes to keep sessions and threads down.

Both use the graph's Detector node and the pose node's own model, with the same ONNX Runtime
thread settings, so their keypoints compare with the graphs'.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable

import numpy as np

from flowpose.bench.streams_frames import Clips, live_schedule, stream_id
from flowpose.bench.streams_record import WARMUP_INDEX, FrameRecord, RunLog, StartGate, sleep_until_ns
from flowpose.frame import Frame

__all__ = ["LOOP_VARIANTS", "run_loop_variant"]

LOOP_VARIANTS = ("loops", "loop-rr")


class _PoseLoop:
    """One detector session and one pose session, run frame by frame, one pose call per person."""

    def __init__(self, det: dict, pose: dict, label: str) -> None:
        from flowpose.nodes.detector import Detector
        from flowpose.nodes.pose_estimator import TopdownPoseEstimator

        self._det = Detector("detector", det)
        self._estimator = TopdownPoseEstimator("pose", pose)
        self._label = label

    def __enter__(self) -> _PoseLoop:
        self._det.setup()
        self._estimator.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self._estimator.close()
        self._det.close()

    def step(self, clips: Clips, stream: int, index: int, capture_ns: int) -> FrameRecord:
        """Detect and pose frame ``index`` of ``stream``."""
        from flowpose.bench.pose import per_crop

        image = clips.image(stream, index)
        t0 = time.time_ns()
        found = self._det.process(Frame(max(index, 0), capture_ns, stream_id(stream), image))
        t1 = time.time_ns()
        boxes = [i.bbox for i in found.instances if i.label == self._label]
        model = self._estimator._model  # the node's own session: same model, same threads
        padding = self._estimator.params.bbox_padding
        posed = tuple(per_crop(model, image, np.stack(boxes), padding).keypoints) if boxes else ()
        done = time.time_ns()
        return FrameRecord(
            stream=stream,
            index=index,
            capture_ns=capture_ns,
            done_ns=done,
            cpu_ns=time.process_time_ns(),
            keypoints=posed,
            detect=(t0, t1),
            pose=(t1, done),
            crops=len(posed),
        )


def _timed(loop: _PoseLoop, clips: Clips, plan: Iterable[tuple[int | None, int, int]], log: RunLog, t0: int) -> None:
    """Run the plan's ``(due ns after t0 or None, stream, index)`` frames, recording each."""
    for due, stream, index in plan:
        if due is not None:
            sleep_until_ns(t0 + due)
        log.add(loop.step(clips, stream, index, t0 + due if due is not None else time.time_ns()))


def _lane(
    streams: list[int], clips: Clips, frames: int, rate: float, total: int, seed: int, cfg: tuple, log: RunLog
) -> None:
    """One thread: warm up, wait at the gate, then its streams' frames (round robin when several)."""
    try:
        with _PoseLoop(*cfg) as loop:
            for s in streams:
                loop.step(clips, s, WARMUP_INDEX, time.time_ns())
                log.gate.arrived(s)
            t0 = log.gate.wait()
            if t0 is None:
                return
            sleep_until_ns(t0)
            if rate > 0:
                mine = set(streams)
                plan = [
                    (int(offset * 1e9), s, k) for offset, s, k in live_schedule(total, frames, rate, seed) if s in mine
                ]
                _timed(loop, clips, plan, log, t0)
            else:
                _timed(loop, clips, ((None, s, k) for k in range(frames) for s in streams), log, t0)
    except Exception:
        log.fail(traceback.format_exc())
        log.gate.abort()


def run_loop_variant(
    variant: str,
    clips: Clips,
    streams: int,
    frames: int,
    rate: float,
    det: dict,
    pose: dict,
    label: str = "person",
    seed: int = 0,
) -> RunLog:
    """Run ``loops`` (a thread per stream) or ``loop-rr`` (one thread, round robin) once.

    Args: as :func:`flowpose.bench.streams_graph.run_graph_variant`; ``label`` is the class posed.

    Raises:
        RuntimeError: When a loop raised (the first traceback's last line is in the message).
    """
    if variant not in LOOP_VARIANTS:
        raise ValueError(f"unknown loop variant {variant!r}")
    log = RunLog(StartGate(streams))
    lanes = [[s] for s in range(streams)] if variant == "loops" else [list(range(streams))]
    cfg = (det, pose, label)
    threads = [
        threading.Thread(
            target=_lane, args=(lane, clips, frames, rate, streams, seed, cfg, log), name=f"bench-loop-{i}"
        )
        for i, lane in enumerate(lanes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if log.errors:
        last = log.errors[0].strip().splitlines()[-1]
        raise RuntimeError(f"bench streams ({variant}, {streams} streams) failed: {last}")
    return log
