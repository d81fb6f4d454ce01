"""Detector node latency per frame: YOLOX-nano at 416 on ONNX Runtime (CPU) per thread count, and HOG.

Every configuration is timed in the same run, round-robin frame by frame, so load from other
work on the machine spreads over all of them alike. Each time is one ``Detector.process`` call
on a real image: letterbox, inference, decoding, NMS, building the output frame. The YOLOX
rows also split the time into preprocessing, ``session.run`` and decoding + NMS.

Usage::

    python tests/benchmarks/detector_bench.py [--runs 50] [--threads 1,2] [--model PATH] [--image PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from flowpose.detection import preprocess_image
from flowpose.detection.nms import postprocess
from flowpose.frame import Frame
from flowpose.models.session import available_cores
from flowpose.nodes.detector import Detector

SHARED = Path(__file__).resolve().parents[3] / "shared"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="intra_op_threads settings, comma-separated")
    parser.add_argument("--model", default=str(SHARED / "models" / "yolox_nano.onnx"))
    parser.add_argument("--image", default=str(SHARED / "data" / "coco_style" / "coco" / "000000000785.jpg"))
    parser.add_argument("--no-hog", action="store_true", help="skip the HOG fallback")
    args = parser.parse_args()

    # A script, not a test (pytest does not collect it): without ../shared it stops here, saying so.
    for what, path in (("--image", args.image), ("--model", args.model)):
        if not Path(path).is_file():
            raise SystemExit(
                f"{what} {path} does not exist: this benchmark reads ../shared beside the checkout "
                f"(real image and YOLOX-nano); pass {what} to use your own"
            )
    image = cv2.imread(args.image)
    if image is None:
        raise SystemExit(f"cannot read {args.image}")
    nodes: dict[str, Detector] = {}
    for t in (int(x) for x in args.threads.split(",")):
        nodes[f"yolox-nano 416, {t} thread(s)"] = Detector(
            "det", {"model": args.model, "preset": "yolox", "intra_op_threads": t}
        )
    if not args.no_hog:
        nodes["hog (people, work height 240)"] = Detector("hog", {"model": "hog"})
    for node in nodes.values():
        node.setup()
    times: dict[str, list[float]] = {name: [] for name in nodes}
    parts: dict[str, dict[str, list[float]]] = {name: {"pre": [], "run": [], "post": []} for name in nodes}
    for i in range(args.warmup + args.runs):
        for name, node in nodes.items():
            frame = Frame(i, time.time_ns(), "bench", image)
            start = time.perf_counter()
            out = node.process(frame)
            elapsed = (time.perf_counter() - start) * 1e3
            if i >= args.warmup:
                times[name].append(elapsed)
                if name.startswith("yolox"):
                    for key, ms in split(node, image).items():
                        parts[name][key].append(ms)
            assert out.meta["detector"]["ran"]
    print(f"{args.runs} frames of {image.shape[1]}x{image.shape[0]}, {available_cores()} core(s) available\n")
    print("| detector | median ms | p90 ms | fps (1 / median) | preprocess | session.run | decode + NMS |")
    print("|---|---|---|---|---|---|---|")
    for name, values in times.items():
        med = statistics.median(values)
        split_cells = (
            [f"{statistics.median(parts[name][k]):.2f}" for k in ("pre", "run", "post")]
            if parts[name]["run"]
            else ["-", "-", "-"]
        )
        print(
            f"| {name} | {med:.2f} | {percentile(values, 90):.2f} | {1e3 / med:.0f} | " + " | ".join(split_cells) + " |"
        )
    for node in nodes.values():
        node.close()


def split(node: Detector, image: np.ndarray) -> dict[str, float]:
    """One more detection on ``node``'s ONNX detector, timed step by step."""
    detector = node._detector  # the benchmark looks inside on purpose
    t0 = time.perf_counter()
    tensor, transform = preprocess_image(image, detector.card)
    t1 = time.perf_counter()
    outputs = detector.session.run(detector.output_names, {detector.input_name: tensor})
    t2 = time.perf_counter()
    s = detector.settings
    dets = postprocess(detector.decoder.decode(outputs, s.score_threshold, s.keep), s)
    transform.boxes_to_image(dets.boxes)
    t3 = time.perf_counter()
    return {"pre": (t1 - t0) * 1e3, "run": (t2 - t1) * 1e3, "post": (t3 - t2) * 1e3}


if __name__ == "__main__":
    main()
