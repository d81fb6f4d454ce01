"""``pose(image)`` on synthetic scenes with the packaged models: what is found, where, and in which shapes."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from api_support import PACKAGED, truth_boxes

from flowpose import Instance
from flowpose.api import Pose, PoseResult
from flowpose.api.models import model_ref, providers_for
from flowpose.geometry import box_iou
from flowpose.zoo import ZooError


def test_finds_the_person_and_the_animal_where_the_scene_put_them(pose, scene):
    frame = scene[0]
    result = pose(frame.image)
    animal = next(o.label for o in frame.objects if o.label != "person")
    for label in ("person", animal):
        mine = result.boxes[[i for i, lab in enumerate(result.labels) if lab == label]]
        assert len(mine), f"no {label} found; got {result.labels}"
        assert box_iou(mine, truth_boxes(frame, label)).max() > 0.5
    person = result.labels.index("person")
    # The keypoints land on the figure: most of them inside its (slightly enlarged) true box.
    x1, y1, x2, y2 = truth_boxes(frame, "person")[0]
    kx, ky = result.keypoints[person].T
    inside = (kx > x1 - 10) & (kx < x2 + 10) & (ky > y1 - 10) & (ky < y2 + 10)
    assert inside.mean() > 0.8


def test_arrays_have_one_row_per_instance_and_match_the_instances(pose, scene):
    result = pose(scene[0].image)
    n = len(result)
    assert n >= 2
    assert result.boxes.shape == (n, 4) and result.boxes.dtype == np.float32
    assert result.scores.shape == (n,) and result.track_ids.shape == (n,)
    assert result.keypoints.shape == (n, 17, 2) and result.keypoint_scores.shape == (n, 17)
    assert (result.track_ids == -1).all()  # a single image is not tracked
    assert list(result.scores) == sorted(result.scores, reverse=True)  # the detector's order
    for i, inst in enumerate(result):
        assert isinstance(inst, Instance)
        np.testing.assert_array_equal(inst.keypoints, result.keypoints[i])
        assert inst.label == result.labels[i] and inst.layout == result.layouts[i]
    assert {result.layouts[i] for i, lab in enumerate(result.labels) if lab == "person"} == {"coco17"}
    assert {result.layouts[i] for i, lab in enumerate(result.labels) if lab != "person"} == {"ap10k"}
    assert result[0] is result.instances[0]
    assert result.image is scene[0].image and result.frame_index == 0 and result.source == "image"


def test_to_coco_gives_valid_results(pose, scene):
    result = pose(scene[0].image)
    coco = result.to_coco(image_id=42)
    assert len(coco) == len(result)
    for record, inst in zip(coco, result, strict=True):
        assert record["image_id"] == 42
        assert record["category_id"] == {"person": 1, "cat": 17, "dog": 18, "horse": 19}[inst.label]
        x, y, w, h = record["bbox"]
        np.testing.assert_allclose([x, y, x + w, y + h], inst.bbox, atol=0.02)
        assert record["score"] == pytest.approx(inst.score, abs=1e-4)
        flat = np.array(record["keypoints"]).reshape(-1, 3)
        np.testing.assert_allclose(flat[:, :2], inst.keypoints, atol=0.01)
        np.testing.assert_allclose(flat[:, 2], inst.keypoint_scores, atol=1e-4)
    assert result.to_coco()[0]["image_id"] == result.frame_index
    assert result.to_coco(categories={"person": 7})[result.labels.index("person")]["category_id"] == 7


def test_draw_annotates_a_copy(pose, scene):
    image = scene[0].image
    before = image.copy()
    result = pose(image)
    drawn = result.draw()
    np.testing.assert_array_equal(image, before)  # the input is never drawn on
    assert drawn.shape == image.shape and drawn.flags.writeable
    changed = (drawn != image).any(axis=2)
    x1, y1, x2, y2 = result.boxes[0].round().astype(int)
    assert changed[y1 : y2 + 1, x1 : x2 + 1].sum() > 200  # the box outline and skeleton, at least
    bare = result.draw(boxes=False, labels=False, skeleton=False, keypoints=False)
    np.testing.assert_array_equal(bare, image)  # every layer off: nothing drawn
    with pytest.raises(ValueError, match="no image"):
        PoseResult.from_instances(result.instances).draw()


def test_a_path_works_like_the_array(pose, scene, tmp_path: Path):
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), scene[0].image)
    np.testing.assert_allclose(pose(path).keypoints, pose(scene[0].image).keypoints, atol=1e-3)
    grey = pose(cv2.cvtColor(scene[0].image, cv2.COLOR_BGR2GRAY))
    assert grey.image.shape == scene[0].image.shape
    with pytest.raises(FileNotFoundError):
        pose(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="uint8"):
        pose(scene[0].image.astype(np.float32))


def test_given_boxes_replace_the_detector(pose, scene):
    frame = scene[0]
    box = truth_boxes(frame, "person")
    result = pose(frame.image, boxes=box)
    assert result.labels == ("person",) and result.layouts == ("coco17",)
    np.testing.assert_array_equal(result.boxes, box)
    with pytest.raises(ValueError, match="2 labels"):
        pose(frame.image, boxes=box, labels=["person", "dog"])


def test_switched_off_models_leave_their_instances_without_keypoints(scene):
    with Pose(
        detector=PACKAGED["detector"],
        people=None,
        animals=PACKAGED["animals"],
        classes=["person", "dog", "cat", "horse"],
    ) as pose:
        result = pose(scene[0].image)
    person = result.labels.index("person")
    animal = next(i for i, lab in enumerate(result.labels) if lab != "person")
    assert np.isnan(result.keypoints[person]).all() and np.isnan(result.keypoint_scores[person]).all()
    assert result.layouts[person] == "" and result[person].keypoints is None
    assert np.isfinite(result.keypoints[animal]).all() and result.layouts[animal] == "ap10k"
    assert "keypoints" not in result.to_coco()[person]


def test_default_classes_are_what_the_pose_models_serve():
    with Pose(detector=PACKAGED["detector"], people=PACKAGED["people"], animals=False) as pose:
        assert pose.classes == ("person",)
    with Pose(detector=PACKAGED["detector"], people=None, animals=None) as pose:
        assert pose.classes == ()  # detection only: every class
    with Pose(**PACKAGED, detector_params={"classes": ["dog"]}) as pose:
        assert pose.classes == ("dog",)


def test_without_a_detector_the_whole_image_is_one_instance(scene):
    frame = scene[0]
    x1, y1, x2, y2 = truth_boxes(frame, "person")[0].astype(int)
    crop = np.ascontiguousarray(frame.image[y1:y2, x1:x2])
    with Pose(detector=None, people=PACKAGED["people"], animals=None) as pose:
        result = pose(crop)
    assert result.labels == ("person",)
    np.testing.assert_array_equal(result.boxes[0], [0, 0, crop.shape[1], crop.shape[0]])
    assert np.isfinite(result.keypoints).all()


def test_instances_with_different_keypoint_counts_are_nan_padded():
    five = Instance(bbox=[0, 0, 10, 10], label="mouse", keypoints=np.ones((5, 2)), layout="openfield")
    seventeen = Instance(bbox=[0, 0, 20, 20], label="person", keypoints=np.zeros((17, 2)), layout="coco17")
    bare = Instance(bbox=[1, 1, 5, 5], label="car")
    result = PoseResult.from_instances([five, seventeen, bare])
    assert result.keypoints.shape == (3, 17, 2) and result.keypoint_scores.shape == (3, 17)
    assert np.isnan(result.keypoints[0, 5:]).all() and (result.keypoints[0, :5] == 1).all()
    assert np.isnan(result.keypoint_scores[2]).all()
    assert result.layouts == ("openfield", "coco17", "")
    assert [len(c.get("keypoints", [])) for c in result.to_coco()] == [15, 51, 0]
    assert result.to_coco()[0]["category_id"] == 1000  # no COCO category: the first extra id
    empty = PoseResult.from_instances([])
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.keypoints.shape == (0, 0, 2)


def test_model_and_device_arguments():
    assert model_ref("flowpose-person", what="people") == "zoo:flowpose-person"
    assert model_ref("zoo:yolox-nano", what="detector") == "zoo:yolox-nano"
    assert model_ref("models/my.onnx", what="people") == "models/my.onnx"
    assert model_ref(False, what="people") is None
    with pytest.raises(TypeError):
        model_ref(True, what="people")
    assert providers_for("CUDA:1") == "cuda" and providers_for("gpu") == "cuda" and providers_for("cpu") == "cpu"
    with pytest.raises(ValueError, match="device="):
        providers_for("tpu")


def test_bad_arguments_fail_at_construction_with_the_reason(tmp_path: Path):
    with pytest.raises(ZooError, match="did you mean 'flowpose-person'"):
        Pose(detector=PACKAGED["detector"], people="flowpose-persn", animals=None)
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx"):
        Pose(detector=PACKAGED["detector"], people=str(tmp_path / "missing.onnx"), animals=None)
    with pytest.raises(ValueError, match="unknown class"):
        Pose(**PACKAGED, classes=["giraffe"])
    with pytest.raises(ValueError, match="score_threshold"):
        Pose(**PACKAGED, score_threshold=2.0)
    with pytest.raises(ValueError, match="interval must be 1"):
        Pose(**PACKAGED, detector_params={"interval": 3})
    with pytest.raises(ValueError, match="nothing to do"):
        Pose(people=None, animals=None, detector=None)


def test_a_closed_pose_refuses_work(scene):
    pose = Pose(**PACKAGED)
    assert math.isfinite(float(pose(scene[0].image).scores[0]))
    pose.close()
    with pytest.raises(RuntimeError, match="closed"):
        pose(scene[0].image)
