"""DeepLabCut import on small projects the tests write themselves (CSV with gaps, 3 or 4 header rows)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.meta import load_layout
from flowpose.trainer.data.dlc import load_dlc_project
from flowpose.trainer.data.dlc_coco import DlcImportOptions, image_size
from flowpose.trainer.data.dlc_import import import_dlc

CONFIG = """\
Task: Tiny Test
scorer: Ann
multianimalproject:
bodyparts:
- nose
- left_ear
- right_ear
skeleton:
- [nose, left_ear]
- [nose, right_ear]
"""

# 3 header rows; image 2 misses right_ear, image 3 has nothing labelled.
LABELS = """\
scorer,Ann,Ann,Ann,Ann,Ann,Ann
bodyparts,nose,nose,left_ear,left_ear,right_ear,right_ear
coords,x,y,x,y,x,y
labeled-data/vid1/img0.png,10.5,20.0,30.0,22.0,31.0,40.0
labeled-data/vid1/img1.png,50.0,60.0,70.0,58.0,,
labeled-data/vid1/img2.png,,,,,,
"""


def make_project(root: Path, config: str = CONFIG, labels: str = LABELS, size=(96, 64)) -> Path:
    folder = root / "labeled-data" / "vid1"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text(config)
    (folder / "CollectedData_Ann.csv").write_text(labels)
    for i in range(3):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((size[1], size[0], 3), 40 * i, np.uint8))
    (root / "labeled-data" / "vid2").mkdir()  # extracted but not labelled: skipped
    return root


def test_csv_with_missing_cells_becomes_coco(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    out = tmp_path / "out" / "coco.json"
    opts = DlcImportOptions(category="mouse", margin_px=5.0, margin_frac=0.0)
    result = import_dlc(project, out, opts)

    coco = json.loads(out.read_text())
    assert [im["file_name"] for im in coco["images"]] == [f"labeled-data/vid1/img{i}.png" for i in range(3)]
    assert all((im["width"], im["height"]) == (96, 64) for im in coco["images"])
    cat = coco["categories"][0]
    assert cat["name"] == "mouse" and cat["keypoints"] == ["nose", "left_ear", "right_ear"]
    assert cat["skeleton"] == [[1, 2], [1, 3]]  # COCO: 1-based
    anns = coco["annotations"]
    assert len(anns) == 2  # the image with no label keeps no annotation
    assert anns[0]["keypoints"] == [10.5, 20.0, 2, 30.0, 22.0, 2, 31.0, 40.0, 2]
    assert anns[1]["keypoints"][6:] == [0.0, 0.0, 0] and anns[1]["num_keypoints"] == 2
    # Box = points' extent + 5 px, clipped to the 96x64 image.
    assert anns[0]["bbox"] == [5.5, 15.0, 30.5, 30.0]
    assert anns[1]["bbox"] == [45.0, 53.0, 30.0, 11.0]
    assert anns[1]["area"] == pytest.approx(330.0)
    assert result.labelled == 5 and result.unlabelled == 1
    assert coco["info"]["image_root"] == str(project.resolve())


def test_layout_file_loads_and_carries_flip_pairs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    opts = DlcImportOptions(flip_pairs=(("left_ear", "right_ear"),), sigma=0.07)
    result = import_dlc(project, tmp_path / "c.json", opts, layout_path=tmp_path / "lay.yaml")
    layout = load_layout(result.layout)
    assert layout.name == "tiny_test"
    assert layout.keypoint_names == ("nose", "left_ear", "right_ear")
    assert layout.flip_pairs == ((1, 2),) and layout.skeleton == ((0, 1), (0, 2))
    assert layout.sigmas == (0.07, 0.07, 0.07)
    with pytest.raises(ValueError, match="unknown body parts"):
        import_dlc(project, tmp_path / "d.json", DlcImportOptions(flip_pairs=(("left_ear", "tail"),)))


def test_split_is_disjoint_complete_and_seeded(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    res = import_dlc(project, tmp_path / "s.json", val_fraction=0.34, split_seed=3)
    train = json.loads(res.outputs["train"].read_text())
    val = json.loads(res.outputs["val"].read_text())
    names = [im["file_name"] for im in train["images"]], [im["file_name"] for im in val["images"]]
    assert len(names[1]) == 1 and not set(names[0]) & set(names[1])
    assert sorted(names[0] + names[1]) == [f"labeled-data/vid1/img{i}.png" for i in range(3)]
    again = import_dlc(project, tmp_path / "t.json", val_fraction=0.34, split_seed=3)
    assert json.loads(again.outputs["val"].read_text())["images"] == val["images"]
    assert res.outputs["train"].name == "s_train.json"


def test_three_index_columns_and_moved_images(tmp_path: Path) -> None:
    # Newer DeepLabCut writes the path as three index columns; the video folder was renamed since.
    labels = textwrap.dedent("""\
        scorer,,,Ann,Ann,Ann,Ann,Ann,Ann
        bodyparts,,,nose,nose,left_ear,left_ear,right_ear,right_ear
        coords,,,x,y,x,y,x,y
        labeled-data,old_name,img1.png,1,2,3,4,5,6
        """)
    project = make_project(tmp_path / "proj", labels=labels)
    _, frames = load_dlc_project(project)
    assert len(frames) == 1 and frames[0].relpath == "labeled-data/vid1/img1.png"
    np.testing.assert_array_equal(frames[0].keypoints[0], [[1, 2], [3, 4], [5, 6]])


def test_multi_animal_individuals_become_instances(tmp_path: Path) -> None:
    config = CONFIG.split("skeleton:")[0] + "skeleton: [[nose, tail]]\n"
    config = config.replace("multianimalproject:", "multianimalproject: true\nmultianimalbodyparts: [nose, tail]")
    labels = textwrap.dedent("""\
        scorer,Ann,Ann,Ann,Ann,Ann,Ann,Ann,Ann,Ann,Ann
        individuals,m1,m1,m1,m1,m2,m2,m2,m2,single,single
        bodyparts,nose,nose,tail,tail,nose,nose,tail,tail,port,port
        coords,x,y,x,y,x,y,x,y,x,y
        labeled-data/vid1/img0.png,1,2,3,4,,,,,7,8
        labeled-data/vid1/img1.png,1,2,3,4,11,12,13,14,7,8
        """)
    project = make_project(tmp_path / "proj", config=config, labels=labels)
    result = import_dlc(project, tmp_path / "m.json")
    coco = json.loads(result.outputs["all"].read_text())
    assert coco["categories"][0]["keypoints"] == ["nose", "tail"]
    assert [a["image_id"] for a in coco["annotations"]] == [1, 2, 2]  # m2 is absent from image 1
    assert coco["annotations"][2]["keypoints"] == [11.0, 12.0, 2, 13.0, 14.0, 2]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (LABELS.replace("bodyparts,nose", "bodyparts,snout"), "body part 'snout' is not in config.yaml"),
        (LABELS.replace("10.5", "ten"), r"line 4: 'ten' in column 2 is not a number"),
        (LABELS.replace("img1.png", "nope.png"), r"line 5: image 'labeled-data/vid1/nope.png' not found"),
        ("scorer,Ann\nindividuals,m1\nbodyparts,nose\ncoords,x\n", "set multianimalproject in config.yaml"),
    ],
)
def test_bad_label_files_name_file_and_line(tmp_path: Path, labels: str, message: str) -> None:
    project = make_project(tmp_path / "proj", labels=labels)
    with pytest.raises(ValueError, match=message) as info:
        load_dlc_project(project)
    assert "CollectedData_Ann.csv" in str(info.value)


def test_h5_only_project_is_read_like_its_csv(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    project = make_project(tmp_path / "proj")
    _, from_csv = load_dlc_project(project)
    csv = project / "labeled-data" / "vid1" / "CollectedData_Ann.csv"
    # What DeepLabCut writes: the same table, a MultiIndex of 3 column levels, as HDF5.
    table = pd.read_csv(csv, header=[0, 1, 2], index_col=0)
    table.to_hdf(csv.with_suffix(".h5"), key="df_with_missing", mode="w")
    csv.unlink()
    _, from_h5 = load_dlc_project(project)
    assert [f.relpath for f in from_h5] == [f.relpath for f in from_csv]
    for a, b in zip(from_h5, from_csv, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
    csv.with_suffix(".h5").write_bytes(b"\x89HDF not really")
    with pytest.raises(ValueError, match=r"CollectedData_Ann.h5: not a DeepLabCut label table"):
        load_dlc_project(project)


def test_h5_without_pandas_says_how_to_install_or_get_the_csv(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    csv = project / "labeled-data" / "vid1" / "CollectedData_Ann.csv"
    csv.unlink()
    csv.with_suffix(".h5").write_bytes(b"\x89HDF")
    # A light install: no PyTables (None in sys.modules makes its import fail, as when absent).
    probe = textwrap.dedent(f"""\
        import sys
        sys.modules["tables"] = None
        from flowpose.cli.main import main
        sys.exit(main(["data", "import", {str(project)!r}, "-o", {str(tmp_path / "o.json")!r}]))
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "pip install 'flowpose[h5]'" in res.stderr and "read_hdf" in res.stderr
    assert "Traceback" not in res.stderr


def test_image_size_reads_png_headers_and_decodes_others(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((7, 13, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.jpg"), np.zeros((9, 5, 3), np.uint8))
    assert image_size(tmp_path / "a.png") == (13, 7)
    assert image_size(tmp_path / "b.jpg") == (5, 9)
    (tmp_path / "c.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="not an image"):
        image_size(tmp_path / "c.jpg")


def test_cli_import_runs_without_torch(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    out = tmp_path / "cli.json"
    probe = textwrap.dedent(f"""\
        import sys
        from flowpose.cli.main import main
        code = main(["data", "import-dlc", {str(project)!r}, "-o", {str(out)!r}, "--flip-pair", "left_ear,right_ear",
                     "--val-fraction", "0.5"])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
        print("HEAVY", heavy)
        sys.exit(code or (3 if heavy else 0))
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "train: " in res.stdout and "val: " in res.stdout
    assert load_layout(tmp_path / "cli_layout.yaml").flip_pairs == ((1, 2),)
    missing = subprocess.run(
        [sys.executable, "-m", "flowpose.cli.main", "data", "import-dlc", str(tmp_path / "nope"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "config.yaml" in missing.stderr
