"""COCO keypoint JSON (one category with ``keypoints`` names; boxes are remade from the points)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from flowpose.trainer.data.dlc_labels import DlcFrame, DlcProject
from flowpose.trainer.data.importers.base import ImportedLabels

__all__ = ["is_coco_keypoints", "load"]


def is_coco_keypoints(data: Any) -> bool:
    """Whether parsed JSON looks like a COCO keypoint file."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("images"), list)
        and isinstance(data.get("annotations"), list)
        and any(isinstance(c, dict) and c.get("keypoints") for c in data.get("categories") or [])
    )


def _image_root(path: Path, data: dict[str, Any]) -> Path:
    """Where ``file_name``s are relative to: info.image_root, else the first folder holding the first image."""
    given = (data.get("info") or {}).get("image_root")
    candidates = [Path(given)] if given else []
    candidates += [path.parent, path.parent / "images", path.parent.parent / "images", path.parent.parent]
    first = data["images"][0]["file_name"] if data["images"] else ""
    return next((c for c in candidates if (c / first).is_file()), path.parent)


def load(path: Path) -> ImportedLabels:
    """Read a COCO keypoint file whose keypoint category is the only one with keypoints.

    Raises:
        ValueError: Not COCO keypoints, several keypoint categories, or an image not found.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON ({exc})") from None
    if not is_coco_keypoints(data):
        raise ValueError(
            f"{path}: not a COCO keypoint file: it needs 'images', 'annotations' and a category with 'keypoints'"
        )
    cats = [c for c in data["categories"] if c.get("keypoints")]
    if len({tuple(c["keypoints"]) for c in cats}) > 1:
        raise ValueError(f"{path}: categories {[c.get('name') for c in cats]} have different keypoints; one set only")
    names = tuple(str(n) for n in cats[0]["keypoints"])
    k = len(names)
    links = tuple((names[a - 1], names[b - 1]) for a, b in cats[0].get("skeleton") or [] if 0 < a <= k and 0 < b <= k)
    cat_ids = {c.get("id") for c in cats}
    root = _image_root(path, data)
    by_image: dict[int, list[np.ndarray]] = {}
    for ann in data["annotations"]:
        if ann.get("category_id") not in cat_ids or ann.get("iscrowd"):
            continue
        kp = np.asarray(ann.get("keypoints") or [], dtype=np.float64)
        if kp.size != 3 * k:
            raise ValueError(f"{path}: annotation {ann.get('id')} has {kp.size // 3} keypoints, the category {k}")
        kp = kp.reshape(k, 3)
        points = np.where(kp[:, 2:3] > 0, kp[:, :2], np.nan)
        by_image.setdefault(int(ann["image_id"]), []).append(points)
    frames = []
    for image in data["images"]:
        file = root / image["file_name"]
        if not file.is_file():
            raise ValueError(f"{path}: image {image['file_name']!r} not found under {root} (set info.image_root)")
        animals = by_image.get(int(image["id"]))
        if animals:
            frames.append(DlcFrame(file.resolve(), Path(image["file_name"]).as_posix(), np.stack(animals)))
    task = str(cats[0].get("name") or path.stem)
    project = DlcProject(root.resolve(), task, "coco", names, links, True)
    notes = [] if len(frames) == len(data["images"]) else [f"{len(data['images']) - len(frames)} images have no labels"]
    return ImportedLabels("coco", project, frames, [path], notes=notes, path=path)
