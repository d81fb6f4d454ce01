"""The API with the real YOLOX-nano on real COCO images and a real video (../shared).

The pose models are the packaged, synthetic-trained ones (the only ones offline): these
tests check what the real detector finds and how tracking holds, not keypoint accuracy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from api_support import PACKAGED

from flowpose.api import Pose
from flowpose.geometry import bbox_xywh_to_xyxy, box_iou

pytestmark = pytest.mark.realdata


@pytest.fixture
def real_pose(shared_dir: Path) -> Iterator[Pose]:
    detector = shared_dir / "models" / "yolox_nano.onnx"
    # The raw Megvii export has no card: the yolox preset says how to feed and decode it.
    pose = Pose(
        detector=detector,
        people=PACKAGED["people"],
        animals=PACKAGED["animals"],
        detector_params={"preset": "yolox"},
        threads=1,
    )
    yield pose
    pose.close()


def annotated_people(coco_dir: Path) -> dict[str, np.ndarray]:
    """Image file -> its annotated person boxes (xyxy) with keypoints, from the COCO json."""
    data = json.loads((coco_dir / "test_coco.json").read_text())
    names = {image["id"]: image["file_name"] for image in data["images"]}
    boxes: dict[str, list] = {}
    for a in data["annotations"]:
        if a["category_id"] == 1 and a["num_keypoints"] > 0:
            boxes.setdefault(names[a["image_id"]], []).append(a["bbox"])
    return {name: bbox_xywh_to_xyxy(np.array(b, np.float32)) for name, b in boxes.items()}


def test_yolox_nano_finds_the_annotated_people_in_coco_images(real_pose, shared_dir):
    coco_dir = shared_dir / "data" / "coco_style" / "coco"
    truth = annotated_people(coco_dir)
    assert len(truth) >= 3
    for name, boxes in truth.items():
        result = real_pose(coco_dir / name)
        people = result.boxes[[i for i, label in enumerate(result.labels) if label == "person"]]
        matched = (box_iou(boxes, people).max(axis=1) > 0.5).sum() if len(people) else 0
        assert matched >= max(1, len(boxes) // 2), f"{name}: {matched} of {len(boxes)} people found"
        assert result.keypoints.shape == (len(result), 17, 2)
        coco = result.to_coco(image_id=int(Path(name).stem))
        assert all(c["image_id"] == int(Path(name).stem) and len(c["keypoints"]) == 51 for c in coco)


def test_the_dancer_keeps_one_track_id(real_pose, shared_dir):
    video = shared_dir / "data" / "videos" / "dance.mp4"
    results = list(real_pose.track(video, max_frames=30))
    assert len(results) == 30
    np.testing.assert_allclose([r.time_s for r in results], np.arange(30) / 30, atol=1e-3)  # the video's 30 fps
    confirmed = results[2:]  # a track is confirmed on its third frame
    ids = [{int(t) for t, label in zip(r.track_ids, r.labels, strict=True) if label == "person"} for r in confirmed]
    assert all(len(frame_ids) == 1 for frame_ids in ids), ids
    assert len(set.union(*ids)) == 1 and min(set.union(*ids)) >= 1
    assert results[-1].draw().shape == results[-1].image.shape
