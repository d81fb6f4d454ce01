"""TopdownPoseEstimator as a plain class: which instances it serves, new frames, validation-time checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.models import ModelCard
from flowpose.nodes.pose_estimator import TopdownPoseEstimator
from pose_models import build_marker_model, marker_card, marker_scene

BOXES = [[40, 60, 160, 300], [300, 100, 420, 220], [520, 300, 680, 500]]
SPOTS = [
    [(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)],
    [(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)],
    [(0.2, 0.2), (0.5, 0.5), (0.3, 0.8)],
]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pose") / "people.onnx"
    return build_marker_model(path, "simcc", card=marker_card("simcc", labels=("person",)))


@pytest.fixture(scope="module")
def scene():
    image, boxes, expected = marker_scene((640, 480), BOXES, SPOTS)
    image.setflags(write=False)
    return image, boxes, expected


def make_node(model: Path, **params) -> TopdownPoseEstimator:
    node = TopdownPoseEstimator("pose", {"model": str(model), "intra_op_threads": 1, **params})
    node.setup()
    return node


def frame_with(image, boxes, labels, scores=None) -> Frame:
    scores = scores or [0.9] * len(boxes)
    instances = tuple(Instance(b, score=s, label=lab) for b, lab, s in zip(boxes, labels, scores, strict=True))
    return Frame(7, 0, "cam", image, instances=instances, meta={"k": 1})


def test_serves_its_labels_and_leaves_the_others_alone(model, scene) -> None:
    image, boxes, expected = scene
    frame = frame_with(image, boxes, ["person", "dog", "person"])
    node = make_node(model)
    out = node.process(frame)
    assert out is not frame and out.image is frame.image and out.meta == frame.meta
    assert all(i.keypoints is None for i in frame.instances)  # the input frame did not change
    person_a, dog, person_b = out.instances
    assert dog is frame.instances[1]
    for inst, exp in ((person_a, expected[0]), (person_b, expected[2])):
        assert inst.layout == "coco17" and inst.keypoints.shape == (17, 2) and inst.keypoint_scores.shape == (17,)
        assert np.linalg.norm(inst.keypoints - exp, axis=-1).max() < 1.0
        assert inst.label == "person" and inst.score == 0.9
    assert node.counters["crops"] == 2 and node.counters["runs"] == 1
    assert set(node.timing_summary()) == {"preprocess", "inference", "decode"}
    node.close()


def test_labels_param_overrides_the_card(model, scene) -> None:
    image, boxes, expected = scene
    out = make_node(model, labels=["dog"], flip_test=True).process(frame_with(image, boxes, ["person", "dog", "cat"]))
    assert [i.keypoints is not None for i in out.instances] == [False, True, False]
    assert np.linalg.norm(out.instances[1].keypoints - expected[1], axis=-1).max() < 1.0


def test_frame_without_served_instances_passes_through(model, scene) -> None:
    frame = frame_with(scene[0], scene[1], ["cat", "dog", "cow"])
    node = make_node(model)
    assert node.process(frame) is frame and node.counters["runs"] == 0


def test_max_instances_keeps_the_best_scores_and_bad_boxes_are_skipped(model, scene) -> None:
    image, boxes, _ = scene
    frame = frame_with(image, [*boxes, [5, 5, 5, 50]], ["person"] * 4, scores=[0.3, 0.9, 0.8, 1.0])
    node = make_node(model, max_instances=2)
    out = node.process(frame)
    assert [i.keypoints is not None for i in out.instances] == [False, True, True, False]
    assert node.counters["over_max"] == 1 and node.counters["bad_boxes"] == 1


def graph(model_ref: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        nodes:
          - {{name: scene, type: SyntheticScene, outputs: [frames], params: {{count: 1, live: false}}}}
          - name: pose
            type: TopdownPoseEstimator
            inputs: [frames]
            outputs: [poses]
            params: {{model: '{model_ref}'{extra}}}
          - {{name: sink, type: NullSink, inputs: [poses]}}
        """)


def problems(text: str) -> str:
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    return str(info.value)


def test_validation_offline_names_url_and_path_of_a_zoo_model_not_downloaded(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path))  # and offline: tests/conftest.py
    text = problems(graph("zoo:rtmpose-m-body7"))
    assert "pose" in text and "params.model" in text
    assert "onnx_sdk/rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip, extract 'end2end.onnx'" in text
    assert f"save it as {tmp_path / 'rtmpose-m-body7.onnx'}" in text


def test_validation_problems_with_the_model(tmp_path, model) -> None:
    assert "model file not found" in problems(graph(str(tmp_path / "missing.onnx")))
    bare = build_marker_model(tmp_path / "end2end.onnx", "simcc")
    assert "no model card applies" in problems(graph(str(bare)))
    assert "'rtmpose' is not a pose preset; pose presets: ['rtmpose_simcc']" in problems(
        graph(str(bare), ", preset: rtmpose")
    )
    assert "'yolox' is not a pose preset" in problems(graph(str(bare), ", preset: yolox"))
    validate_text(graph(str(bare), ", preset: rtmpose_simcc"), "g.yaml")  # fine with the preset
    det = ModelCard(task="detection", input_size=(192, 256), classes=("person",), decoder="rtmdet_end2end")
    det_model = build_marker_model(tmp_path / "det.onnx", "simcc", card=det)
    assert "needs a pose model" in problems(graph(str(det_model)))
    assert "params.flip_test" in problems(graph(str(model), ", flip_test: maybe"))
    validate_text(graph(str(model)), "g.yaml")
