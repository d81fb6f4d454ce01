"""``flowpose bench streams``: many streams through one graph, a graph each, or rtmlib-style loops.

1, 2, 4, 8, 16 streams (synthetic scenes with different seeds, or ``--video``) through:

* **a** ``graph`` — one graph: one multi-stream source → one Detector → one TopdownPoseEstimator,
  the runner batching frames of many streams into one call (``max_batch``, ``max_wait_ms``);
* **a0** ``graph-nobatch`` — the same graph frame by frame (``max_batch: 1``);
* **b** ``graphs`` — one single-stream graph per stream, all running at once in this process;
* **c** ``loops`` — one rtmlib-style loop thread per stream (detector, then one pose call per
  person), each with its own sessions;
* **c'** ``loop-rr`` — one such loop going round the streams (two sessions in all).

Same models and the same ONNX Runtime intra-op threads per session everywhere, the same frames
from memory (rendered or decoded once), a warm-up frame per stream before a common start,
keypoints checked equal between all variants on the first max-speed run of every stream
count. Before the variants, the stages alone (:mod:`flowpose.bench.streams_stages`): what a
batch costs against a frame at a time and a run per person. Two modes: **max** (every frame as
fast as taken: throughput) and **live** (every stream paced at ``--rate`` with its own phase:
latency, and whether each stream holds its rate). Variants run interleaved (a, a0, b, c, c',
then reversed), ``--repeats`` times; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from flowpose.bench.streams_frames import Clips, decode_video, render_synthetic
from flowpose.bench.streams_graph import GRAPH_VARIANTS, Batching, batching_supported, run_graph_variant
from flowpose.bench.streams_loop import LOOP_VARIANTS, run_loop_variant
from flowpose.bench.streams_record import RunLog
from flowpose.bench.streams_report import StreamsResult, check_equal, format_report, median_results, summarise
from flowpose.bench.streams_stages import format_stages, measure_stages
from flowpose.graph.problems import GraphError

__all__ = ["VARIANTS", "main", "run_variant"]

VARIANTS = GRAPH_VARIANTS + LOOP_VARIANTS
MODES = ("max", "live")


class UsageError(ValueError):
    """Bad command-line input: one line for the user."""


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise UsageError(f"{what} must be whole numbers >= 1, got {text!r}")
    return values


def _names(text: str, known: tuple[str, ...], what: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise UsageError(f"unknown {what} {bad}; use {', '.join(known)}")
    return names


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must be WxH, e.g. 640x480, got {text!r}") from None
    if w < 16 or h < 16:
        raise UsageError(f"--size must be at least 16x16, got {text!r}")
    return w, h


def node_params(args: argparse.Namespace) -> tuple[dict, dict]:
    """The Detector's and the TopdownPoseEstimator's params, the same for every variant."""
    threads = {"intra_op_threads": args.threads}
    preset = {"preset": args.detector_preset} if args.detector_preset else {}
    det = {"model": args.detector, "classes": [args.label], **preset, **threads}
    return det, {"model": args.pose, "labels": [args.label], **threads}


def run_variant(
    variant: str,
    clips: Clips,
    streams: int,
    frames: int,
    rate: float,
    det: dict,
    pose: dict,
    batching: Batching | None = None,
    label: str = "person",
    seed: int = 0,
) -> RunLog:
    """Run one variant once (see :func:`flowpose.bench.streams_graph.run_graph_variant`)."""
    if variant in GRAPH_VARIANTS:
        return run_graph_variant(variant, clips, streams, frames, rate, det, pose, batching, seed)
    return run_loop_variant(variant, clips, streams, frames, rate, det, pose, label, seed)


def _check_models(det: dict, pose: dict) -> None:
    """Validate the one-stream graph first, so a missing model is one clear line, not a traceback.

    Raises:
        GraphError: When the Detector or the pose model does not validate.
    """
    from flowpose.bench.streams_graph import graph_data
    from flowpose.graph.spec import SourceMap
    from flowpose.graph.validate import validate_data

    validate_data(graph_data("check", [0], 1, 1, 0.0, 0, det, pose), SourceMap("<bench streams>"))


def _header(args: argparse.Namespace, clips: Clips, variants: list[str], batching: Batching | None) -> str:
    sessions = {"graph": "2", "graph-nobatch": "2", "graphs": "2 per stream", "loops": "2 per stream", "loop-rr": "2"}
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    batch = (
        f"graph batching: max_batch {args.max_batch or 'the stream count'}, max_wait_ms {args.max_wait_ms:g}"
        if batching is not None
        else "graph batching: not available in this build (the nodes take no max_batch): frame by frame"
    )
    return "\n".join(
        [
            f"frames: {clips.origin}",
            f"models: detector {args.detector}, pose {args.pose} (class {args.label!r})",
            f"ONNX Runtime intra-op threads: {args.threads} per session in every variant; sessions: "
            + ", ".join(f"{v} {sessions[v]}" for v in variants),
            batch,
            f"max speed: {args.frames} frames per stream, at least {args.total} in all; "
            f"live: {args.rate:g} fps per stream for {args.seconds:g} s",
            f"{args.repeats} repeat(s); {os.cpu_count()} CPUs visible; load average {load}",
        ]
    )


def _measure(args: argparse.Namespace, variants: list[str], modes: list[str], counts: list[int]) -> int:
    det, pose = node_params(args)
    _check_models(det, pose)
    size = _size(args.size)
    with tempfile.TemporaryDirectory(prefix="flowpose-bench-streams-") as tmp:
        if args.free_detector_batch:
            det = {**det, "model": _freed_detector(args.detector, Path(tmp))}
        return _measure_with(args, variants, modes, counts, det, pose, size)


def _freed_detector(ref: str, folder: Path) -> str:
    """A copy of the detector with a free batch axis (and its sidecar card, if any), in ``folder``."""
    from flowpose.bench.streams_batchaxis import free_batch_axis
    from flowpose.models.resolve import sidecar_path
    from flowpose.zoo.fetch import resolve_model

    try:
        import onnx  # noqa: F401  (free_batch_axis edits the copy with it)
    except ImportError:
        raise UsageError("--free-detector-batch needs the onnx package (pip install onnx)") from None

    src = resolve_model(ref)
    dst = folder / f"{src.stem}-free-batch.onnx"
    changed = free_batch_axis(src, dst)
    if sidecar_path(src).is_file():
        shutil.copyfile(sidecar_path(src), sidecar_path(dst))
    print(f"detector: a copy of {src.name} with a free batch axis ({changed} Reshapes freed; a batch checked equal)")
    return str(dst)


def _measure_with(
    args: argparse.Namespace,
    variants: list[str],
    modes: list[str],
    counts: list[int],
    det: dict,
    pose: dict,
    size: tuple[int, int],
) -> int:
    top = max(counts)
    clips = (
        decode_video(args.video, top, args.clip) if args.video else render_synthetic(top, args.clip, size, args.seed)
    )
    supported = batching_supported()
    if supported and args.max_wait_ms is None:
        from flowpose.models.session import batch_wait_ms

        args.max_wait_ms = batch_wait_ms("cpu", None)  # the nodes' own default on the CPU
    batching = Batching(args.max_batch, args.max_wait_ms) if supported else None
    print(_header(args, clips, variants, batching), flush=True)
    stages = measure_stages(clips, counts, det, pose)
    print()
    print(format_stages(stages), flush=True)
    live_frames = max(2, round(args.seconds * args.rate))
    results: list[StreamsResult] = []
    for rep in range(args.repeats):
        for mode in modes:
            for n in counts:
                # Max speed: a run long enough to time with few streams too.
                max_frames = max(args.frames, -(-args.total // n))
                rate, frames = (args.rate, live_frames) if mode == "live" else (0.0, max_frames)
                # Interleaved, reversed every other repeat: load from elsewhere hits all alike.
                order = variants if rep % 2 == 0 else variants[::-1]
                kept = {}
                for variant in order:
                    bat = None if batching is None else Batching(args.max_batch or n, batching.max_wait_ms)
                    log = run_variant(variant, clips, n, frames, rate, det, pose, bat, args.label, args.seed)
                    result = summarise(log, variant, mode, n, rate)
                    results.append(result)
                    print(
                        f"  repeat {rep + 1} {mode} {n} streams {variant}: {result.fps:.1f} fps, "
                        f"latency p95 {result.latency_ms_p95:.1f} ms, {result.cpu_ms_per_frame:.1f} CPU ms/frame",
                        flush=True,
                    )
                    kept[variant] = log.records
                if mode == "max" and rep == 0 and len(variants) > 1:
                    diff = check_equal({v: kept[v] for v in variants})
                    print(f"  keypoints at {n} streams: {' == '.join(variants)} on every frame (max {diff:.1e} px)")
    rows = median_results(results)
    print()
    print(format_report(rows, args.max_wait_ms if batching is not None else 0.0, args.rate), end="")
    print("load average at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.json:
        report = {"results": [asdict(r) for r in rows], "stages": [asdict(c) for c in stages]}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def main(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed arguments; returns the exit code."""
    try:
        counts = _ints(args.streams, "--streams")
        variants = _names(args.variants, VARIANTS, "variant(s)")
        modes = _names(args.modes, MODES, "mode(s)")
        for name in ("frames", "total", "clip", "repeats", "threads"):
            if getattr(args, name) < 1:
                raise UsageError(f"--{name} must be >= 1, got {getattr(args, name)}")
        if args.rate <= 0 or args.seconds <= 0 or (args.max_wait_ms or 0) < 0 or args.max_batch < 0:
            raise UsageError("--rate and --seconds must be > 0, --max-wait-ms and --max-batch >= 0")
        if args.video and not Path(args.video).is_file():
            raise UsageError(f"video not found: {args.video}")
        return _measure(args, variants, modes, counts)
    except GraphError as exc:  # a model the nodes refuse: what the node said, on one line
        flag = {"detector": "--detector", "pose": "--pose"}
        text = "; ".join(f"{flag.get(p.node, p.node)}: {p.message}" for p in exc.problems)
        print(f"bench streams: {text}", file=sys.stderr)
        return 2
    except (UsageError, ValueError) as exc:
        print(f"bench streams: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a variant failed, or the keypoints differ
        print(f"bench streams: {exc}", file=sys.stderr)
        return 1
