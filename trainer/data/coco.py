"""COCO-keypoint JSON datasets (any keypoint layout) as a :class:`PoseSource`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowpose.meta import KeypointLayout
from flowpose.trainer.data.records import PoseInstance
from flowpose.trainer.data.split import split_ids

__all__ = ["CocoKeypointSource", "read_coco_instances"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    path: Path
    instance: PoseInstance


def read_coco_instances(
    ann_file: Path, layout: KeypointLayout, image_root: Path | None = None, min_keypoints: int = 1
) -> list[tuple[Path, PoseInstance]]:
    """Read every usable person/animal annotation of a COCO-keypoint file.

    Images are found under ``image_root``, else the file's ``info.image_root`` (written by
    the DeepLabCut import), else the JSON file's folder. Crowd annotations and those with
    fewer than ``min_keypoints`` labelled keypoints are skipped.

    Raises:
        FileNotFoundError: If ``ann_file`` is missing.
        ValueError: On a file that is not COCO-keypoint JSON or whose keypoint count differs
            from the layout's, naming the file and the annotation.
    """
    ann_file = Path(ann_file)
    if not ann_file.is_file():
        raise FileNotFoundError(f"COCO annotation file not found: {ann_file}")
    try:
        coco: dict[str, Any] = json.loads(ann_file.read_text(encoding="utf-8"))
        images = {int(im["id"]): im for im in coco["images"]}
        annotations = coco["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{ann_file}: not a COCO-keypoint file ({exc!r})") from None
    root = Path(image_root or (coco.get("info") or {}).get("image_root") or ann_file.parent)
    labels = {c.get("id"): c.get("name", "") for c in coco.get("categories", [])}
    k = layout.num_keypoints
    out = []
    for i, ann in enumerate(annotations):
        where = f"{ann_file}: annotation {ann.get('id', i)}"
        kp = np.asarray(ann.get("keypoints", []), dtype=np.float32)
        if kp.size != 3 * k:
            raise ValueError(f"{where} has {kp.size // 3} keypoints; layout {layout.name!r} has {k}")
        kp = kp.reshape(k, 3)
        if ann.get("iscrowd", 0) or int((kp[:, 2] > 0).sum()) < min_keypoints:
            continue
        image = images.get(int(ann["image_id"]))
        if image is None:
            raise ValueError(f"{where} refers to image {ann['image_id']}, which is not in 'images'")
        if "bbox" in ann:
            x, y, w, h = (float(v) for v in ann["bbox"])
        else:  # boxes are optional in COCO keypoint files made by hand: enclose the labelled points
            pts = kp[kp[:, 2] > 0, :2]
            (x, y), (x2, y2) = pts.min(0), pts.max(0)
            w, h = float(x2 - x), float(y2 - y)
        if w <= 0 or h <= 0:
            log.warning("%s: empty bbox %s skipped", where, [x, y, w, h])
            continue
        inst = PoseInstance(
            bbox=np.array([x, y, x + w, y + h]),
            keypoints=kp[:, :2],
            visibility=kp[:, 2],
            area=float(ann.get("area") or w * h),
            image_id=int(ann["image_id"]),
            label=str(labels.get(ann.get("category_id"), "")),
        )
        out.append((root / image["file_name"], inst))
    return out


class CocoKeypointSource:
    """Top-down samples (one per annotation) from a COCO-keypoint JSON file.

    Args:
        ann_file: The JSON file.
        layout: Keypoint layout of its annotations.
        image_root: Folder the ``file_name``s are relative to (see :func:`read_coco_instances`).
        min_keypoints: Skip annotations with fewer labelled keypoints.
        split: Optional ``{part: train|val, val_count|val_fraction: ..., seed: 0}``: keep one
            part of a seeded split by image.
        cache_images: Decode every image once, at construction (small datasets: DataLoader
            workers then share the decoded images copy-on-write).
    """

    def __init__(
        self,
        ann_file: str | Path,
        layout: KeypointLayout,
        image_root: str | Path | None = None,
        min_keypoints: int = 1,
        split: dict[str, Any] | None = None,
        cache_images: bool = False,
    ) -> None:
        self.layout = layout
        entries = read_coco_instances(Path(ann_file), layout, Path(image_root) if image_root else None, min_keypoints)
        if split:
            opts = dict(split)
            keep = split_ids((e.image_id for _, e in entries), opts.pop("part", "train"), **opts)
            entries = [(p, e) for p, e in entries if e.image_id in keep]
        if not entries:
            raise ValueError(f"{ann_file}: no usable annotations (with >= {min_keypoints} labelled keypoints)")
        self.entries = [_Entry(p, e) for p, e in entries]
        self._cache: dict[Path, np.ndarray] = {}
        self._caching = cache_images
        if cache_images:
            for entry in self.entries:
                self._read(entry.path)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def instances(self) -> list[PoseInstance]:
        return [e.instance for e in self.entries]

    def get(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, PoseInstance]:
        entry = self.entries[index]
        return self._read(entry.path), entry.instance

    def _read(self, path: Path) -> np.ndarray:
        image = self._cache.get(path)
        if image is None:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(f"cannot read image {path}")
            if self._caching:
                self._cache[path] = image
        return image
