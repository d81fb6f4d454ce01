"""A small COCO keypoint folder written on the fly: marker images and an annotation file that matches them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.meta import load_layout

try:  # the marker drawing lives with the marker models, which need onnx (the train extra)
    from pose_models import marker_scene
except ImportError:  # pragma: no cover - without onnx: plain images, same annotations
    marker_scene = None

# Two images: two people on the first, one on the second (image pixels, x1 y1 x2 y2).
PEOPLE = {
    1: ([[60, 60, 200, 400], [330, 80, 470, 300]], [[(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)]] * 2),
    2: ([[200, 90, 360, 420]], [[(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)]]),
}
IMAGE_SIZE = (640, 480)


def coco_file(
    folder: Path,
    layout: str = "coco17",
    category: str = "person",
    keypoint_names: list[str] | None = None,
    extra_annotations: list[dict] | None = None,
) -> tuple[Path, dict[int, np.ndarray]]:
    """Write ``img_1.png``, ``img_2.png`` (markers on grey) and ``ann.json``.

    Returns:
        The annotation file and the ground-truth keypoints (N, K, 2) per image id.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lay = load_layout(layout)
    names = keypoint_names or list(lay.keypoint_names)
    images, annotations, truth = [], [], {}
    for image_id, (boxes, spots) in PEOPLE.items():
        image, boxes_arr, expected = _scene(boxes, spots, layout)
        grey = np.full_like(image, 110)
        image = np.where(image.max(axis=2, keepdims=True) > 0, np.maximum(image, grey), grey)
        cv2.imwrite(str(folder / f"img_{image_id}.png"), image)  # lossless: the markers stay exact
        images.append(
            {"id": image_id, "file_name": f"img_{image_id}.png", "width": IMAGE_SIZE[0], "height": IMAGE_SIZE[1]}
        )
        truth[image_id] = expected
        for n, (box, kp) in enumerate(zip(boxes_arr, expected, strict=True)):
            x1, y1, x2, y2 = (float(v) for v in box)
            flat = np.concatenate([kp, np.full((len(kp), 1), 2.0)], axis=1).ravel().tolist()
            annotations.append(
                {
                    "id": image_id * 100 + n,
                    "image_id": image_id,
                    "category_id": 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1) * 0.6,
                    "iscrowd": 0,
                    "num_keypoints": len(kp),
                    "keypoints": flat,
                }
            )
    annotations += extra_annotations or []
    data = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": category, "keypoints": names, "skeleton": []}],
    }
    path = folder / "ann.json"
    path.write_text(json.dumps(data))
    return path, truth


def _scene(boxes: list[list[float]], spots: list, layout: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marker image, boxes, keypoints (as tests/support/pose_models.marker_scene; spread points without onnx)."""
    if marker_scene is not None:
        return marker_scene(IMAGE_SIZE, boxes, spots, layout=layout)
    k = load_layout(layout).num_keypoints
    frac = np.linspace(0.1, 0.9, k)
    expected = [[(x1 + f * (x2 - x1), y1 + (1 - f) * (y2 - y1)) for f in frac] for x1, y1, x2, y2 in boxes]
    image = np.zeros((IMAGE_SIZE[1], IMAGE_SIZE[0], 3), np.uint8)
    return image, np.asarray(boxes, np.float32), np.asarray(expected, np.float32)


@pytest.fixture
def make_coco(tmp_path) -> Callable[..., tuple[Path, dict[int, np.ndarray]]]:
    """``make_coco(**kwargs)`` -> (annotation file, truth); images beside the file (see :func:`coco_file`)."""
    return lambda **kwargs: coco_file(tmp_path / "coco", **kwargs)
