"""PoseRecorder with many streams: every JSON line and every COCO result names its stream."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from flowpose.nodes.pose_recorder import PoseRecorder, jsonl_to_coco
from sinks_support import people_frame

#: People per frame in each stream, so a result's stream can be checked by counting.
PEOPLE = {"cam-a": 2, "cam-b": 3, "phone/kitchen": 1}


def record_streams(tmp_path: Path, frames: int = 4) -> Path:
    node = PoseRecorder("poses", {"path": str(tmp_path / "poses.jsonl")})
    node.setup()
    for i in range(frames):  # interleaved, as a multi-stream source delivers them
        for stream, people in PEOPLE.items():
            node.process(people_frame(i, people, source=stream))
    node.end_stream("cam-a")  # nothing per stream to drop: the one file goes on
    node.process(people_frame(frames, PEOPLE["cam-b"], source="cam-b"))
    node.close()
    return tmp_path / "poses.jsonl"


def test_every_line_and_every_coco_result_names_its_stream(tmp_path: Path) -> None:
    path = record_streams(tmp_path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["stream"] for line in lines[:3]] == list(PEOPLE)
    assert all(line["stream"] == line["source"] for line in lines)  # the old field is kept
    assert all(len(line["instances"]) == PEOPLE[line["stream"]] for line in lines)
    frame_ids = {stream: [line["frame_id"] for line in lines if line["stream"] == stream] for stream in PEOPLE}
    assert frame_ids == {"cam-a": [0, 1, 2, 3], "cam-b": [0, 1, 2, 3, 4], "phone/kitchen": [0, 1, 2, 3]}
    coco = json.loads((tmp_path / "poses.coco.json").read_text())
    per_stream = {stream: sum(1 for r in coco if r["stream"] == stream) for stream in PEOPLE}
    assert per_stream == {"cam-a": 4 * 2, "cam-b": 5 * 3, "phone/kitchen": 4 * 1}
    assert all({"image_id", "category_id", "bbox", "score", "keypoints"} <= set(r) for r in coco)


def test_jsonl_to_coco_keeps_the_stream_also_of_older_recordings(tmp_path: Path) -> None:
    path = record_streams(tmp_path)
    assert jsonl_to_coco(path, tmp_path / "again.json") == 4 * 2 + 5 * 3 + 4 * 1
    again = json.loads((tmp_path / "again.json").read_text())
    assert {r["stream"] for r in again} == set(PEOPLE)
    # A recording from before the stream field: its source names the stream.
    old = tmp_path / "old.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()[:2]]
    old.write_text("".join(json.dumps({k: v for k, v in line.items() if k != "stream"}) + "\n" for line in lines))
    jsonl_to_coco(old, tmp_path / "old.json")
    assert [r["stream"] for r in json.loads((tmp_path / "old.json").read_text())] == ["cam-a"] * 2 + ["cam-b"] * 3


def test_pycocotools_reads_the_results_with_their_stream(tmp_path: Path) -> None:
    coco_module = pytest.importorskip("pycocotools.coco")
    record_streams(tmp_path)
    results = json.loads((tmp_path / "poses.coco.json").read_text())
    truth = coco_module.COCO()
    truth.dataset = {
        "images": [{"id": i, "width": 640, "height": 480} for i in range(5)],
        "annotations": [],
        "categories": [{"id": 1, "name": "person"}],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        truth.createIndex()
        loaded = truth.loadRes(results)
    assert len(loaded.anns) == len(results)
    assert {ann["stream"] for ann in loaded.anns.values()} == set(PEOPLE)
