"""Choosing a detector and checking the choice before anything runs: models, zoo, cards, classes, HOG."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from flowpose.detection import DetectorConfig, HogDetector, OnnxDetector, check_config, open_detector
from flowpose.zoo import INDEX_ENV, ModelNotFoundError

pytest.importorskip("onnx")
from onnx_models import EncodedBox, yolox_raw_model


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("FLOWPOSE_CACHE", str(path))
    monkeypatch.delenv(INDEX_ENV, raising=False)
    return path


@pytest.fixture
def yolox_file(tmp_path):
    return yolox_raw_model(tmp_path / "det.onnx", [EncodedBox(200, 150, 100, 200, score=0.9)])


def test_a_missing_file_is_a_model_problem(tmp_path):
    problems = check_config(DetectorConfig(str(tmp_path / "nope.onnx"), preset="yolox"))
    assert problems == [("model", f"model file not found: {tmp_path / 'nope.onnx'}")]


def test_a_zoo_model_not_downloaded_offline_names_url_and_path_and_still_checks_classes(cache):
    problems = check_config(DetectorConfig("zoo:yolox-nano", classes=("person", "dgo")))  # offline: tests/conftest.py
    assert [field for field, _ in problems] == ["model", "classes"]
    assert problems[0][1].endswith(f"yolox_nano.onnx and save it as {cache / 'yolox_nano.onnx'}")
    assert "'dgo' (did you mean 'dog'?)" in problems[1][1]


def test_an_index_zoo_model_not_downloaded_names_its_url(cache, tmp_path, monkeypatch):
    index = tmp_path / "zoo.yaml"
    index.write_text("my-det:\n  url: https://example.com/det.onnx\n  filename: det.onnx\n  card: {preset: yolox}\n")
    monkeypatch.setenv(INDEX_ENV, str(index))
    ((field, message),) = check_config(DetectorConfig("zoo:my-det"))
    assert field == "model"
    assert message.endswith(f"download https://example.com/det.onnx and save it as {cache / 'det.onnx'}")


def test_an_unknown_zoo_name_suggests_the_close_one(cache):
    ((field, message),) = check_config(DetectorConfig("zoo:yolox-nan"))
    assert field == "model" and "did you mean 'yolox-nano'?" in message


def test_a_downloaded_zoo_model_opens_with_its_card(cache, yolox_file, tmp_path, monkeypatch):
    # An index entry without a digest: the real yolox-nano's pin would (rightly) reject this stand-in.
    index = tmp_path / "zoo.yaml"
    index.write_text("my-det:\n  url: https://example.com/det.onnx\n  filename: det.onnx\n  card: {preset: yolox}\n")
    monkeypatch.setenv(INDEX_ENV, str(index))
    cache.mkdir()
    shutil.copy(yolox_file, cache / "det.onnx")  # as if it had been downloaded (pinned when first seen)
    config = DetectorConfig("zoo:my-det", classes=("person",), intra_op_threads=1)
    assert check_config(config) == []
    detector = open_detector(config)
    assert isinstance(detector, OnnxDetector) and detector.settings.keep == (0,)
    assert len(detector.detect(np.full((300, 400, 3), 255, np.uint8))) == 1
    detector.close()


def test_a_file_without_card_needs_a_preset(yolox_file):
    ((field, message),) = check_config(DetectorConfig(str(yolox_file)))
    assert field == "model" and "no model card applies" in message and "'yolox'" in message
    assert check_config(DetectorConfig(str(yolox_file), preset="yolox")) == []
    ((field, message),) = check_config(DetectorConfig(str(yolox_file), preset="yolo"))
    assert field == "preset" and "did you mean 'yolox'?" in message


def test_bad_class_names_are_checked_against_the_card(yolox_file):
    ((field, message),) = check_config(DetectorConfig(str(yolox_file), preset="yolox", classes=("persons",)))
    assert field == "classes" and message.startswith("unknown class 'persons' (did you mean 'person'?)")
    assert "the model's classes: person, bicycle, car" in message
    with pytest.raises(ValueError, match="unknown class 'persons'"):
        open_detector(DetectorConfig(str(yolox_file), preset="yolox", classes=("persons",)))


def test_a_pose_model_is_not_a_detector(tmp_path):
    path = yolox_raw_model(tmp_path / "pose.onnx", input_size=(192, 256))
    (tmp_path / "pose.card.yaml").write_text("preset: rtmpose_simcc\ninput_name: images\noutput_names: [output]\n")
    ((field, message),) = check_config(DetectorConfig(str(path)))
    assert field == "model" and message == f"{path}: this is a pose model; a Detector needs a detection model"


def test_unknown_providers_are_named(yolox_file):
    problems = check_config(DetectorConfig(str(yolox_file), preset="yolox", providers=["cuda", "tpu"]))
    assert problems == [("providers", "unknown execution provider 'tpu'; use one of ['cpu', 'cuda', 'tensorrt']")]


def test_opening_a_missing_model_raises_the_zoo_error(cache):
    with pytest.raises(ModelNotFoundError, match=r"downloads are off .*/yolox_nano\.onnx"):
        open_detector(DetectorConfig("zoo:yolox-nano"))


def test_hog_needs_no_model_and_finds_only_people():
    assert check_config(DetectorConfig("hog", classes=("person",))) == []
    problems = check_config(DetectorConfig("hog", preset="yolox", classes=("dog",)))
    assert [f for f, _ in problems] == ["preset", "classes"]
    assert "unknown class 'dog'; the model's classes: person" in problems[1][1]
    detector = open_detector(DetectorConfig("hog"))
    assert isinstance(detector, HogDetector) and detector.classes == ("person",)
    assert len(detector.detect(np.full((240, 320, 3), 90, np.uint8))) == 0  # a flat image holds nobody


def test_hog_arguments_are_checked():
    with pytest.raises(ValueError, match="work_height must be >= 128"):
        HogDetector(work_height=100)
    with pytest.raises(ValueError, match="border must be in"):
        HogDetector(border=2)
    with pytest.raises(ValueError, match="pyramid_scale must be > 1"):
        HogDetector(pyramid_scale=1.0)
