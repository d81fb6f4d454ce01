"""DeepLabCut import of the two real example projects in ../shared."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.meta import load_layout
from flowpose.trainer.data.dlc_coco import DlcImportOptions
from flowpose.trainer.data.dlc_import import import_dlc

pytestmark = pytest.mark.realdata


def test_openfield_imports_and_splits_95_21(shared_dir: Path, tmp_path: Path) -> None:
    project = shared_dir / "data" / "dlc_openfield"
    opts = DlcImportOptions(category="mouse")
    res = import_dlc(project, tmp_path / "openfield.json", opts, val_fraction=0.18, split_seed=0)
    assert res.images == {"train": 95, "val": 21} and res.annotations == {"train": 95, "val": 21}
    assert res.labelled == 116 * 4 and res.unlabelled == 0
    train = json.loads(res.outputs["train"].read_text())
    val = json.loads(res.outputs["val"].read_text())
    assert not {i["file_name"] for i in train["images"]} & {i["file_name"] for i in val["images"]}
    assert train["categories"][0]["keypoints"] == ["snout", "leftear", "rightear", "tailbase"]
    for coco in (train, val):
        sizes = {(im["width"], im["height"]) for im in coco["images"]}
        assert sizes == {(640, 480)}
        for im in coco["images"]:
            assert (project / im["file_name"]).is_file()
        for ann in coco["annotations"]:
            kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
            x, y, w, h = ann["bbox"]
            # Every labelled point inside its box; boxes inside the image.
            assert (kp[:, 0] >= x).all() and (kp[:, 0] <= x + w).all()
            assert (kp[:, 1] >= y).all() and (kp[:, 1] <= y + h).all()
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480
    assert load_layout(res.layout).keypoint_names == ("snout", "leftear", "rightear", "tailbase")


def test_reaching_with_missing_labels_imports(shared_dir: Path, tmp_path: Path) -> None:
    res = import_dlc(shared_dir / "data" / "dlc_reaching", tmp_path / "reaching.json")
    coco = json.loads(res.outputs["all"].read_text())
    assert len(coco["images"]) == 55
    for im in coco["images"]:  # 40 are 832x747 and 15 are 640x470: sizes must come from each image
        h, w = cv2.imread(str(shared_dir / "data" / "dlc_reaching" / im["file_name"])).shape[:2]
        assert (im["width"], im["height"]) == (w, h)
    assert res.labelled == 233 and res.unlabelled == 275 - 233
    kp = np.array([a["keypoints"] for a in coco["annotations"]], float).reshape(len(coco["annotations"]), -1, 3)
    unlabelled = kp[..., 2] == 0
    assert unlabelled.sum() == 42 and (kp[unlabelled][:, :2] == 0).all()
    assert sum(a["num_keypoints"] for a in coco["annotations"]) == 233
    layout = load_layout(res.layout)
    assert layout.skeleton == ((0, 1), (3, 4))  # Hand-Finger1, Joystick1-Joystick2 from config.yaml
