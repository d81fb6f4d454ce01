"""``flowpose bench pipeline``: the graph layouts and the sequential loops compute the same keypoints; the table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.bench.pipeline import LAYOUTS, check_equal, format_table, measure, node_params
from flowpose.cli.main import main
from onnx_models import EncodedBox, yolox_raw_model
from pose_models import build_marker_model, marker_card, marker_scene

FRAMES = 12


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    """A YOLOX look-alike finding two people (white frames: full score), and a marker pose model."""
    root = tmp_path_factory.mktemp("models")
    # 320x240 letterboxed to 416x416: ratio 1.3; two boxes well inside the image.
    det = yolox_raw_model(root / "det.onnx", [EncodedBox(100, 150, 104, 200), EncodedBox(300, 150, 104, 200)])
    pose = build_marker_model(root / "pose.onnx", "simcc", card=marker_card("simcc"))
    return det, pose


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 bright frames with markers that move (MJPG: every frame decodes alike in every path)."""
    path = tmp_path_factory.mktemp("clip") / "two.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for i in range(FRAMES):
        image, _, _ = marker_scene(
            (320, 240),
            [[40 + i, 40, 120 + i, 200], [190 - i, 40, 270 - i, 200]],
            [[(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)], [(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)]],
        )
        writer.write(np.maximum(image, 160))  # bright: the detector look-alike scores by mean level
    writer.release()
    return path


def test_every_layout_computes_the_same_keypoints(models, clip) -> None:
    detector, pose = node_params(str(models[0]), "yolox", str(models[1]), 1)
    runs, results = {}, []
    for layout in LAYOUTS:
        result, runs[layout] = measure(str(clip), detector, pose, layout, paced=False, frames=FRAMES)
        results.append(result)
    assert check_equal(runs) <= 0.05
    for result in results:
        assert result.frames == FRAMES and result.posed_per_frame == 2.0
        assert result.fps > 0 and 0 < result.latency_ms_p50 <= result.latency_ms_p95
    table = format_table(results).splitlines()
    assert table[0].split()[:4] == ["layout", "video", "frames", "fps"]
    assert [line.split()[0] for line in table[1:5]] == list(LAYOUTS)
    ratios = table[5:]
    assert [line.split(":")[0] for line in ratios] == [
        "thread / loop",
        "thread / loop-batched",
        "process / loop",
        "process / loop-batched",
        "process / thread",
    ]
    assert all(re.fullmatch(r"[\w /-]+: max fps [\d.]+x", line) for line in ratios)


def test_check_equal_catches_a_difference_a_missing_instance_and_a_skipped_frame() -> None:
    same = {i: [np.zeros((3, 2), np.float32)] for i in range(3)}
    with pytest.raises(RuntimeError, match=r"differ by up to 0\.500 px"):
        check_equal({"thread": same, "loop": {**same, 2: [np.full((3, 2), 0.5, np.float32)]}})
    with pytest.raises(RuntimeError, match="frame 1: loop posed 0 instances"):
        check_equal({"thread": same, "loop": {**same, 1: []}})
    with pytest.raises(RuntimeError, match="saw different frames"):
        check_equal({"thread": same, "loop": {0: same[0], 2: same[2]}})


def test_cli_compares_the_graph_with_the_loop(models, clip, tmp_path, capsys) -> None:
    out = tmp_path / "pipe.json"
    args = ["bench", "pipeline", "--video", str(clip), "--detector", str(models[0]), "--detector-preset", "yolox"]
    args += ["--pose", str(models[1]), "--frames", str(FRAMES), "--layouts", "thread,loop", "--threads", "1"]
    code = main([*args, "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "keypoints: thread == loop on every frame" in text
    assert re.search(r"^thread / loop: max fps [\d.]+x; live fps [\d.]+x, latency p50 [\d.]+x$", text, re.M)
    rows = json.loads(out.read_text())
    assert [(r["layout"], r["paced"]) for r in rows] == [
        ("thread", False),
        ("loop", False),
        ("thread", True),
        ("loop", True),
    ]


def test_cli_rejects_an_unknown_layout(clip, capsys) -> None:
    assert main(["bench", "pipeline", "--video", str(clip), "--layouts", "thread,gpu"]) == 2
    assert "unknown layout(s) ['gpu']" in capsys.readouterr().err
