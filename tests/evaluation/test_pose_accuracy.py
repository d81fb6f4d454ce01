"""PoseAccuracy: PCK, recall and pixel error against ground truth, by hand and in a graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flowpose.engine.runtime import GraphRunner
from flowpose.evaluation.pose_accuracy import PoseAccuracy
from flowpose.frame import Instance
from flowpose.graph.validate import validate_text


def _truth(label: str, box: list[float], points: list[list[float]]) -> dict:
    return {"label": label, "bbox": box, "keypoints": points, "visibility": [2] * len(points), "track_id": 1}


def test_pck_recall_and_error_match_a_hand_computed_case() -> None:
    points = [[10.0, 10.0], [20.0, 10.0], [30.0, 10.0], [40.0, 10.0]]
    truth = [
        _truth("person", [0, 0, 100, 50], points),  # box size 100 px
        _truth("person", [300, 300, 340, 380], points),  # nobody predicted there: missed
    ]
    offsets = np.array([[0, 0], [4, 0], [0, 8], [30, 0]], dtype=np.float32)  # 0, 4, 8, 30 px
    good = Instance(bbox=[1, 0, 99, 50], label="person", keypoints=np.array(points, np.float32) + offsets)
    dog = Instance(bbox=[300, 300, 340, 380], label="dog", keypoints=np.array(points, np.float32))
    acc = PoseAccuracy()
    acc.add([good, dog], truth)
    row = acc.report()["person"]
    assert row["figures"] == 2 and row["recall"] == 0.5  # a dog never answers for a person
    assert row["pck@0.05"] == pytest.approx(2 / 4)  # 0 and 4 px are within 5 px
    assert row["pck@0.1"] == pytest.approx(3 / 4)
    assert row["pck@0.2"] == pytest.approx(3 / 4)  # 30 px > 20 px
    assert row["mean_px_error"] == pytest.approx((0 + 4 + 8 + 30) / 4)


def test_unlabelled_keypoints_do_not_count() -> None:
    truth = [_truth("dog", [0, 0, 100, 100], [[10.0, 10.0], [50.0, 50.0]])]
    truth[0]["visibility"] = [2, 0]
    pred = Instance(bbox=[0, 0, 100, 100], label="dog", keypoints=np.array([[10, 10], [90, 90]], np.float32))
    acc = PoseAccuracy()
    acc.add([pred], truth)
    assert acc.report()["dog"]["pck@0.05"] == 1.0


def test_graph_reports_accuracy_of_the_poses_it_gets(tmp_path: Path) -> None:
    out = tmp_path / "acc.json"
    graph = validate_text(
        f"""\
nodes:
  - name: scene
    type: SyntheticScene
    outputs: [frames]
    params: {{count: 20, realtime: false, live: false, emit_instances: true, people: 2, animals: 1,
             width: 320, height: 240}}
  - name: accuracy
    type: PoseAccuracy
    inputs: [frames]
    params: {{path: {out}}}
"""
    )
    assert GraphRunner(graph).run(handle_signals=False).exit_code == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 20
    # The scene's own instances are the truth: every figure matched, every keypoint exact.
    for row in report["labels"].values():
        assert row["recall"] == 1.0 and row["pck@0.05"] == 1.0 and row["mean_px_error"] == 0.0
