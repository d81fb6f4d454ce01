"""Decoders on real ONNX Runtime sessions of models with the foreign exports' exact signatures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowpose.detection import (
    DECODER_TYPES,
    DetectionSettings,
    OnnxDetector,
    YoloxDecoder,
    build_decoder,
)
from flowpose.models import DECODERS, preset_card, resolve_card

pytest.importorskip("onnx")
from onnx_models import (
    EncodedBox,
    EndToEndBox,
    rtmdet_end2end_model,
    yolox_anchor_count,
    yolox_raw_model,
)

WHITE = np.full((480, 640, 3), 255, np.uint8)
# A white 640x480 image letterboxed into 416x416: 312 rows of 255, 104 of padding 114.
WHITE_LEVEL = (255 * 312 + 114 * 104) / 416


def open_detector(path: Path, preset: str, **settings) -> OnnxDetector:
    card = resolve_card(path, preset=preset)
    return OnnxDetector(path, card, DetectionSettings(**settings), intra_op_threads=1)


def test_every_card_decoder_has_an_implementation():
    assert set(DECODERS) == set(DECODER_TYPES)


def test_yolox_anchor_rows_match_the_real_export():
    assert yolox_anchor_count((416, 416)) == 3549  # yolox_nano.onnx: output [1, 3549, 85]
    decoder = build_decoder(preset_card("yolox"))
    assert isinstance(decoder, YoloxDecoder) and len(decoder.grid) == 3549
    assert decoder.grid[52 * 52].tolist() == [0, 0] and decoder.stride[52 * 52, 0] == 16  # strides in order
    assert decoder.grid[53].tolist() == [1, 1]  # row-major: x varies fastest


@pytest.mark.parametrize(("align", "offset_y"), [("top_left", 0), ("center", 52)])
def test_yolox_box_at_known_anchor_lands_on_image_pixels(tmp_path, align, offset_y):
    boxes = [
        EncodedBox(208, 104 + offset_y, 130, 65, label=0, score=0.9, stride=8),
        EncodedBox(100, 200 + offset_y, 64, 96, label=16, score=0.8, stride=32),
    ]
    path = yolox_raw_model(tmp_path / "yolox.onnx", boxes, background=0.05)
    (tmp_path / "yolox.card.yaml").write_text(f"preset: yolox\npad_align: {align}\n")
    detector = OnnxDetector(path, resolve_card(path), DetectionSettings(score_threshold=0.3), intra_op_threads=1)
    dets = detector.detect(WHITE)
    assert [detector.classes[i] for i in dets.labels] == ["person", "dog"]
    assert dets.scores == pytest.approx([0.9 * WHITE_LEVEL / 255, 0.8 * WHITE_LEVEL / 255], rel=1e-4)
    # Model pixels -> image pixels: minus the padding offset, divided by the letterbox ratio 0.65.
    expected = [(b.xyxy - [0, offset_y, 0, offset_y]) / 0.65 for b in boxes]
    assert dets.boxes == pytest.approx(np.stack(expected), abs=0.05)


def test_yolox_scores_follow_the_image(tmp_path):
    path = yolox_raw_model(tmp_path / "y.onnx", [EncodedBox(200, 200, 80, 160, score=0.9)])
    detector = open_detector(path, "yolox", score_threshold=0.3)
    assert len(detector.detect(np.zeros((416, 416, 3), np.uint8))) == 0  # objectness 0 on black
    grey = detector.detect(np.full((416, 416, 3), 128, np.uint8))
    assert grey.scores == pytest.approx([0.9 * 128 / 255], rel=1e-4)


def test_yolox_threshold_nms_and_cap(tmp_path):
    boxes = [
        EncodedBox(100, 100, 80, 80, score=0.9),
        EncodedBox(108, 100, 80, 80, score=0.8),  # same person, next grid point: suppressed
        EncodedBox(108, 100, 80, 80, label=16, score=0.7, stride=16),  # a dog there is not
        EncodedBox(300, 300, 50, 50, score=0.6),
        EncodedBox(350, 60, 40, 40, score=0.35),
    ]
    path = yolox_raw_model(tmp_path / "y.onnx", boxes, background=0.2)
    square = np.full((416, 416, 3), 255, np.uint8)
    dets = open_detector(path, "yolox", score_threshold=0.3, nms_iou=0.45).detect(square)
    assert dets.scores == pytest.approx([0.9, 0.7, 0.6, 0.35], rel=1e-4)
    assert dets.labels.tolist() == [0, 16, 0, 0]
    capped = open_detector(path, "yolox", score_threshold=0.5, max_detections=2).detect(square)
    assert capped.scores == pytest.approx([0.9, 0.7], rel=1e-4)
    loose = open_detector(path, "yolox", score_threshold=0.1, nms_iou=0.99).detect(square)
    assert len(loose) == 100  # the 0.2 background points too, cut at max_detections


def test_yolox_class_filter_keeps_the_best_kept_class(tmp_path):
    path = yolox_raw_model(tmp_path / "y.onnx", [EncodedBox(100, 100, 80, 80, label=16, score=0.9)])
    square = np.full((416, 416, 3), 255, np.uint8)
    assert len(open_detector(path, "yolox", keep=(0,)).detect(square)) == 0
    dogs = open_detector(path, "yolox", keep=(0, 16)).detect(square)
    assert dogs.labels.tolist() == [16]


def test_yolox_wrong_output_shape_is_named(tmp_path):
    path = yolox_raw_model(tmp_path / "y.onnx", num_classes=3)
    card = preset_card("yolox", classes=["a", "b", "c", "d"])
    detector = OnnxDetector(path, card, intra_op_threads=1)
    with pytest.raises(ValueError, match=r"y\.onnx: YOLOX output has shape \(1, 3549, 8\); expected \[1, 3549, 9\]"):
        detector.detect(WHITE)


def test_rtmdet_end2end_decodes_scores_labels_and_drops_padding(tmp_path):
    rows = [
        EndToEndBox(100, 80, 300, 400, score=0.9, label=0),
        EndToEndBox(400, 300, 600, 420, score=0.8, label=17),
        EndToEndBox(10, 10, 40, 40, score=0.2, label=0),
    ]
    path = rtmdet_end2end_model(tmp_path / "end2end.onnx", rows, num_rows=8)
    detector = open_detector(path, "rtmdet_end2end", score_threshold=0.1)
    image = np.full((480, 640, 3), 200, np.uint8)  # 640x640 input: no resize, 160 rows of padding
    mean, std = np.array(detector.card.mean), np.array(detector.card.std)
    level = np.mean(((200 - mean) / std * 480 + (114 - mean) / std * 160) / 640)  # the normalised input's mean
    gate = 1 / (1 + np.exp(-level))
    dets = detector.detect(image)
    assert [detector.classes[i] for i in dets.labels] == ["person", "horse", "person"]
    assert dets.scores == pytest.approx([0.9 * gate, 0.8 * gate, 0.2 * gate], rel=1e-3)  # float32 sums
    assert dets.boxes[1].tolist() == pytest.approx([400, 300, 600, 420])  # clipped to the 480-row image
    assert len(open_detector(path, "rtmdet_end2end", keep=(17,)).detect(image)) == 1
    dark = open_detector(path, "rtmdet_end2end", score_threshold=0.3).detect(np.zeros((640, 640, 3), np.uint8))
    assert len(dark) == 0  # sigmoid of a very negative normalised mean gates every score


def test_rtmdet_end2end_rejects_foreign_outputs(tmp_path):
    path = yolox_raw_model(tmp_path / "y.onnx", input_size=(640, 640))
    card = preset_card("rtmdet_end2end", input_name="images", output_names=["output"])
    with pytest.raises(ValueError, match="needs two outputs"):
        OnnxDetector(path, card, intra_op_threads=1).detect(WHITE)


def test_a_pose_card_cannot_drive_a_detector():
    with pytest.raises(ValueError, match="needs a detection card"):
        build_decoder(preset_card("rtmpose_simcc"))
