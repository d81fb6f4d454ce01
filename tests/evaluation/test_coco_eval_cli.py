"""``flowpose eval coco`` end to end: the nodes' detector and pose code on generated images; output, errors.

The pose model is the marker model (tests/support/pose_models.py, RTMPose's I/O): it finds the
markers drawn where the annotations put the keypoints, so with the annotations' boxes AP is
~1; the detector is a YOLOX look-alike that predicts chosen boxes (tests/support/onnx_models.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from flowpose.cli.main import build_parser, main

from .conftest import PEOPLE

LETTERBOX = 416 / 640  # 640x480 images into YOLOX's 416x416 input, top-left aligned


@pytest.fixture
def marker_model(tmp_path):
    pytest.importorskip("onnx")
    from pose_models import build_marker_model, marker_card

    return build_marker_model(tmp_path / "marker.onnx", "simcc", card=marker_card("simcc"))


def _detector(tmp_path, image_boxes):
    """A YOLOX raw export that finds ``image_boxes`` (image pixels) as people, the same boxes on every image."""
    from onnx_models import EncodedBox, yolox_raw_model

    boxes = [
        EncodedBox(
            (x1 + x2) / 2 * LETTERBOX, (y1 + y2) / 2 * LETTERBOX, (x2 - x1) * LETTERBOX, (y2 - y1) * LETTERBOX, 0, 1.0
        )
        for x1, y1, x2, y2 in image_boxes
    ]
    return yolox_raw_model(tmp_path / "det.onnx", boxes)


def _run(args, capsys):
    code = main(["-q", "eval", "coco", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_gt_boxes_through_the_pose_node_code_scores_ap_near_1(make_coco, marker_model, tmp_path, capsys) -> None:
    ann, _ = make_coco()
    out_json = tmp_path / "out" / "figures.json"
    args = ["--images", str(ann.parent), "--annotations", str(ann), "--people", str(marker_model)]
    code, out, err = _run([*args, "--gt-boxes", "--threads", "1", "--json", str(out_json)], capsys)
    assert code == 0, err
    figures = json.loads(out_json.read_text())
    (people,) = figures["groups"]
    assert people["group"] == "people" and people["instances"] == 3 and people["predictions"] == 3
    assert people["AP"] > 0.95 and people["PCK@0.1"] == 1.0
    assert people["sigma_source"].startswith("coco17") and people["recall"] == []
    assert "box score 1" in figures["boxes"] and "1 (ground-truth box)" in figures["score_rule"]
    # The printed table has the same figures.
    row = next(line for line in out.splitlines() if line.startswith("| people"))
    assert f"{people['AP']:.3f}" in row and "17 of 17 (coco17)" in row
    assert "max(w, h) of the ground-truth box" in out and "mean of the keypoint scores above 0.2" in out


def test_a_wrong_model_scores_low(make_coco, tmp_path, capsys) -> None:
    """The end-to-end check can fail: a model reading BGR under an RGB card finds the wrong markers."""
    pytest.importorskip("onnx")
    from pose_models import build_marker_model, marker_card

    wrong = build_marker_model(tmp_path / "bgr.onnx", "simcc", card=marker_card("simcc"), color_order="bgr")
    ann, _ = make_coco()
    args = ["--images", str(ann.parent), "--annotations", str(ann), "--people", str(wrong), "--gt-boxes"]
    code, _, _ = _run([*args, "--json", str(tmp_path / "f.json")], capsys)
    assert code == 0
    (people,) = json.loads((tmp_path / "f.json").read_text())["groups"]
    assert people["AP"] < 0.3 and people["PCK@0.1"] < 0.7


def test_detector_recall_counts_a_person_the_detector_misses(make_coco, marker_model, tmp_path, capsys) -> None:
    ann, _ = make_coco()
    found = [PEOPLE[1][0][0], PEOPLE[2][0][0]]  # the second person of image 1 is never found
    det = _detector(tmp_path, found)
    args = ["--images", str(ann.parent), "--annotations", str(ann), "--people", str(marker_model)]
    code, out, err = _run(
        [*args, "--detector", str(det), "--preset", "yolox", "--json", str(tmp_path / "f.json")], capsys
    )
    assert code == 0, err
    (people,) = json.loads((tmp_path / "f.json").read_text())["groups"]
    assert people["recall"] == [
        {"category": "person", "instances": 3, "found": 2, "recall": pytest.approx(2 / 3), "found_same_label": 2}
    ]
    assert people["PCK@0.1"] == pytest.approx(2 / 3) and people["PCK@0.1_found"] == 1.0
    assert "| person   | people | 3         | 2     | 0.667" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--images", "{tmp}/none", "--annotations", "{ann}"], "error: --images: .* is not a folder"),
        (["--images", "{dir}", "--annotations", "{tmp}/none.json"], "error: --annotations: .* does not exist"),
        (["--images", "{tmp}", "--annotations", "{ann}"], "error: 2 of 2 images not found in"),
        (["--images", "{dir}", "--annotations", "{ann}", "--people", "{tmp}/x.onnx"], "error: .*x.onnx"),
        (["--images", "{dir}", "--annotations", "{bad}"], "error: .*not valid JSON"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(make_coco, tmp_path, args, message) -> None:
    ann, _ = make_coco()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    fill = {"tmp": str(tmp_path), "dir": str(ann.parent), "ann": str(ann), "bad": str(bad)}
    argv = [a.format(**fill) for a in args] + ["--gt-boxes"]
    res = subprocess.run(
        [sys.executable, "-m", "flowpose.cli.main", "eval", "coco", *argv], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert re.search(message, res.stderr), res.stderr


def test_an_unreadable_image_or_a_pose_model_as_detector_is_reported(make_coco, capsys) -> None:
    ann, _ = make_coco()
    base = ["--images", str(ann.parent), "--annotations", str(ann), "--people", "zoo:flowpose-person"]
    code, _, err = _run([*base, "--detector", "zoo:flowpose-person"], capsys)
    assert code == 2 and "this is a pose model; a detection model is needed" in err
    (ann.parent / "img_2.png").write_bytes(b"not a png")
    code, _, err = _run([*base, "--gt-boxes"], capsys)
    assert code == 2 and "cannot read image" in err and "img_2.png" in err


def test_eval_coco_never_imports_torch(make_coco) -> None:
    ann, _ = make_coco()
    probe = textwrap.dedent(f"""\
        import sys
        from flowpose.cli.main import main
        code = main(["-q", "eval", "coco", "--images", {str(ann.parent)!r}, "--annotations", {str(ann)!r},
                     "--people", "zoo:flowpose-person", "--gt-boxes", "--threads", "1"])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision") or "trainer" in m)
        print("HEAVY", heavy)
        sys.exit(code or (1 if heavy else 0))
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "| people | zoo:flowpose-person" in res.stdout


def test_eval_config_checkpoint_still_parses_as_before() -> None:
    args = build_parser().parse_args(["eval", "cfg.yaml", "best.pt", "--set", "a=1", "--json", "m.json"])
    assert (args.command, args.eval_target) == ("eval", "checkpoint")
    assert (args.config, args.checkpoint, args.overrides, args.json) == ("cfg.yaml", "best.pt", ["a=1"], "m.json")
    coco = build_parser().parse_args(["eval", "coco", "--images", "d", "--annotations", "a.json", "--preset", "yolox"])
    assert (coco.eval_target, coco.images, coco.detector, coco.detector_preset, coco.gt_boxes) == (
        "coco", "d", "zoo:yolox-nano", "yolox", False,
    )  # fmt: skip
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "coco", "--images", "d"])  # --annotations is required
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["eval", "coco", "--images", "d", "--annotations", "a", "--detector", "x", "--gt-boxes"]
        )
