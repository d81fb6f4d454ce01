"""The real YOLOX-nano export and the HOG fallback on a real COCO image, against its annotation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.detection import DetectorConfig, box_iou, open_detector
from flowpose.geometry import bbox_xywh_to_xyxy

pytestmark = pytest.mark.realdata

IMAGE = "000000000785.jpg"


def annotated_people(coco_dir: Path, file_name: str) -> np.ndarray:
    """The person boxes (xyxy) that the COCO json of ``coco_dir`` gives for ``file_name``."""
    data = json.loads((coco_dir / "test_coco.json").read_text())
    (image,) = [i for i in data["images"] if i["file_name"] == file_name]
    person = next(c["id"] for c in data["categories"] if c["name"] == "person")
    boxes = [a["bbox"] for a in data["annotations"] if a["image_id"] == image["id"] and a["category_id"] == person]
    assert boxes, f"{file_name} has no person annotation"
    return bbox_xywh_to_xyxy(np.array(boxes, np.float32))


@pytest.fixture
def coco(shared_dir) -> tuple[np.ndarray, np.ndarray]:
    coco_dir = shared_dir / "data" / "coco_style" / "coco"
    return cv2.imread(str(coco_dir / IMAGE)), annotated_people(coco_dir, IMAGE)


def test_yolox_nano_finds_the_annotated_person(shared_dir, coco):
    image, truth = coco
    config = DetectorConfig(
        str(shared_dir / "models" / "yolox_nano.onnx"), preset="yolox", classes=("person",), intra_op_threads=1
    )
    detector = open_detector(config)
    dets = detector.detect(image)
    assert len(dets) >= 1 and set(dets.labels.tolist()) == {0}
    iou = box_iou(truth, dets.boxes).max(axis=1)
    assert iou.min() >= 0.8, f"IoU with the annotation {iou}; detections {dets.boxes}, scores {dets.scores}"
    assert dets.scores[0] > 0.5


def test_yolox_nano_with_every_class_still_finds_the_person_first(shared_dir, coco):
    image, truth = coco
    detector = open_detector(DetectorConfig(str(shared_dir / "models" / "yolox_nano.onnx"), preset="yolox"))
    dets = detector.detect(image)
    assert detector.classes[dets.labels[0]] == "person"
    assert box_iou(truth, dets.boxes[:1]).item() >= 0.8


def test_hog_fallback_finds_the_person(coco):
    image, truth = coco
    dets = open_detector(DetectorConfig("hog")).detect(image)
    assert len(dets) >= 1
    # Measured 0.76: HOG's window holds margin around the body, so its boxes are loose.
    assert box_iou(truth, dets.boxes).max() >= 0.6
