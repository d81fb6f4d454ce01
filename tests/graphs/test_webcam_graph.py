"""graphs/webcam_human_animal.yaml: offline, stops naming the files to fetch; runs on a video."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_support import run_cli
from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import load_graph
from pose_models import build_marker_model, marker_card

GRAPH = Path(__file__).resolve().parents[2] / "graphs" / "webcam_human_animal.yaml"


def test_offline_missing_models_stop_the_graph_naming_what_to_fetch(tmp_path: Path) -> None:
    cache = tmp_path / "empty-cache"
    env = {**os.environ, "FLOWPOSE_CACHE": str(cache)}
    res = run_cli("run", str(GRAPH), "--offline", env=env)
    assert res.returncode == 2, res.stderr
    for file in ("yolox_nano.onnx", "rtmpose-m-body7.onnx", "rtmpose-m-ap10k.onnx"):
        assert f"save it as {cache / file}" in res.stderr
    assert "Traceback" not in res.stderr
    assert "3 problems found" in res.stderr  # the tracker, smoother and the rest are fine


@pytest.mark.realdata
def test_webcam_graph_runs_on_a_video_with_local_models(shared_dir: Path, tmp_path: Path) -> None:
    people = build_marker_model(tmp_path / "people.onnx", card=marker_card("simcc"))
    animals = build_marker_model(
        tmp_path / "animals.onnx",
        layout="ap10k",
        card=marker_card("simcc", layout="ap10k", labels=("cat", "dog", "horse", "sheep", "cow")),
    )
    graph = load_graph(
        GRAPH,
        overrides=[
            f"camera.source={shared_dir / 'data' / 'videos' / 'dance.mp4'}",
            f"detector.model={shared_dir / 'models' / 'yolox_nano.onnx'}",
            "detector.preset=yolox",
            f"human_pose.model={people}",
            f"animal_pose.model={animals}",
            "display.headless_port=0",  # headless here: the frames go to a browser view on a free port
        ],
    )
    result = GraphRunner(graph).run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    stats = {s.name: s for s in result.stats}
    assert stats["display"].frames == 450  # a file: lossless, every frame shown (headless here: served)
    assert stats["display"].counters["served"] == 450
    # interval 3: the detector ran on at most every third frame plus re-detections, and followed the rest.
    detector = stats["detector"].counters
    assert detector["detections_run"] + detector["frames_followed"] == 450
    assert 150 <= detector["detections_run"] < 450
