"""Frames of several streams through one model node: one batch gives what one frame at a time gives."""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from flowpose.detection import DetectorConfig, open_detector
from flowpose.frame import Frame
from flowpose.nodes.detector import Detector
from flowpose.nodes.pose_estimator import TopdownPoseEstimator
from flowpose.nodes.synthetic_scene import SyntheticScene
from flowpose.zoo import resolve_model


def stream_frames(streams: int, per_stream: int = 2) -> list[Frame]:
    """Frames of ``streams`` synthetic scenes (seeds 0..), ground truth boxes as instances, interleaved."""
    sources = []
    for seed in range(streams):
        node = SyntheticScene(f"s{seed}", {"seed": seed, "emit_instances": True, "width": 320, "height": 240})
        node.setup()
        sources.append(node.frames())
    return [next(src) for _ in range(per_stream) for src in sources]


def test_pose_crops_of_several_streams_in_one_batch_equal_one_frame_at_a_time() -> None:
    node = TopdownPoseEstimator("pose", {"model": "zoo:flowpose-person", "labels": ["person"], "flip_test": True})
    node.setup()
    frames = stream_frames(3)
    assert sum(inst.label == "person" for f in frames for inst in f.instances) >= 3
    runs_before = node.counters["runs"]
    batched = node.process_batch(frames)
    assert node.counters["runs"] - runs_before == 1  # every crop of every frame: one session.run
    for one, frame in zip(batched, frames, strict=True):
        alone = node.process(frame)
        assert one.source == frame.source and one.frame_id == frame.frame_id
        for a, b in zip(one.instances, alone.instances, strict=True):
            if b.keypoints is None:
                assert a.keypoints is None
            else:
                np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)
                np.testing.assert_allclose(a.keypoint_scores, b.keypoint_scores, atol=1e-4)


def dynamic_batch_copy(src: str, dst) -> None:
    """The packaged detector with a free batch axis (its reshapes' leading 1 made -1), card kept."""
    model = onnx.load(src)
    for value in (*model.graph.input, *model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    del model.graph.value_info[:]
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]]).copy()
            if shape[0] == 1:
                shape[0] = -1
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))
    onnx.save(model, str(dst))


@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed-batch-1", "dynamic-batch"])
def test_detections_of_several_streams_in_one_call_equal_one_image_at_a_time(tmp_path, dynamic, caplog) -> None:
    path = str(resolve_model("zoo:flowpose-det-synthetic"))
    if dynamic:
        dynamic_batch_copy(path, tmp_path / "det.onnx")
        path = str(tmp_path / "det.onnx")
    detector = open_detector(DetectorConfig(model=path))
    assert detector.dynamic_batch is dynamic
    images = [f.image for f in stream_frames(4, 1)]
    with caplog.at_level(logging.INFO, logger="flowpose.detection.onnx_detector"):
        many = detector.detect_many(images)
        detector.detect_many(images)
    assert ("fixed batch of 1" in caplog.text) is not dynamic
    assert caplog.text.count("fixed batch of 1") <= 1  # said once
    assert sum(len(d.boxes) for d in many) >= 4
    for got, image in zip(many, images, strict=True):
        alone = detector.detect(image)
        np.testing.assert_allclose(got.boxes, alone.boxes, atol=1e-3)
        np.testing.assert_allclose(got.scores, alone.scores, atol=1e-5)
        assert list(got.labels) == list(alone.labels)


def test_the_detector_node_batches_frames_of_several_streams() -> None:
    node = Detector("det", {"model": "zoo:flowpose-det-synthetic", "max_batch": 4})
    node.setup()
    assert node.batch_limits() is not None and node.batch_limits().max_batch == 4
    frames = stream_frames(4, 1)
    out = node.process_batch(frames)
    assert [f.source for f in out] == [f.source for f in frames]
    assert all(f.meta["detector"]["batch"] == 4 and f.meta["detector"]["ran"] for f in out)
    assert sum(len(f.instances) for f in out) >= 4
    assert Detector("det1", {"model": "zoo:flowpose-det-synthetic", "max_batch": 1}).batch_limits() is None


def test_model_nodes_wait_for_other_streams_on_a_gpu_only_unless_told() -> None:
    cpu = Detector("det", {"model": "zoo:flowpose-det-synthetic"}).batch_limits()
    gpu = TopdownPoseEstimator("pose", {"model": "zoo:flowpose-person", "providers": ["cuda", "cpu"]}).batch_limits()
    told = TopdownPoseEstimator("pose", {"model": "zoo:flowpose-person", "max_wait_ms": 7}).batch_limits()
    assert cpu is not None and cpu.max_wait_s == 0.0  # a CPU batch costs what its frames do: never wait
    assert gpu is not None and gpu.max_wait_s == pytest.approx(0.005)
    assert told is not None and told.max_wait_s == pytest.approx(0.007)
