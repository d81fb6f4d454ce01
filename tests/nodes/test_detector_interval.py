"""Interval mode in a running graph: keypoints come back to the Detector through a feedback buffer."""

from __future__ import annotations

import textwrap

import pytest

import detection_support
from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import validate_text

pytest.importorskip("onnx")
from onnx_models import EncodedBox, yolox_raw_model

# The detector is declared before the sink, so it subscribes to `poses` first and its feedback
# slot holds frame k - 1 before the sink (which paces the Lockstep source) sees it.
GRAPH = """\
nodes:
  - {{name: cam, type: 'detection_support:Lockstep', outputs: [frames], params: {{count: 12, wait_for: sink}}}}
  - name: det
    type: Detector
    inputs: [frames]
    outputs: [dets]
    feedback: [poses]
    params: {{model: '{model}', preset: yolox, interval: {interval}, intra_op_threads: 1}}
  - {{name: pose, type: 'detection_support:FakePose', inputs: [dets], outputs: [poses], params: {{{pose}}}}}
  - {{name: sink, type: 'detection_support:Seen', inputs: [poses]}}
"""


@pytest.fixture(autouse=True)
def _reset() -> None:
    detection_support.reset()


@pytest.fixture
def model(tmp_path):
    # On the 320x240 frames (letterbox ratio 1.3) this is the image box [60, 20, 140, 140].
    return yolox_raw_model(tmp_path / "det.onnx", [EncodedBox(130, 104, 104, 156, score=0.9)])


def run(model, pose: str, interval: int = 3) -> list:
    text = GRAPH.format(model=model, pose=pose, interval=interval)
    graph = validate_text(textwrap.dedent(text), "interval.yaml")
    result = GraphRunner(graph).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    frames = detection_support.SEEN["sink"]
    assert [f.frame_id for f in frames] == list(range(12))
    return frames


def test_detects_every_third_frame_and_again_right_after_a_lost_instance(model):
    frames = run(model, "drift: 2.0, lose_at: [4]")
    ran = [f.frame_id for f in frames if f.meta["detector"]["ran"]]
    assert ran == [0, 3, 5, 8, 11]  # frame 4's keypoints were lost: detect on frame 5, then every third
    reasons = [f.meta["detector"]["reason"] for f in frames]
    assert reasons[:6] == ["first", "keypoints", "keypoints", "interval", "keypoints", "lost"]
    # Between detections the box follows the keypoints, which drift 2 px right per frame.
    x1 = [round(float(f.instances[0].bbox[0]), 2) for f in frames]
    assert x1[:4] == [60.0, 62.0, 64.0, 60.0]
    assert all(len(f.instances) == 1 and f.instances[0].keypoints is not None for f in frames)


def test_interval_one_ignores_feedback(model):
    frames = run(model, "drift: 2.0", interval=1)
    assert all(f.meta["detector"]["ran"] for f in frames)
    assert {round(float(f.instances[0].bbox[0]), 2) for f in frames} == {60.0}
