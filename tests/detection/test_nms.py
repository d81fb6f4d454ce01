"""Box IoU, class-aware NMS against a plain per-class reference, post-processing and class names."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.detection import (
    Detections,
    DetectionSettings,
    box_iou,
    class_indices,
    nms,
    postprocess,
    unknown_classes_message,
)
from flowpose.models import COCO80_CLASSES


def reference_nms(boxes, scores, labels, thr):
    """The textbook algorithm, one class at a time, one pair at a time."""

    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union if union > 0 else 0.0

    keep = []
    for label in set(labels.tolist()):
        idx = sorted(np.flatnonzero(labels == label), key=lambda i: -scores[i])
        chosen = []
        for i in idx:
            if all(iou(boxes[i], boxes[j]) <= thr for j in chosen):
                chosen.append(i)
        keep += chosen
    return sorted(keep, key=lambda i: -scores[i])


def random_boxes(rng, n, classes=3):
    xy = rng.uniform(-20, 300, (n, 2))
    wh = rng.uniform(5, 120, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    return boxes, rng.permutation(n).astype(np.float32) / n, rng.integers(0, classes, n)


def test_box_iou_known_values():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]], np.float32)
    assert box_iou(a, b)[0] == pytest.approx([1.0, 1 / 3, 0.0, 0.0])
    assert box_iou(a, b).shape == (1, 4) and box_iou(b, b).diagonal()[:3] == pytest.approx([1, 1, 1])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_matches_the_reference(seed, thr):
    rng = np.random.default_rng(seed)
    boxes, scores, labels = random_boxes(rng, 150)
    got = nms(boxes, scores, labels, thr)
    assert got.tolist() == reference_nms(boxes, scores, labels, thr)


def test_nms_is_class_aware_and_stops_at_max_keep():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    labels = np.array([0, 0, 1, 0])
    assert nms(boxes, scores, labels, 0.5).tolist() == [0, 2, 3]
    assert nms(boxes, scores, labels, 0.5, max_keep=2).tolist() == [0, 2]
    assert nms(boxes, scores, np.zeros(4), 0.5).tolist() == [0, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0), 0.5).tolist() == []


def test_postprocess_threshold_classes_and_cap():
    dets = Detections(
        [[0, 0, 10, 10], [100, 0, 110, 10], [0, 100, 10, 110], [1, 0, 11, 10]], [0.2, 0.9, 0.5, 0.6], [0, 1, 2, 0]
    )
    out = postprocess(dets, DetectionSettings(score_threshold=0.3))
    assert out.scores.tolist() == pytest.approx([0.9, 0.6, 0.5]) and out.labels.tolist() == [1, 0, 2]
    out = postprocess(dets, DetectionSettings(score_threshold=0.0, keep=(0, 2)))
    assert out.labels.tolist() == [0, 2]  # the 0.2 box of class 0 lost to the overlapping 0.6 one
    out = postprocess(dets, DetectionSettings(score_threshold=0.0, max_detections=1), run_nms=False)
    assert out.scores.tolist() == pytest.approx([0.9])


def test_detections_check_their_arrays():
    with pytest.raises(ValueError, match="as many boxes, scores and labels"):
        Detections(np.zeros((2, 4)), [0.5], [0, 1])
    assert len(Detections.empty()) == 0
    inst = Detections([[1, 2, 3, 4]], [0.5], [1]).to_instances(("person", "dog"))
    assert inst[0].label == "dog" and inst[0].bbox.dtype == np.float32 and inst[0].score == 0.5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score_threshold", 1.5, "score_threshold must be in"),
        ("nms_iou", 0.0, "nms_iou must be in"),
        ("max_detections", 0, "max_detections must be"),
    ],
)
def test_settings_are_checked(field, value, message):
    with pytest.raises(ValueError, match=message):
        DetectionSettings(**{field: value})


def test_class_names_to_indices_with_helpful_errors():
    assert class_indices(["dog", "person"], COCO80_CLASSES) == (0, 16)
    assert class_indices([], COCO80_CLASSES) is None
    message = unknown_classes_message(["persn", "dgo", "person", "unicorn"], COCO80_CLASSES)
    assert message is not None
    assert message.startswith("unknown classes 'persn' (did you mean 'person'?), 'dgo' (did you mean 'dog'")
    assert "'unicorn'; the model's classes: person, bicycle," in message and message.endswith("toothbrush")
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        class_indices(["cat"], ("person",))
