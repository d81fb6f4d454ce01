"""``flowpose bench closedloop``: the graph and the single loop compute the same keypoints; the table's shape."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.bench.closedloop import check_equal, format_table, measure, node_params
from flowpose.cli.main import main
from pose_models import build_marker_model, marker_card, marker_scene


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """24 frames of a marker 'animal' crossing a 320x240 frame (MJPG: every frame decodes alike)."""
    path = tmp_path_factory.mktemp("clip") / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for i in range(24):
        x = 20 + 8 * i
        image, _, _ = marker_scene((320, 240), [[x, 80, x + 60, 140]], [[(0.2, 0.3), (0.7, 0.4), (0.5, 0.8)]])
        writer.write(image)
    writer.release()
    return path


def test_graph_and_loop_give_the_same_keypoints_and_the_loop_follows_the_animal(tmp_path, clip) -> None:
    card = marker_card("simcc", labels=("mouse",), input_size=(256, 192))
    model = build_marker_model(tmp_path / "m.onnx", "simcc", input_size=(256, 192), card=card)
    pose, trigger = node_params(str(model), None, 1, True)
    runs = {path: measure(str(clip), 24, pose, trigger, path, paced=False) for path in ("graph", "loop")}
    assert check_equal(runs["graph"][1], runs["loop"][1], 24) <= 1e-3
    # The marker moves 8 px a frame to the right: the pose follows it (red marker = nose group).
    xs = [runs["loop"][1][i][0, 0] for i in range(24)]
    assert np.all(np.diff(xs) > 4)
    for result, _ in runs.values():
        assert result.frames == 24 - 6 and result.fps > 0 and 0 < result.latency_ms_p50 <= result.latency_ms_p95
    table = format_table([runs["graph"][0], runs["loop"][0]]).splitlines()
    assert table[0].split() == ["video", "path", "frames", "fps", "lat", "p50", "ms", "lat", "p95", "ms"]
    assert [line.split()[2] for line in table[1:3]] == ["graph", "loop"]
    assert re.fullmatch(r"graph / loop, max speed: fps [\d.]+x, latency p50 [\d.]+x, p95 [\d.]+x", table[3])


def test_check_equal_catches_a_difference_and_a_skipped_frame() -> None:
    same = {i: np.zeros((3, 2), np.float32) for i in range(3)}
    with pytest.raises(RuntimeError, match=r"differ by up to 0\.500 px"):
        check_equal(same, {**same, 2: np.full((3, 2), 0.5, np.float32)}, 3)
    with pytest.raises(RuntimeError, match="must see all 3 frames"):
        check_equal(same, {0: same[0], 2: same[2]}, 3)


@pytest.mark.realdata
def test_cli_on_the_openfield_video_with_the_packaged_model(shared_dir, tmp_path, capsys) -> None:
    video = shared_dir / "data" / "videos" / "mouse_openfield.mp4"
    out = tmp_path / "loop.json"
    code = main(["bench", "closedloop", "--video", str(video), "--frames", "24", "--repeats", "1", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "zoo:flowpose-animal (packaged default" in text
    assert "keypoints: graph == loop on all 24 frames" in text
    rows = json.loads(out.read_text())
    assert [(r["paced"], r["path"]) for r in rows] == [
        (False, "graph"),
        (False, "loop"),
        (True, "graph"),
        (True, "loop"),
    ]
    live = [r for r in rows if r["paced"]]
    assert all(20 < r["fps"] < 40 for r in live)  # paced at the video's 30 fps
    assert "graph / loop, live: fps" in text


def test_cli_reports_a_missing_video(tmp_path, capsys) -> None:
    assert main(["bench", "closedloop", "--video", str(tmp_path / "none.mp4")]) == 2
    assert "video not found" in capsys.readouterr().err
