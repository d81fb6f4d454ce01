"""``flowpose bench pose`` and its RTMPose stand-in: the two paths agree, the stand-in costs what RTMPose does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flowpose.bench.pose import measure, per_crop, scene
from flowpose.bench.pose_model import build_rtmpose_like
from flowpose.cli.main import main
from flowpose.models import inspect_model
from flowpose.pose import TopdownModel, open_pose_model
from pose_models import build_marker_model, marker_card, marker_scene


def test_per_crop_baseline_gives_the_batched_keypoints(tmp_path) -> None:
    path = build_marker_model(tmp_path / "m.onnx", "heatmap", card=marker_card("heatmap"))
    model = TopdownModel(open_pose_model(path), intra_op_threads=1)
    image, boxes, expected = marker_scene(
        (640, 480),
        [[40, 60, 160, 300], [300, 100, 420, 220]],
        [[(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)], [(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)]],
    )
    baseline = per_crop(model, image, boxes)
    np.testing.assert_allclose(baseline.keypoints, model(image, boxes).keypoints, atol=1e-3)
    assert np.linalg.norm(baseline.keypoints - expected, axis=-1).max() < 0.25
    assert baseline.timings.runs == 2


def test_measure_reports_both_paths_per_count(tmp_path) -> None:
    path = build_marker_model(tmp_path / "m.onnx", "simcc", card=marker_card("simcc"))
    rows = measure(TopdownModel(open_pose_model(path), intra_op_threads=1), [1, 3], repeats=2)
    assert [r["people"] for r in rows] == [1, 3]
    for r in rows:
        batched, single = r["batched"], r["per_crop"]
        assert batched["ms"] > 0 and single["ms"] > 0 and batched["cpu_ms"] > 0
        assert r["speedup"] == pytest.approx(single["ms"] / batched["ms"], rel=0.05)
        for path in (batched, single):
            assert path["preprocess_ms"] + path["inference_ms"] + path["decode_ms"] <= path["ms"] * 1.05
    image, boxes = scene(8)
    assert boxes.shape == (8, 4) and (boxes[:, 2:] <= [1280, 720]).all() and image.shape == (720, 1280, 3)


def test_rtmpose_t_stand_in_matches_the_published_size_and_runs(tmp_path) -> None:
    built = build_rtmpose_like(tmp_path / "t.onnx", "t")
    assert built.params == pytest.approx(3.34e6, rel=0.05)  # RTMPose-t: 3.34 M parameters, 0.36 GFLOPs
    assert built.macs == pytest.approx(0.36e9, rel=0.05)
    io = inspect_model(built.path)
    assert io.inputs == [("input", ["N", 3, 256, 192])]
    assert io.outputs == [("simcc_x", ["N", 17, 384]), ("simcc_y", ["N", 17, 512])]
    model = TopdownModel(open_pose_model(built.path), intra_op_threads=1)
    image, boxes = scene(2)
    result = model(image, boxes, flip=True)
    assert result.keypoints.shape == (2, 17, 2) and np.isfinite(result.keypoints).all()


def test_cli_runs_the_benchmark_on_a_given_model(tmp_path, capsys) -> None:
    path = build_marker_model(tmp_path / "m.onnx", "simcc", card=marker_card("simcc"))
    out = tmp_path / "pose.json"
    argv = f"-q bench pose --model {path} --counts 1,2 --repeats 2 --threads 1 --json {out}"
    code = main(argv.split())
    assert code == 0
    text = capsys.readouterr().out
    assert "speedup" in text and "1 intra-op thread" in text
    assert [r["people"] for r in json.loads(out.read_text())["rows"]] == [1, 2]
