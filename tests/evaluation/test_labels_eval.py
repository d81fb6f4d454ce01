"""`flowpose eval labels`: an ONNX pose model on a DeepLabCut project's labelled frames, through the node's
TopdownModel, on the trainer's split; body-length PCK; bad input; no torch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.cli.main import main
from flowpose.evaluation.labels_metrics import (
    BodyLength,
    auto_body_pair,
    body_lengths,
    parse_body_length,
    pixel_figures,
)
from flowpose.evaluation.pck import keypoint_distances

LAYOUT = """\
name: nosetail
keypoints:
  - {name: nose, color: [0, 0, 255], sigma: 0.05}
  - {name: tail, color: [0, 255, 0], sigma: 0.05}
"""
CONFIG = "Task: marker mice\nscorer: Ann\nmultianimalproject:\nbodyparts:\n- nose\n- tail\nskeleton: []\n"
SIZE = (160, 120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """3 videos x 4 frames: a red marker at the nose, a green one at the tail, both labelled."""
    from pose_models import GROUP_COLORS_BGR, draw_marker

    root = tmp_path / "proj"
    rng = np.random.default_rng(0)
    for video in ("va", "vb", "vc"):
        folder = root / "labeled-data" / video
        folder.mkdir(parents=True)
        rows = ["scorer,Ann,Ann,Ann,Ann", "bodyparts,nose,nose,tail,tail", "coords,x,y,x,y"]
        for i in range(4):
            nose = rng.uniform([40, 30], [120, 90])
            tail = nose + rng.choice([-1, 1], 2) * rng.uniform(15, 25, 2)
            image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
            draw_marker(image, tuple(nose), GROUP_COLORS_BGR[0])
            draw_marker(image, tuple(tail), GROUP_COLORS_BGR[1])
            cv2.imwrite(str(folder / f"img{i}.png"), image)
            rows.append(f"labeled-data/{video}/img{i}.png,{nose[0]:.2f},{nose[1]:.2f},{tail[0]:.2f},{tail[1]:.2f}")
        (folder / "CollectedData_Ann.csv").write_text("\n".join(rows) + "\n")
    (root / "config.yaml").write_text(CONFIG)
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    pytest.importorskip("onnx")
    from pose_models import build_marker_model, marker_card

    layout = tmp_path / "nosetail.yaml"
    layout.write_text(LAYOUT)
    card = marker_card("simcc", layout=str(layout), labels=("mouse",))
    return build_marker_model(tmp_path / "marker.onnx", "simcc", layout=str(layout), card=card)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["-q", "eval", "labels", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_marker_model_scores_near_zero_error_on_the_test_videos(project, model, tmp_path, capsys) -> None:
    out_json = tmp_path / "r.json"
    code, out, err = _run([str(model), "--data", str(project), "--json", str(out_json), "--threads", "1"], capsys)
    assert code == 0, err
    report = json.loads(out_json.read_text())
    # Three videos: held out by video, the test part is one whole video (4 frames).
    assert report["split"] == "test" and report["frames"] == 4
    assert len({Path(f).parent.name for f in report["per_frame_error_px"]}) == 1
    figures = report["figures"]
    assert figures["error_px_mean"] < 1.5 and figures["within_5px"] == 1.0 and figures["pck@0.1"] == 1.0
    assert set(figures) >= {"error_px_median", "error_px/nose", "error_px/tail", "within_10px", "pck@0.05"}
    assert report["body_length"]["keypoints"] == ["nose", "tail"]
    assert "by video" in out and "pixel error: mean" in out and "PCK @0.05" in out


def test_all_frames_and_the_whole_frame_box(project, model, capsys, tmp_path) -> None:
    out_json = tmp_path / "r.json"
    argv = [str(model), "--data", str(project), "--split", "all", "--box", "frame", "--json", str(out_json)]
    code, _out, err = _run([*argv, "--within", "2", "--pck", "0.1", "--body-length", "50"], capsys)
    assert code == 0, err
    report = json.loads(out_json.read_text())
    assert report["frames"] == 12 and report["box"] == "frame" and report["padding"] == 1.0
    assert report["body_length"]["pixels"] == 50.0 and "within_2px" in report["figures"]
    assert report["figures"]["error_px_mean"] < 2.0  # the marker model finds the markers anywhere in the frame


def test_a_coco_file_is_split_the_same_way(project, model, tmp_path, capsys) -> None:
    from flowpose.trainer.data.dlc_import import import_dlc

    coco = import_dlc(project, tmp_path / "coco" / "mice.json").outputs["all"]
    code, out, err = _run([str(model), "--data", str(coco), "--split", "val"], capsys)
    assert code == 0, err
    _code2, out2, _ = _run([str(model), "--data", str(project), "--split", "val"], capsys)
    assert out.splitlines()[2:] == out2.splitlines()[2:]  # same frames, same figures (line 2 names the data)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{model}", "--data", "{tmp}/none"], "error: flowpose eval labels: --data .*none: no such"),
        (["{tmp}/none.onnx", "--data", "{proj}"], "error: flowpose eval labels: .*none.onnx"),
        (["{model}", "--data", "{proj}", "--body-length", "nose,paw"], "give two different keypoints"),
        (["{model}", "--data", "{proj}", "--body-length", "-3"], "must be > 0 pixels"),
        (["{model}", "--data", "{proj}", "--test-fraction", "0.9"], "test_fraction"),
        (["{model}", "--data", "{bad}"], "not a readable JSON"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(project, model, tmp_path, args, message) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    fill = {"tmp": str(tmp_path), "model": str(model), "proj": str(project), "bad": str(bad)}
    argv = [a.format(**fill) for a in args]
    res = subprocess.run(
        [sys.executable, "-m", "flowpose.cli.main", "-q", "eval", "labels", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert re.search(message, res.stderr), res.stderr


def test_eval_labels_never_imports_torch(project, model) -> None:
    probe = textwrap.dedent(f"""\
        import sys
        from flowpose.cli.main import main
        code = main(["-q", "eval", "labels", {str(model)!r}, "--data", {str(project)!r}, "--threads", "1"])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
        print("HEAVY", heavy)
        sys.exit(code or (1 if heavy else 0))
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_body_length_pck_by_hand() -> None:
    gt = np.array([[[0, 0], [100, 0], [50, 10]], [[0, 0], [0, 60], [5, 30]]], float)  # (2 animals, 3 keypoints)
    vis = np.ones((2, 3))
    assert auto_body_pair(gt, vis) == (0, 1)  # 100 and 60 px apart: the farthest pair
    norm = parse_body_length(None, ["nose", "tail", "mid"], gt, vis)
    assert norm.auto and norm.names == ("nose", "tail")
    assert body_lengths(gt, vis, norm).tolist() == [100.0, 60.0]
    vis2 = vis.copy()
    vis2[1, 1] = 0  # tail unlabelled on animal 2: the median of the labelled ones (100)
    assert body_lengths(gt, vis2, BodyLength((0, 1))).tolist() == [100.0, 100.0]
    pred = gt + np.array([[[3, 4], [0, 0], [0, 8]], [[0, 6], [0, 0], [0, 0]]], float)  # errors 5,0,8 / 6,0,0
    dist = keypoint_distances(pred, gt, vis)
    fig = pixel_figures(dist, body_lengths(gt, vis, norm), ["nose", "tail", "mid"], (5, 7), (0.05, 0.1))
    assert fig["error_px_mean"] == pytest.approx(19 / 6) and fig["error_px_median"] == pytest.approx(2.5)
    assert fig["error_px/nose"] == pytest.approx(5.5) and fig["error_px/mid"] == pytest.approx(4.0)
    assert fig["within_5px"] == pytest.approx(4 / 6) and fig["within_7px"] == pytest.approx(5 / 6)
    # 0.05 x (100, 60) = 5 / 3 px: hits 5<=5, 0, 8>5 | 6>3, 0, 0 -> 4/6; 0.1 x: 5, 0, 8<=10 | 6<=6 -> 6/6
    assert fig["pck@0.05"] == pytest.approx(4 / 6) and fig["pck@0.1"] == 1.0
    assert parse_body_length("tail,nose", ["nose", "tail", "mid"], gt, vis).pair == (1, 0)
    assert parse_body_length("80", ["nose", "tail", "mid"], gt, vis).describe() == "80 px (fixed)"
