"""``flowpose bench pose``: all crops of a frame in one batched run vs one run per person.

Both paths run the same model in the same ONNX Runtime session, side by side in one process,
on one frame with 1, 4 and 8 people:

* batched (ours, :class:`flowpose.pose.TopdownModel`): every crop warped into one
  preallocated batch, normalised at once, one ``session.run``, one vectorised decode;
* per-crop (what rtmlib's RTMPose class and MMPose's demo do): for each person, a warp, a
  float64 normalisation and transpose of that crop, a ``session.run`` with a batch of one,
  and a decode.

The two are interleaved, repeat by repeat, so load from elsewhere hits both alike; medians
and the per-frame ratio are printed, with the batched path's preprocess / inference / decode
split. Without ``--model`` a stand-in for RTMPose-m (:mod:`flowpose.bench.pose_model`) is
built in a temporary directory, so the benchmark needs no download.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowpose.geometry import bbox_xyxy_to_cs, fix_aspect_ratio, get_warp_matrix, invert_affine, transform_points
from flowpose.pose import PoseModelSpec, PoseResult, PoseTimings, TopdownModel, open_pose_model

__all__ = ["main", "measure", "per_crop", "scene"]


def per_crop(model: TopdownModel, image: np.ndarray, boxes: np.ndarray, padding: float = 1.25) -> PoseResult:
    """The per-person baseline: one crop, one normalisation, one ``session.run`` at a time.

    Returns:
        Keypoints in image pixels (N, K, 2), scores (N, K) and the summed time split.
    """
    spec: PoseModelSpec = model.spec
    card, (w, h) = spec.card, spec.card.input_size
    mean, std = np.asarray(card.mean), np.asarray(card.std)
    names = list(spec.output_names)
    points, scores, spent = [], [], np.zeros(3)
    for box in boxes:
        t0 = time.perf_counter()
        center, scale = bbox_xyxy_to_cs(box, padding)
        scale = fix_aspect_ratio(scale, w / h)
        matrix = get_warp_matrix(center, scale, 0.0, (w, h))
        crop = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR)
        if card.color_order == "rgb":
            crop = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        blob = ((crop - mean) / std).transpose(2, 0, 1)[None]  # float64 math, as numpy does by default
        blob = np.ascontiguousarray(blob, dtype=np.float32)
        t1 = time.perf_counter()
        outputs = model.session.run(names, {spec.input_name: blob})
        t2 = time.perf_counter()
        keypoints, score = spec.codec.decode(*outputs)
        points.append(transform_points(keypoints[0], invert_affine(matrix)))
        scores.append(score[0])
        spent += (t1 - t0, t2 - t1, time.perf_counter() - t2)
    timings = PoseTimings(*(spent * 1e3).tolist(), runs=len(boxes))
    return PoseResult(np.stack(points), np.stack(scores).astype(np.float32), timings)


def scene(count: int, size: tuple[int, int] = (1280, 720), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured frame and ``count`` person-shaped boxes spread over it."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), (7, 7), 0)
    cols = max(1, min(count, 4))
    boxes = []
    for i in range(count):
        x = 40 + (i % cols) * (size[0] - 80) / cols
        y = 40 + (i // cols) * (size[1] - 80) / 2
        boxes.append([x, y, x + 0.6 * (size[0] - 80) / cols, y + 0.9 * (size[1] - 80) / 2])
    return image, np.asarray(boxes, np.float32)


def _timed(call: Callable[..., PoseResult], *args: Any) -> tuple[float, float, PoseTimings]:
    """Wall and CPU seconds of one call (CPU time of all the process's threads), and its split."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result.timings


def _summary(runs: list[tuple[float, float, PoseTimings]]) -> dict[str, float]:
    med = statistics.median
    return {
        "ms": round(med(r[0] for r in runs) * 1e3, 2),
        "cpu_ms": round(med(r[1] for r in runs) * 1e3, 2),
        "preprocess_ms": round(med(r[2].preprocess_ms for r in runs), 2),
        "inference_ms": round(med(r[2].inference_ms for r in runs), 2),
        "decode_ms": round(med(r[2].decode_ms for r in runs), 2),
    }


def measure(model: TopdownModel, counts: list[int], repeats: int) -> list[dict[str, Any]]:
    """Median per-frame times (wall and CPU) and time splits of both paths for each people count.

    Raises:
        RuntimeError: If the two paths disagree on the keypoints (they must compute the same thing).
    """
    rows = []
    for count in counts:
        image, boxes = scene(count)
        ours, theirs = model(image, boxes).keypoints, per_crop(model, image, boxes).keypoints  # warm-up and check
        if not np.allclose(ours, theirs, atol=0.05):
            raise RuntimeError(f"batched and per-crop keypoints differ by {np.abs(ours - theirs).max():.3f} px")
        runs: dict[str, list[tuple[float, float, PoseTimings]]] = {"batched": [], "per_crop": []}
        for r in range(repeats):
            for path in ("batched", "per_crop") if r % 2 == 0 else ("per_crop", "batched"):
                if path == "batched":
                    runs[path].append(_timed(model, image, boxes))
                else:
                    runs[path].append(_timed(per_crop, model, image, boxes))
        batched, single = _summary(runs["batched"]), _summary(runs["per_crop"])
        rows.append(
            {
                "people": count,
                "batched": batched,
                "per_crop": single,
                "speedup": round(single["ms"] / batched["ms"], 2),
                "cpu_speedup": round(single["cpu_ms"] / batched["cpu_ms"], 2),
            }
        )
    return rows


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and print the table; returns the exit code."""
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="flowpose-bench-pose-") as tmp:
        if args.model:
            try:
                spec, about = open_pose_model(args.model, args.preset), args.model
            except (FileNotFoundError, ValueError) as exc:  # missing file, zoo model not fetched, bad card
                print(f"flowpose bench pose: {exc}", file=sys.stderr)
                return 2
        else:
            from flowpose.bench.pose_model import build_rtmpose_like

            size = args.size
            built = build_rtmpose_like(Path(tmp) / f"rtmpose_{size}_like.onnx", size)
            spec = open_pose_model(built.path)
            about = (
                f"RTMPose-{size} stand-in, random weights: {built.params / 1e6:.2f} M parameters, "
                f"{built.macs / 1e9:.2f} GMACs per crop"
            )
        model = TopdownModel(spec, "cpu", args.threads, capacity=max(counts))
        threads = model.session.get_session_options().intra_op_num_threads
        print(f"pose model: {about}")
        print(f"input {spec.card.input_size[0]}x{spec.card.input_size[1]}, {threads} intra-op thread(s), CPU")
        rows = measure(model, counts, args.repeats)
    print(f"{'people':>6} {'batched ms':>11} {'per-crop ms':>12} {'speedup':>8} {'CPU-time speedup':>17}")
    for r in rows:
        b, p = r["batched"], r["per_crop"]
        print(f"{r['people']:>6} {b['ms']:>11.2f} {p['ms']:>12.2f} {r['speedup']:>7.2f}x {r['cpu_speedup']:>16.2f}x")
    print("time split, median ms per frame (preprocess / inference / decode):")
    for r in rows:
        b, p = r["batched"], r["per_crop"]
        print(
            f"{r['people']:>6}  batched {b['preprocess_ms']:.2f} / {b['inference_ms']:.2f} / {b['decode_ms']:.2f}"
            f"   per-crop {p['preprocess_ms']:.2f} / {p['inference_ms']:.2f} / {p['decode_ms']:.2f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"model": about, "threads": threads, "rows": rows}, indent=2))
    return 0
