"""PoseRecorder: one complete JSON line per frame, and a COCO results file at the end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Instance
from flowpose.graph.validate import validate_text
from flowpose.nodes.pose_recorder import PoseRecorder, jsonl_to_coco
from sinks_support import FIGURE, people_frame


def record(tmp_path: Path, count: int = 12, extra: str = "") -> Path:
    path = tmp_path / "out" / "poses.jsonl"
    text = f"""\
    nodes:
      - {{name: cam, type: 'sinks_support:People', outputs: [frames], params: {{count: {count}, animal: true}}}}
      - {{name: rec, type: PoseRecorder, inputs: [frames], params: {{path: '{path}'{extra}}}}}
    """
    assert GraphRunner(validate_text(textwrap.dedent(text), "t.yaml")).run(handle_signals=False).exit_code == 0
    return path


def test_one_line_per_frame_with_every_field(tmp_path: Path) -> None:
    path = record(tmp_path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["frame_id"] for r in records] == list(range(12))
    first = records[0]
    assert first["source"] == "cam" and (first["width"], first["height"]) == (640, 480)
    assert isinstance(first["capture_ns"], int)
    assert records[1]["capture_ns"] - first["capture_ns"] == 40_000_000  # 25 fps synthetic stamps
    person, dog = first["instances"][1], first["instances"][-1]
    assert person["label"] == "person" and person["track_id"] == 1 and person["layout"] == "coco17"
    assert person["bbox"] == [140.0, 100.0, 220.0, 300.0] and person["score"] == pytest.approx(0.6)
    assert np.allclose(person["keypoints"], FIGURE * [80, 200] + [140, 100], atol=0.01)
    assert person["keypoint_scores"] == [0.9] * 17
    assert dog["label"] == "dog" and dog["keypoints"] is None and dog["keypoint_scores"] is None


def test_coco_results_at_close(tmp_path: Path) -> None:
    path = record(tmp_path)
    coco = json.loads((path.parent / "poses.coco.json").read_text())
    assert len(coco) == 12 * 6
    person = next(r for r in coco if r["image_id"] == 3 and r["category_id"] == 1)
    assert set(person) == {"image_id", "category_id", "keypoints", "score", "bbox", "stream"}
    assert len(person["keypoints"]) == 17 * 3 and person["keypoints"][2::3][1] == 0.9
    assert person["bbox"][2:] == [80.0, 200.0]  # xywh
    dogs = [r for r in coco if r["category_id"] == 18]
    assert len(dogs) == 12 and all("keypoints" not in r for r in dogs)


def test_categories_param_and_coco_switch(tmp_path: Path) -> None:
    path = record(tmp_path, 2, ", categories: {dog: 7}, coco_path: '" + str(tmp_path / "c.json") + "'")
    assert {r["category_id"] for r in json.loads((tmp_path / "c.json").read_text())} == {1, 7}
    other = tmp_path / "other"
    path = record(other, 2, ", coco: false")
    assert sorted(p.name for p in path.parent.iterdir()) == ["poses.jsonl"]


def test_non_finite_keypoints_become_null_and_unlabelled(tmp_path: Path) -> None:
    kpts = np.array([[1.0, 2.0], [np.nan, np.nan]], dtype=np.float32)
    inst = Instance([0, 0, 10, 10], label="gecko", keypoints=kpts, keypoint_scores=[0.5, np.nan])
    node = PoseRecorder("rec", {"path": str(tmp_path / "p.jsonl")})
    node.setup()
    node.process(people_frame(0, people=0).with_instances([inst]))
    node.close()
    line = json.loads((tmp_path / "p.jsonl").read_text())
    assert line["instances"][0]["keypoints"] == [[1.0, 2.0], [None, None]]
    (result,) = json.loads((tmp_path / "p.coco.json").read_text())
    assert result["keypoints"] == [1.0, 2.0, 0.5, 0.0, 0.0, 0.0]
    assert result["category_id"] == 1000  # not a COCO class: ids from 1000 on


def test_conversion_skips_a_line_cut_by_a_hard_kill(tmp_path: Path) -> None:
    path = record(tmp_path, 3)
    with open(path, "a") as f:
        f.write('{"frame_id": 3, "sour')
    assert jsonl_to_coco(path, tmp_path / "c.json") == 3 * 6
