"""COCO-keypoint JSON sources: any layout, splits by image, clear errors; the real sample files in ../shared."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from flowpose.codecs import build_codec
from flowpose.meta import load_layout
from flowpose.synthetic import SceneConfig, render_sample
from flowpose.trainer.data.coco import CocoKeypointSource
from flowpose.trainer.data.split import split_ids
from flowpose.trainer.pipeline.settings import TopdownSettings
from flowpose.trainer.pipeline.topdown import TopdownDataset, TopdownTransform

COCO = load_layout("coco17")


def _write_dataset(root: Path, n_images: int = 6) -> Path:
    """Synthetic people saved as real PNG files with a COCO-keypoint JSON beside them."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    (root / "img").mkdir(parents=True)
    for i in range(n_images):
        frame = render_sample(rng, SceneConfig(width=160, height=120, num_people=(1, 1), num_animals=(0, 0)))
        name = f"img/{i:03d}.png"
        cv2.imwrite(str(root / name), frame.image)
        images.append({"id": 100 + i, "file_name": name, "width": 160, "height": 120})
        obj = frame.objects[0]
        x1, y1, x2, y2 = obj.bbox.tolist()
        kp = np.concatenate([obj.keypoints, obj.visibility[:, None]], axis=1)
        annotations.append({"id": i + 1, "image_id": 100 + i, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "area": 0.5 * (x2 - x1) * (y2 - y1), "iscrowd": 0, "keypoints": kp.ravel().tolist(),
                            "num_keypoints": int((obj.visibility > 0).sum())})  # fmt: skip
    # A crowd region and an annotation without labelled keypoints: both unusable for top-down.
    annotations.append({**annotations[0], "id": 90, "iscrowd": 1})
    annotations.append({**annotations[1], "id": 91, "keypoints": [0] * 51, "num_keypoints": 0})
    path = root / "train.json"
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO.keypoint_names)}]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def test_coco_source_reads_boxes_keypoints_and_images(tmp_path: Path) -> None:
    ann = _write_dataset(tmp_path)
    source = CocoKeypointSource(ann, COCO)
    assert len(source) == 6  # crowd and empty annotations skipped
    raw = json.loads(ann.read_text())["annotations"][2]
    image, inst = source.get(2, np.random.default_rng(0))
    x, y, w, h = raw["bbox"]
    np.testing.assert_allclose(inst.bbox, [x, y, x + w, y + h], rtol=1e-6)
    np.testing.assert_allclose(inst.keypoints, np.asarray(raw["keypoints"]).reshape(17, 3)[:, :2], rtol=1e-6)
    assert inst.area == pytest.approx(raw["area"]) and inst.image_id == 102 and inst.label == "person"
    np.testing.assert_array_equal(image, cv2.imread(str(tmp_path / "img" / "002.png")))


def test_split_by_image_is_seeded_and_disjoint(tmp_path: Path) -> None:
    ann = _write_dataset(tmp_path)
    parts = {
        p: CocoKeypointSource(ann, COCO, split={"part": p, "val_count": 2, "seed": 4}, cache_images=True)
        for p in ("train", "val")
    }
    ids = {p: {i.image_id for i in s.instances} for p, s in parts.items()}
    assert len(ids["val"]) == 2 and len(ids["train"]) == 4 and not ids["val"] & ids["train"]
    assert ids["val"] == split_ids(range(100, 106), "val", val_count=2, seed=4)
    assert split_ids(range(100, 106), "val", val_fraction=0.34, seed=4) == ids["val"]  # round(6 * 0.34) = 2
    with pytest.raises(ValueError, match="exactly one"):
        split_ids([1, 2, 3], "val")
    with pytest.raises(ValueError, match="empty part"):
        split_ids([1, 2, 3], "val", val_count=3)


def test_any_keypoint_layout_from_a_file(tmp_path: Path) -> None:
    """A 3-keypoint layout of the user's: targets have 3 channels, flips use its pairs."""
    ann = _write_dataset(tmp_path)
    data = json.loads(ann.read_text())
    keep = [COCO.index(n) for n in ("nose", "left_wrist", "right_wrist")]
    for a in data["annotations"]:
        a["keypoints"] = np.asarray(a["keypoints"]).reshape(17, 3)[keep].ravel().tolist()
    small = tmp_path / "small.json"
    small.write_text(json.dumps(data))
    layout_file = tmp_path / "wrists.yaml"
    layout_file.write_text(
        "name: wrists\nkeypoints:\n"
        "  - {name: nose, color: [255, 0, 0], sigma: 0.03, weight: 1.0}\n"
        "  - {name: left_wrist, color: [0, 255, 0], sigma: 0.06, weight: 1.5}\n"
        "  - {name: right_wrist, color: [0, 0, 255], sigma: 0.06, weight: 1.5}\n"
        "flip_pairs: [[left_wrist, right_wrist]]\nskeleton: []\n"
    )
    layout = load_layout(layout_file)
    source = CocoKeypointSource(small, layout)
    settings = TopdownSettings.from_dict({"input_size": [64, 64]})
    codec = build_codec({"type": "heatmap", "input_size": [64, 64], "heatmap_size": [16, 16]})
    dataset = TopdownDataset(source, TopdownTransform(settings, codec, layout, train=True))
    np.random.seed(0)
    sample = dataset[0]
    assert sample["heatmaps"].shape == (3, 16, 16) and sample["keypoint_weights"].shape == (3,)
    # Joint weights of the layout scale the loss weights of labelled, in-crop keypoints.
    assert set(np.round(sample["keypoint_weights"], 3)) <= {0.0, 1.0, 1.5}
    with pytest.raises(ValueError, match=r"annotation 1 has 3 keypoints; layout 'coco17' has 17"):
        CocoKeypointSource(small, COCO)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="COCO annotation file not found"):
        CocoKeypointSource(tmp_path / "nope.json", COCO)
    ann = _write_dataset(tmp_path)
    (tmp_path / "img" / "001.png").unlink()
    source = CocoKeypointSource(ann, COCO)
    with pytest.raises(FileNotFoundError, match=r"001\.png"):
        source.get(1, np.random.default_rng(0))


@pytest.mark.realdata
@pytest.mark.parametrize(("folder", "file", "layout", "count"), [
    ("coco", "test_coco.json", "coco17", 12),
    ("ap10k", "test_ap10k.json", "ap10k", 2),
    ("animalpose", "test_animalpose.json", None, 2),
])  # fmt: skip
def test_real_coco_style_files(shared_dir: Path, tmp_path: Path, folder: str, file: str, layout, count: int) -> None:
    ann = shared_dir / "data" / "coco_style" / folder / file
    if layout is None:  # AnimalPose's 20 keypoints: a layout written from the file's own names
        names = json.loads(ann.read_text())["categories"][0]["keypoints"]
        lines = [f"  - {{name: {n}, color: [0, 255, 0], sigma: 0.05, weight: 1.0}}" for n in names]
        path = tmp_path / "animalpose.yaml"
        path.write_text("name: animalpose\nkeypoints:\n" + "\n".join(lines) + "\nflip_pairs: []\nskeleton: []\n")
        layout = path
    kl = load_layout(layout)
    source = CocoKeypointSource(ann, kl)
    assert len(source) == count
    settings = TopdownSettings.from_dict({"input_size": [96, 128], "photometric": None})
    codec = build_codec({"type": "heatmap", "input_size": [96, 128], "heatmap_size": [24, 32], "unbiased": True})
    dataset = TopdownDataset(source, TopdownTransform(settings, codec, kl, train=False))
    for i in range(len(dataset)):
        sample = dataset[i]
        assert sample["image"].shape == (3, 128, 96)
        labelled = sample["gt_visibility"] > 0
        # Labelled keypoints are inside the padded box, so they get weight in the targets.
        assert (sample["keypoint_weights"][labelled] > 0).mean() > 0.9
