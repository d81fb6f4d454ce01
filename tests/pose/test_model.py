"""TopdownModel end to end on marker models: keypoints come back where the markers were drawn.

The marker models (tests/support/pose_models.py) have the foreign signatures (RTMPose SimCC
and a stride-4 heatmap model), so these tests check crop, normalisation and colour order,
batching, decode and the inverse affine together, in image pixels.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from flowpose.models import ModelCard, inspect_model
from flowpose.pose import TopdownModel, open_pose_model
from flowpose.zoo import ModelNotFoundError
from pose_models import build_marker_model, marker_card, marker_scene

# Three boxes: tall, square (the crop widens in height) and one hanging off the image corner.
BOXES = [[40, 60, 160, 300], [300, 100, 420, 220], [520, 300, 680, 500]]
SPOTS = [
    [(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)],
    [(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)],
    [(0.2, 0.2), (0.5, 0.5), (0.3, 0.8)],
]
# SimCC decodes to the nearest half crop pixel (~1.2 image pixels per crop pixel here);
# the heatmap model's blobs are refined by DARK.
TOLERANCE_PX = {"simcc": 1.0, "heatmap": 0.25}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pose_models")
    return {
        "simcc": build_marker_model(d / "simcc.onnx", "simcc", card=marker_card("simcc")),
        "heatmap": build_marker_model(d / "heatmap.onnx", "heatmap", card=marker_card("heatmap")),
        "simcc_b1": build_marker_model(d / "simcc_b1.onnx", "simcc", batch=1, card=marker_card("simcc")),
        "bare": build_marker_model(d / "end2end.onnx", "simcc"),
    }


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image, boxes, expected = marker_scene((640, 480), BOXES, SPOTS)
    image.setflags(write=False)  # as frames arrive
    return image, boxes, expected


@pytest.mark.parametrize("kind", ["simcc", "heatmap"])
@pytest.mark.parametrize("flip", [False, True])
def test_keypoints_land_on_the_markers_in_image_pixels(models, scene, kind, flip) -> None:
    image, boxes, expected = scene
    model = TopdownModel(open_pose_model(models[kind]), intra_op_threads=1)
    result = model(image, boxes, flip=flip)
    assert result.keypoints.shape == (3, 17, 2) and result.scores.shape == (3, 17)
    err = np.linalg.norm(result.keypoints - expected, axis=-1)
    assert err.max() < TOLERANCE_PX[kind], err.max()
    assert result.timings.runs == 1  # all crops (and their mirrors) in one session.run


@pytest.mark.parametrize("kind", ["simcc", "heatmap"])
def test_flip_test_agrees_with_the_plain_pass_on_a_mirror_consistent_model(models, scene, kind) -> None:
    image, boxes, _ = scene
    model = TopdownModel(open_pose_model(models[kind]), intra_op_threads=1)
    plain, flipped = model(image, boxes).keypoints, model(image, boxes, flip=True).keypoints
    assert np.abs(plain - flipped).max() < 0.1


def test_batched_equals_one_box_at_a_time(models, scene) -> None:
    image, boxes, _ = scene
    model = TopdownModel(open_pose_model(models["heatmap"]), intra_op_threads=1)
    batched = model(image, boxes)
    singles = np.concatenate([model(image, box[None]).keypoints for box in boxes])
    np.testing.assert_allclose(batched.keypoints, singles, atol=1e-4)


def test_fixed_batch_model_runs_crop_by_crop_with_one_warning(models, scene, caplog) -> None:
    image, boxes, expected = scene
    model = TopdownModel(open_pose_model(models["simcc_b1"]), intra_op_threads=1)
    assert model.spec.fixed_batch == 1
    with caplog.at_level(logging.WARNING, logger="flowpose.pose.model"):
        first = model(image, boxes, flip=True)
        model(image, boxes)
    assert first.timings.runs == 6
    assert len([r for r in caplog.records if "fixed batch of 1" in r.getMessage()]) == 1
    dynamic = TopdownModel(open_pose_model(models["simcc"]), intra_op_threads=1)
    np.testing.assert_allclose(first.keypoints, dynamic(image, boxes, flip=True).keypoints, atol=1e-4)
    assert np.linalg.norm(first.keypoints - expected, axis=-1).max() < TOLERANCE_PX["simcc"]


def test_cardless_rtmpose_export_runs_with_the_preset(models, scene) -> None:
    io = inspect_model(models["bare"])
    assert io.inputs == [("input", ["N", 3, 256, 192])]
    assert io.outputs == [("simcc_x", ["N", 17, 384]), ("simcc_y", ["N", 17, 512])]
    spec = open_pose_model(models["bare"], preset="rtmpose_simcc")
    assert spec.card_source == "preset" and spec.output_names == ("simcc_x", "simcc_y")
    image, boxes, expected = scene
    result = TopdownModel(spec, intra_op_threads=1)(image, boxes)
    assert np.linalg.norm(result.keypoints - expected, axis=-1).max() < TOLERANCE_PX["simcc"]


def test_bgr_model_with_a_bgr_card(tmp_path, scene) -> None:
    card = marker_card("simcc", color_order="bgr", mean=(103.53, 116.28, 123.675), std=(57.375, 57.12, 58.395))
    path = build_marker_model(tmp_path / "bgr.onnx", "simcc", card=card, color_order="bgr")
    image, boxes, expected = scene
    result = TopdownModel(open_pose_model(path), intra_op_threads=1)(image, boxes)
    assert np.linalg.norm(result.keypoints - expected, axis=-1).max() < TOLERANCE_PX["simcc"]


def test_a_colour_order_mixup_is_caught_by_these_checks(tmp_path, scene) -> None:
    """The check can fail: a model that reads BGR described by an RGB card finds the wrong markers."""
    path = build_marker_model(tmp_path / "mixed.onnx", "simcc", card=marker_card("simcc"), color_order="bgr")
    image, boxes, expected = scene
    result = TopdownModel(open_pose_model(path), intra_op_threads=1)(image, boxes)
    assert np.linalg.norm(result.keypoints - expected, axis=-1).max() > 20


def test_no_boxes_gives_empty_arrays(models, scene) -> None:
    result = TopdownModel(open_pose_model(models["simcc"]), intra_op_threads=1)(scene[0], np.zeros((0, 4)))
    assert result.keypoints.shape == (0, 17, 2) and result.timings.runs == 0


def test_open_pose_model_errors(tmp_path, models, monkeypatch) -> None:
    with pytest.raises(ModelNotFoundError, match="model file not found"):
        open_pose_model(tmp_path / "nope.onnx")
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelNotFoundError, match=r"downloads are off .* save it as .*rtmpose-m-body7\.onnx"):
        open_pose_model("zoo:rtmpose-m-body7")  # offline: tests/conftest.py
    with pytest.raises(ValueError, match="no model card applies"):
        open_pose_model(models["bare"])
    detection = ModelCard(task="detection", input_size=(192, 256), classes=("person",), decoder="rtmdet_end2end")
    det_path = build_marker_model(tmp_path / "det.onnx", "simcc", card=detection)
    with pytest.raises(ValueError, match="describes a detection model; TopdownPoseEstimator needs a pose model"):
        open_pose_model(det_path)
    wrong = marker_card("heatmap", layout="coco17")
    wrong = ModelCard.from_dict({**wrong.to_dict(), "codec": {**wrong.codec, "heatmap_size": [24, 32]}})
    bad = build_marker_model(tmp_path / "hm.onnx", "heatmap", card=wrong)
    with pytest.raises(
        ValueError, match=r"output 'heatmaps' has shape \['N', 17, 64, 48\]; .* expects \[N, 17, 32, 24\]"
    ):
        open_pose_model(bad)
