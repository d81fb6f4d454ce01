"""Evaluate ONNX detectors the way the Detector node runs them, on seeded synthetic scenes.

Each model goes through :class:`flowpose.detection.OnnxDetector` (the node's backend:
letterbox, ONNX Runtime, decoder, NMS), boxes in image pixels, against the scenes' ground
truth; COCO box AP by pycocotools over the classes both know, and the median time per image.
Several models are measured side by side on the same images::

    python -m flowpose.trainer.detection.onnx_eval zoo:flowpose-det-synthetic \\
        ../shared/models/yolox_nano.onnx:yolox --scenes 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from flowpose.detection import DetectionSettings, OnnxDetector
from flowpose.models import resolve_card
from flowpose.synthetic import SceneConfig, render_sample
from flowpose.trainer.detection.evaluate import ImageDetections, coco_metrics
from flowpose.zoo import resolve_model

__all__ = ["evaluate_onnx", "main"]

CLASSES = ("person", "dog", "cat", "horse")


def evaluate_onnx(
    model: str, preset: str | None, scenes: int, seed: int = 2024, size: tuple[int, int] = (640, 480)
) -> dict[str, float]:
    """COCO AP (and ``ms_median`` per image) of one ONNX detector on ``scenes`` synthetic images.

    Args:
        model: ``zoo:NAME`` or a path.
        preset: Card preset for a model without a card (``yolox`` for Megvii's export).
        scenes: Number of images (``render_sample`` with default figure counts, seeded).
        seed: Seed of the images.
        size: Image ``(w, h)``.
    """
    path = resolve_model(model)
    card = resolve_card(path, preset)
    keep = tuple(i for i, name in enumerate(card.classes) if name in CLASSES)
    to_ours = {i: CLASSES.index(card.classes[i]) for i in keep}
    settings = DetectionSettings(score_threshold=0.001, nms_iou=0.65, max_detections=100, keep=keep)
    detector = OnnxDetector(path, card, settings, intra_op_threads=1)
    config = SceneConfig(width=size[0], height=size[1])
    gts, dets, times = [], [], []
    for i in range(scenes):
        sample = render_sample(np.random.default_rng([seed, i]), config)
        start = time.perf_counter()
        found = detector.detect(sample.image)
        times.append(time.perf_counter() - start)
        labels = np.array([to_ours[int(label)] for label in found.labels], np.int64)
        dets.append(ImageDetections(found.boxes, found.scores, labels))
        objs = [o for o in sample.objects if o.label in CLASSES]
        gts.append(
            (
                np.array([o.bbox for o in objs], np.float32).reshape(-1, 4),
                np.array([CLASSES.index(o.label) for o in objs]),
            )
        )
    detector.close()
    metrics = coco_metrics(gts, dets, CLASSES)
    metrics["ms_median"] = 1000 * statistics.median(times)
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: models as ``REF`` or ``REF:PRESET``; prints one table row per model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="zoo:NAME or a path, optionally :PRESET (yolox)")
    parser.add_argument("--scenes", type=int, default=100, help="synthetic images (100)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    keys = ["mAP", "mAP50", "recall50", "precision50", *(f"AP50_{c}" for c in CLASSES), "ms_median"]
    print("model".ljust(40) + "".join(k.rjust(12) for k in keys))
    for ref in args.models:
        model, preset = ref, None
        if ":" in ref and not ref.startswith("zoo:"):
            model, _, preset = ref.rpartition(":")
        metrics = evaluate_onnx(model, preset, args.scenes, args.seed)
        print(ref[-40:].ljust(40) + "".join(f"{metrics[k]:12.3f}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
