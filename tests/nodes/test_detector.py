"""The Detector node on its own (no runtime) and at validation: instances, meta, interval mode, problems."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.detector import Detector
from flowpose.zoo import INDEX_ENV

pytest.importorskip("onnx")
from onnx_models import EncodedBox, yolox_raw_model

WHITE = np.full((240, 320, 3), 255, np.uint8)
# 320x240 letterboxed to 416x416: ratio 1.3, 312 rows of image.
BOXES = [EncodedBox(130, 104, 104, 156, label=0, score=0.9), EncodedBox(300, 200, 52, 52, label=16, score=0.8)]


@pytest.fixture
def model(tmp_path):
    path = yolox_raw_model(tmp_path / "det.onnx", BOXES)
    (tmp_path / "det.card.yaml").write_text("preset: yolox\n")
    return path


def make(model, **params) -> Detector:
    node = Detector("det", {"model": str(model), "intra_op_threads": 1, **params})
    node.setup()
    return node


def frame(frame_id: int, image=WHITE, source: str = "cam", **kw) -> Frame:
    return Frame(frame_id, 0, source, image, **kw)


def test_detections_replace_the_instances_and_meta_says_it_ran(model):
    node = make(model)
    old = Instance(bbox=[0, 0, 5, 5], label="stale")
    inp = frame(0, instances=(old,), meta={"camera": "front"})
    out = node.process(inp)
    assert [i.label for i in out.instances] == ["person", "dog"]
    assert out.instances[0].bbox.dtype == np.float32
    assert out.instances[0].bbox.tolist() == pytest.approx([60, 20, 140, 140], abs=0.01)  # BOXES[0] / 1.3
    assert out.instances[0].score == pytest.approx(0.9 * (255 * 312 + 114 * 104) / 416 / 255, rel=1e-4)
    assert out.image is inp.image and inp.instances == (old,) and inp.meta == {"camera": "front"}
    info = out.meta["detector"]
    assert out.meta["camera"] == "front"
    assert (info["node"], info["ran"], info["reason"], info["count"]) == ("det", True, "every_frame", 2)
    assert info["ms"] > 0
    node.close()


def test_classes_threshold_and_cap(model):
    assert [i.label for i in make(model, classes=["dog"]).process(frame(0)).instances] == ["dog"]
    assert len(make(model, score_threshold=0.75).process(frame(0)).instances) == 1
    assert len(make(model, max_detections=1).process(frame(0)).instances) == 1
    assert make(model).process(frame(0, image=np.zeros((240, 320, 3), np.uint8))).instances == ()


def test_interval_mode_follows_fed_back_keypoints(model):
    node = make(model, interval=3, classes=["person"])
    fed: dict[str, Frame] = {}
    node.feedback = lambda: dict(fed)  # what the runtime gives: the newest frame per feedback buffer
    first = node.process(frame(0))
    assert first.meta["detector"]["ran"]
    (person,) = first.instances
    kpts = np.array([[70, 40], [130, 40], [100, 120]], np.float32)  # the pose node found it a bit left
    fed["poses"] = frame(0, instances=(person.replace(keypoints=kpts, keypoint_scores=[0.9, 0.9, 0.9]),))
    second = node.process(frame(1))
    assert second.meta["detector"] == {**second.meta["detector"], "ran": False, "reason": "keypoints", "count": 1}
    assert second.instances[0].bbox.tolist() == pytest.approx([62.5, 30, 137.5, 130])  # bounds x 1.25
    lost = person.replace(keypoints=kpts, keypoint_scores=[0.1, 0.1, 0.1])
    fed["cam2_poses"] = frame(1, source="cam2", instances=(lost,))  # another camera's: not ours to follow
    assert node.process(frame(2)).meta["detector"]["reason"] == "keypoints"
    assert node.process(frame(3)).meta["detector"]["reason"] == "interval"
    assert node.counters["detections_run"] == 2 and node.counters["frames_followed"] == 2


def test_each_source_has_its_own_interval(model):
    node = make(model, interval=2)
    node.feedback = dict
    reasons = [node.process(frame(i // 2, source=s)).meta["detector"]["reason"] for i, s in enumerate("abab")]
    assert reasons == ["first", "first", "previous", "previous"]


def test_a_batch_holding_several_frames_of_one_stream_plans_them_in_order(model):
    """A file read faster than the detector: a batch holds consecutive frames of one stream.

    Each frame is planned after the one before it is recorded; a frame after a detection in
    the same batch waits for that detection (its boxes are what it follows).
    """
    node = make(model, interval=3)
    node.feedback = dict
    frames = [frame(i, source=s) for i in range(7) for s in ("a", "b")]
    out = node.process_batch(frames)
    assert [(f.source, f.frame_id) for f in out] == [(f.source, f.frame_id) for f in frames]
    ran = {s: [f.frame_id for f in out if f.source == s and f.meta["detector"]["ran"]] for s in "ab"}
    assert ran == {"a": [0, 3, 6], "b": [0, 3, 6]}  # every third frame, as frame by frame
    followed = [f for f in out if not f.meta["detector"]["ran"]]
    assert {f.meta["detector"]["reason"] for f in followed} == {"previous"}
    assert all(len(f.instances) == 2 for f in followed)  # the boxes of the detection before them
    assert node.counters["detections_run"] == 6 and node.counters["frames_followed"] == 8


def test_hog_backend_needs_no_model():
    node = Detector("people", {"model": "hog"})
    node.setup()
    out = node.process(frame(0, image=np.full((240, 320, 3), 90, np.uint8)))
    assert out.instances == () and out.meta["detector"]["ran"]
    node.close()


def graph(params: str) -> str:
    return (
        "nodes:\n"
        "  - {name: cam, type: TestPattern, outputs: [frames], params: {count: 3, live: false}}\n"
        f"  - {{name: det, type: Detector, inputs: [frames], outputs: [dets], params: {params}}}\n"
        "  - {name: sink, type: NullSink, inputs: [dets]}\n"
    )


def test_validation_offline_names_the_url_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path))
    monkeypatch.delenv(INDEX_ENV, raising=False)
    with pytest.raises(GraphError) as info:
        validate_text(graph("{model: 'zoo:yolox-nano', classes: [person, zebra, pesron]}"), "g.yaml")
    report = str(info.value)
    assert "2 problems found" in report
    assert "node 'det': params.model: zoo model 'yolox-nano' is not downloaded and downloads are off" in report
    assert f"releases/download/0.1.1rc0/yolox_nano.onnx and save it as {tmp_path / 'yolox_nano.onnx'}" in report
    assert "node 'det': params.classes: unknown class 'pesron' (did you mean 'person'?)" in report


def test_validation_of_a_good_model_and_bad_params(model):
    validate_text(graph(f"{{model: '{model}', classes: [person]}}"), "g.yaml")  # no problem
    with pytest.raises(GraphError, match=r"params.interval: Input should be greater than or equal to 1"):
        validate_text(graph(f"{{model: '{model}', interval: 0}}"), "g.yaml")
    with pytest.raises(GraphError, match=r"params.model: model file not found: .*missing\.onnx"):
        validate_text(graph(f"{{model: '{model.parent / 'missing.onnx'}'}}"), "g.yaml")
