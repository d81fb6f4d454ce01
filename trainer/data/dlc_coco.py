"""DeepLabCut project -> COCO-keypoint JSON (+ a flowpose keypoint layout file).

Conventions of the output:

* ``images[].file_name`` is relative to the project folder (``labeled-data/v/img.png``) unless
  ``absolute_paths``; ``info.image_root`` holds the project folder's absolute path.
* Keypoints keep DeepLabCut's pixel coordinates; labelled points get visibility 2, unlabelled
  ones ``0, 0, 0`` (DeepLabCut has no "occluded" state).
* ``bbox`` encloses the labelled points of an animal plus a margin
  (``margin_px + margin_frac * longer side``), clipped to the image; ``area`` is the box area.
  An animal with no labelled point gets no annotation (its image stays, with fewer objects).
* ``categories[0].skeleton`` uses COCO's 1-based keypoint indices.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowpose.trainer.data.dlc import DlcFrame, DlcProject

__all__ = ["DlcImportOptions", "dlc_layout", "frames_to_coco", "image_size", "split_frames", "write_json"]

logger = logging.getLogger(__name__)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class DlcImportOptions:
    """How DeepLabCut labels become COCO annotations and a layout.

    Attributes:
        category: COCO category name of the animals (the detection label pose models serve).
        margin_px: Fixed margin around the labelled points, pixels.
        margin_frac: Extra margin, as a fraction of the longer side of the points' extent.
        sigma: OKS sigma of every keypoint in the layout (COCO body joints are 0.06-0.11,
            eyes 0.025); 0.05 suits small, precisely clicked points.
        flip_pairs: Left/right body part pairs that swap under a horizontal flip.
        layout_name: Name of the keypoint layout; None: from the project's task.
        absolute_paths: Write absolute image paths instead of project-relative ones.
    """

    category: str = "animal"
    margin_px: float = 20.0
    margin_frac: float = 0.1
    sigma: float = 0.05
    flip_pairs: tuple[tuple[str, str], ...] = ()
    layout_name: str | None = None
    absolute_paths: bool = False

    def __post_init__(self) -> None:
        if not self.category:
            raise ValueError("category must be a non-empty name")
        if self.margin_px < 0 or self.margin_frac < 0:
            raise ValueError(f"margins must be >= 0, got margin_px={self.margin_px}, margin_frac={self.margin_frac}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")

    def layout_name_for(self, project: DlcProject) -> str:
        """The layout name: given, or the task name made identifier-like (``"openfield"``)."""
        return self.layout_name or re.sub(r"[^0-9a-zA-Z_]+", "_", project.task.strip()).strip("_").lower() or "dlc"


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image: from the PNG header when it is one, else by decoding it.

    Raises:
        ValueError: The file is no image OpenCV can read.
    """
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return int(image.shape[1]), int(image.shape[0])


def margin_box(
    points: np.ndarray, size: tuple[int, int], margin_px: float, margin_frac: float
) -> tuple[float, float, float, float]:
    """``(x1, y1, x2, y2)`` around ``points`` (M, 2) plus ``margin_px + margin_frac * longer side``,
    clipped to the image ``size`` (w, h): the box an imported animal gets, and its training crop's."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = margin_px + margin_frac * float((hi - lo).max())
    x1, y1 = max(lo[0] - pad, 0.0), max(lo[1] - pad, 0.0)
    x2, y2 = min(hi[0] + pad, float(size[0])), min(hi[1] + pad, float(size[1]))
    return float(x1), float(y1), float(x2), float(y2)


def _box(points: np.ndarray, size: tuple[int, int], opts: DlcImportOptions) -> list[float]:
    """COCO ``[x, y, w, h]`` around ``points`` (M, 2) plus the margin, clipped to the image."""
    x1, y1, x2, y2 = margin_box(points, size, opts.margin_px, opts.margin_frac)
    return [round(float(v), 3) for v in (x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0))]


def frames_to_coco(project: DlcProject, frames: list[DlcFrame], opts: DlcImportOptions) -> dict[str, Any]:
    """Build the COCO-keypoint dataset of ``frames`` (see the module doc for conventions)."""
    names = list(project.bodyparts)
    index = {n: i + 1 for i, n in enumerate(names)}
    images, annotations = [], []
    for image_id, frame in enumerate(frames, start=1):
        size = image_size(frame.image)
        file_name = str(frame.image) if opts.absolute_paths else frame.relpath
        images.append({"id": image_id, "file_name": file_name, "width": size[0], "height": size[1]})
        for animal in frame.keypoints:
            labelled = ~np.isnan(animal).any(axis=1)
            if not labelled.any():
                continue
            flat = []
            for (x, y), ok in zip(animal, labelled, strict=True):
                flat += [round(float(x), 3), round(float(y), 3), 2] if ok else [0.0, 0.0, 0]
            box = _box(animal[labelled], size, opts)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "bbox": box,
                "area": round(box[2] * box[3], 3), "iscrowd": 0, "keypoints": flat,
                "num_keypoints": int(labelled.sum()),
            })  # fmt: skip
    category = {
        "id": 1,
        "name": opts.category,
        "supercategory": "animal",
        "keypoints": names,
        "skeleton": [[index[a], index[b]] for a, b in project.skeleton],
    }
    info = {
        "description": f"DeepLabCut project {project.task!r} (scorer {project.scorer}), imported by flowpose",
        "image_root": str(project.root),
        "keypoint_layout": opts.layout_name_for(project),
    }
    return {"info": info, "images": images, "annotations": annotations, "categories": [category]}


def dlc_layout(project: DlcProject, opts: DlcImportOptions) -> dict[str, Any]:
    """The project's keypoint layout in the file format :func:`flowpose.meta.load_layout` reads."""
    names = list(project.bodyparts)
    for pair in opts.flip_pairs:
        unknown = [p for p in pair if p not in names]
        if unknown:
            raise ValueError(f"flip pair {list(pair)}: unknown body parts {unknown}; known: {names}")
    hues = np.linspace(0, 180, len(names), endpoint=False).astype(np.uint8)  # spread around the colour wheel
    hsv = np.stack([hues, np.full_like(hues, 220), np.full_like(hues, 255)], axis=-1)[None]
    colors = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0].tolist()
    return {
        "name": opts.layout_name_for(project),
        "description": f"DeepLabCut project {project.task!r}: {len(names)} body parts",
        "keypoints": [
            {"name": n, "color": c, "sigma": opts.sigma, "weight": 1.0} for n, c in zip(names, colors, strict=True)
        ],
        "flip_pairs": [list(p) for p in opts.flip_pairs],
        "skeleton": [{"link": [a, b], "color": [0, 255, 0]} for a, b in project.skeleton],
    }


def split_frames(frames: list[DlcFrame], val_fraction: float, seed: int) -> tuple[list[DlcFrame], list[DlcFrame]]:
    """A random train/val split of whole images (``round(val_fraction * n)`` go to val, at least 1).

    Raises:
        ValueError: ``val_fraction`` outside (0, 1) or fewer than 2 frames.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val fraction must be in (0, 1), got {val_fraction}")
    if len(frames) < 2:
        raise ValueError(f"cannot split {len(frames)} labelled frame(s) into train and val")
    n_val = min(max(round(val_fraction * len(frames)), 1), len(frames) - 1)
    order = np.random.default_rng(seed).permutation(len(frames))
    val = set(order[:n_val].tolist())
    return [f for i, f in enumerate(frames) if i not in val], [f for i, f in enumerate(frames) if i in val]


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` as JSON, creating the folder; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    logger.info("wrote %s (%d images, %d annotations)", path, len(data["images"]), len(data["annotations"]))
    return path
