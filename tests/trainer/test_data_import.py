"""`flowpose data import`: format detection (DeepLabCut, CSV-only, SLEAP, COCO), the report, the content-keyed cache."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.cli.main import main
from flowpose.meta import load_layout
from flowpose.trainer.data.importers import detect, guess_flip_pairs, load_labels
from flowpose.trainer.pose.sources import _import_dlc
from import_support import BODYPARTS, make_dlc_project, mouse_points


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_csv_only_project_is_detected_and_reported(tmp_path: Path, capsys) -> None:
    project = make_dlc_project(tmp_path / "lp", n=4, config=False)  # lightning-pose: CollectedData.csv at root
    assert detect(project).format == "csv"
    code, out, _ = _cli(["data", "import", str(project), "-o", str(tmp_path / "o" / "lp.json")], capsys)
    assert code == 0
    assert "found: label CSV without config.yaml" in out
    assert f"keypoints (4): {', '.join(BODYPARTS)}" in out
    assert "frames: 4 labelled images" in out and "videos (image folders): 1 (vid1)" in out
    assert "flip pairs (guessed from left/right names" in out and "left_ear/right_ear" in out
    layout = load_layout(tmp_path / "o" / "lp_layout.yaml")
    assert layout.keypoint_names == BODYPARTS and layout.flip_pairs == ((1, 2),)
    coco = json.loads((tmp_path / "o" / "lp.json").read_text())
    assert len(coco["annotations"]) == 4 and coco["images"][0]["file_name"] == "labeled-data/vid1/img000.png"


def test_dlc_project_says_a_root_csv_is_ignored(tmp_path: Path, capsys) -> None:
    project = make_dlc_project(tmp_path / "dlc", n=3)
    (project / "CollectedData_old.csv").write_text("scorer,Ann\n")
    code, out, _ = _cli(["data", "import-dlc", str(project), "-o", str(tmp_path / "d.json")], capsys)
    assert code == 0 and "found: DeepLabCut project" in out
    assert "note: CollectedData_old.csv at the project root is ignored" in out
    assert "skeleton: snout-left_ear, snout-right_ear, snout-tailbase" in out


def test_root_csv_beside_a_config_without_labels_is_named_and_importable(tmp_path: Path, capsys) -> None:
    lp = make_dlc_project(tmp_path / "lp", n=3, config=False)
    (lp / "config.yaml").write_text("Task: x\nscorer: Ann\nbodyparts: [snout, left_ear, right_ear, tailbase]\n")
    code, _, err = _cli(["data", "import", str(lp), "-o", str(tmp_path / "a.json")], capsys)
    assert code == 2 and "no CollectedData_Ann.csv (or .h5) in any video folder" in err
    assert "CollectedData.csv at the project root is ignored" in err
    code, out, _ = _cli(["data", "import", str(lp / "CollectedData.csv"), "-o", str(tmp_path / "b.json")], capsys)
    assert code == 0 and "found: label CSV without config.yaml" in out and "frames: 3 labelled images" in out


def test_nothing_importable_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "empty" / "labeled-data" / "v").mkdir(parents=True)
    res = subprocess.run(
        [sys.executable, "-m", "flowpose.cli.main", "data", "import", str(tmp_path / "empty"), "-o", "x.json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no config.yaml and no CollectedData*.csv at the root or in labeled-data/*/" in res.stderr
    assert "A DeepLabCut project needs config.yaml" in res.stderr


def test_coco_keypoint_file_is_imported(tmp_path: Path, capsys) -> None:
    images = tmp_path / "coco" / "images"
    images.mkdir(parents=True)
    anns = []
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.jpg"), np.zeros((64, 64, 3), np.uint8))
        pts = mouse_points(i, 64)
        flat = [v for (x, y) in pts for v in (float(x), float(y), 2)]
        flat[11] = 0  # tailbase not labelled on both
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "keypoints": flat, "bbox": [0, 0, 64, 64]})
    data = {
        "images": [{"id": i + 1, "file_name": f"{i}.jpg", "width": 64, "height": 64} for i in range(2)],
        "annotations": anns,
        "categories": [{"id": 1, "name": "mouse", "keypoints": list(BODYPARTS), "skeleton": [[1, 2], [1, 3]]}],
    }
    path = tmp_path / "coco" / "annotations" / "labels.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    code, out, _ = _cli(["data", "import", str(path), "-o", str(tmp_path / "c.json")], capsys)
    assert code == 0 and "found: COCO keypoint file" in out
    assert "labels: 6 labelled, 2 missing (visibility 0): tailbase 2" in out
    assert "skeleton: snout-left_ear, snout-right_ear" in out
    out_coco = json.loads((tmp_path / "c.json").read_text())
    assert Path(out_coco["info"]["image_root"]) == images.resolve()


def test_sleap_file_is_imported_with_its_symmetries(tmp_path: Path, capsys) -> None:
    sio = pytest.importorskip("sleap_io")
    frames = tmp_path / "sleap" / "frames"
    frames.mkdir(parents=True)
    files = []
    for i in range(3):
        files.append(str(frames / f"f{i}.png"))
        cv2.imwrite(files[-1], np.full((64, 64, 3), 30 * i, np.uint8))
    skeleton = sio.Skeleton(nodes=list(BODYPARTS), edges=[("snout", "tailbase")], name="mouse")
    skeleton.add_symmetry("left_ear", "right_ear")
    video = sio.Video.from_filename(files)
    labelled = []
    for i in range(2):  # frame 2 is not labelled
        pts = mouse_points(i, 64)
        pts[3] = np.nan  # tailbase missing
        labelled.append(sio.LabeledFrame(video=video, frame_idx=i, instances=[sio.Instance.from_numpy(pts, skeleton)]))
    slp = tmp_path / "sleap" / "labels.slp"
    sio.save_slp(sio.Labels(labeled_frames=labelled, videos=[video], skeletons=[skeleton]), str(slp))
    code, out, err = _cli(["data", "import", str(slp), "-o", str(tmp_path / "s" / "s.json")], capsys)
    assert code == 0, err
    assert f"found: SLEAP labels ({slp})" in out and "frames: 2 labelled images" in out
    assert "flip pairs (the file's symmetries): left_ear/right_ear" in out
    assert "labels: 6 labelled, 2 missing (visibility 0): tailbase 2" in out
    coco = json.loads((tmp_path / "s" / "s.json").read_text())
    first = Path(coco["info"]["image_root"]) / coco["images"][0]["file_name"]
    assert cv2.imread(str(first)).shape == (64, 64, 3)
    np.testing.assert_allclose(coco["annotations"][1]["keypoints"][:2], mouse_points(1, 64)[0], atol=1e-3)
    # The trainer's data source takes the .slp as its project too.
    spec = {"project": str(slp), "val_fraction": 0.5, "test_fraction": 0.0, "cache_dir": str(tmp_path / "cache")}
    files, layout = _import_dlc(spec, tmp_path)
    assert load_layout(layout).flip_pairs == ((1, 2),)
    assert sum(len(json.loads(files[p].read_text())["images"]) for p in ("train", "val")) == 2


def test_sleap_without_sleap_io_says_how_to_install(tmp_path: Path) -> None:
    (tmp_path / "x.slp").write_bytes(b"not read")
    probe = textwrap.dedent(f"""\
        import sys
        sys.modules["sleap_io"] = None  # as on an install without the sleap extra
        from flowpose.cli.main import main
        sys.exit(main(["data", "import", {str(tmp_path / "x.slp")!r}, "-o", {str(tmp_path / "o.json")!r}]))
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "pip install 'flowpose[sleap]'" in res.stderr and "Traceback" not in res.stderr


def test_flip_pairs_are_guessed_from_side_names() -> None:
    assert guess_flip_pairs(["snout", "leftear", "rightear", "tail"]) == (("leftear", "rightear"),)
    assert guess_flip_pairs(["L_paw", "R_paw", "ear_r", "ear_l", "tail"]) == (("L_paw", "R_paw"), ("ear_l", "ear_r"))
    assert guess_flip_pairs(["Finger1", "Joystick1", "tailbase", "ear"]) == ()


def test_trainer_import_cache_follows_edited_labels(tmp_path: Path) -> None:
    project = make_dlc_project(tmp_path / "proj", n=6)
    spec = {"project": str(project), "val_fraction": 0.2, "test_fraction": 0.0, "cache_dir": str(tmp_path / "c")}
    files, _ = _import_dlc(dict(spec), tmp_path)
    before = {p: json.loads(f.read_text()) for p, f in files.items() if f.is_file()}
    csv = project / "labeled-data" / "vid1" / "CollectedData_Ann.csv"
    old = f"{mouse_points(0, 64)[0][0]:.2f}"
    assert old in csv.read_text()
    csv.write_text(csv.read_text().replace(old, "1.50", 1))  # a label moved by hand
    files2, _ = _import_dlc(dict(spec), tmp_path)
    assert files2["train"].parent != files["train"].parent
    xs = [a["keypoints"][0] for p in ("train", "val") for a in json.loads(files2[p].read_text())["annotations"]]
    assert 1.5 in xs
    assert before  # the first import was there (and stays, for the old labels)


@pytest.mark.realdata
def test_shared_projects_are_detected(shared_dir: Path) -> None:
    data = shared_dir / "data"
    openfield = load_labels(data / "dlc_openfield")
    assert openfield.format == "dlc" and len(openfield.frames) == 116 and openfield.videos == ["m4s1"]
    assert guess_flip_pairs(openfield.project.bodyparts) == (("leftear", "rightear"),)
    reaching = load_labels(data / "dlc_reaching")
    assert reaching.project.skeleton == (("Hand", "Finger1"), ("Joystick1", "Joystick2"))
    ap10k = load_labels(data / "coco_style" / "ap10k")
    assert ap10k.format == "coco" and len(ap10k.project.bodyparts) == 17


def test_multi_animal_h5_project_is_imported(tmp_path: Path, capsys) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    root = tmp_path / "ma"
    folder = root / "labeled-data" / "v1"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text(
        "Task: pair\nscorer: Ann\nmultianimalproject: true\nmultianimalbodyparts: [nose, tail]\n"
        "bodyparts: MULTI!\nskeleton: [[nose, tail]]\n"
    )
    for i in range(2):
        cv2.imwrite(str(folder / f"img{i}.png"), np.zeros((48, 48, 3), np.uint8))
    csv = folder / "CollectedData_Ann.csv"
    csv.write_text(
        "scorer,Ann,Ann,Ann,Ann,Ann,Ann,Ann,Ann\n"
        "individuals,m1,m1,m1,m1,m2,m2,m2,m2\n"
        "bodyparts,nose,nose,tail,tail,nose,nose,tail,tail\n"
        "coords,x,y,x,y,x,y,x,y\n"
        "labeled-data/v1/img0.png,1,2,3,4,,,,\n"
        "labeled-data/v1/img1.png,1,2,3,4,11,12,13,14\n"
    )
    pd.read_csv(csv, header=[0, 1, 2, 3], index_col=0).to_hdf(csv.with_suffix(".h5"), key="df_with_missing")
    csv.unlink()
    code, out, err = _cli(["data", "import", str(root), "-o", str(tmp_path / "m.json")], capsys)
    assert code == 0, err
    assert "found: DeepLabCut project (multi-animal)" in out and "frames: 2 labelled images, 3 animals" in out
    anns = json.loads((tmp_path / "m.json").read_text())["annotations"]
    assert [a["image_id"] for a in anns] == [1, 2, 2] and anns[2]["keypoints"] == [11.0, 12.0, 2, 13.0, 14.0, 2]
