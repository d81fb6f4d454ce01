"""graphs/video_file.yaml: a real detector + pose graph on a real video file, every frame recorded."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import yaml

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import load_graph

GRAPH = Path(__file__).resolve().parents[2] / "graphs" / "video_file.yaml"


def test_video_file_graph_runs_a_detector_and_pose_models() -> None:
    nodes = {n["name"]: n for n in yaml.safe_load(GRAPH.read_text(encoding="utf-8"))["nodes"]}
    assert nodes["detector"]["type"] == "Detector" and nodes["detector"]["params"]["model"] == "zoo:yolox-nano"
    assert nodes["human_pose"]["params"]["model"] == "zoo:rtmpose-m-body7"
    assert nodes["animal_pose"]["params"]["model"] == "zoo:rtmpose-m-ap10k"
    assert {"Tracker", "Smoother", "VideoRecorder", "PoseRecorder"} <= {n["type"] for n in nodes.values()}


@pytest.mark.realdata
def test_video_file_graph_annotates_every_frame_of_a_real_video(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real YOLOX-nano from ../shared (the zoo's host is unreachable here) and the packaged
    # pose models stand in for the RTMPose downloads; everything else is the shipped graph.
    monkeypatch.chdir(tmp_path)
    video = shared_dir / "data" / "videos" / "dance.mp4"
    graph = load_graph(
        GRAPH,
        overrides=[
            f"camera.source={video}",
            f"detector.model={shared_dir / 'models' / 'yolox_nano.onnx'}",
            "detector.preset=yolox",
            "human_pose.model=zoo:flowpose-person",
            "animal_pose.model=zoo:flowpose-animal",
        ],
    )
    result = GraphRunner(graph).run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    stats = {s.name: s for s in result.stats}
    assert stats["video"].frames == 450 and stats["poses"].frames == 450  # lossless: every frame
    capture = cv2.VideoCapture(str(tmp_path / "out" / "video_file.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 450
    capture.release()
    lines = [json.loads(line) for line in (tmp_path / "out" / "video_file.jsonl").read_text().splitlines()]
    with_person = [
        rec for rec in lines if any(inst["label"] == "person" and inst.get("keypoints") for inst in rec["instances"])
    ]
    # One dancer, full body, in every frame: the real detector finds her nearly always.
    assert len(with_person) >= 0.9 * 450
