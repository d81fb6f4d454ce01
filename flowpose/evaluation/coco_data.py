"""Reading a COCO-style keypoint file and its image folder, with every problem said plainly.

A user's own annotation file is the input here, so nothing is assumed: the JSON is checked
field by field and each error names the file, the entry and what is wrong, instead of a
``KeyError`` from deep inside pycocotools.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CocoAnnotation", "CocoCategory", "CocoImage", "CocoInputError", "CocoKeypointFile", "load_coco_keypoints"]

logger = logging.getLogger(__name__)

# Missing images are listed up to this many; a wrong --images folder would otherwise print thousands.
_SHOW_MISSING = 5


class CocoInputError(ValueError):
    """The images or annotations cannot be evaluated; the message says what and where."""


@dataclass(frozen=True)
class CocoCategory:
    """A category of the annotation file.

    Attributes:
        id: Its ``category_id``.
        name: Its name, e.g. ``"person"`` or ``"dog"``.
        keypoint_names: Its keypoints in annotation order (empty for a category without keypoints).
    """

    id: int
    name: str
    keypoint_names: tuple[str, ...]


@dataclass(frozen=True)
class CocoImage:
    """An image entry and where its file is.

    Attributes:
        id: Its ``image_id``.
        file_name: As written in the file.
        path: ``images_dir / file_name``.
    """

    id: int
    file_name: str
    path: Path


@dataclass(frozen=True)
class CocoAnnotation:
    """One annotated instance.

    Attributes:
        id: Its annotation id.
        image_id: The image it belongs to.
        category_id: Its category.
        bbox: ``[x1, y1, x2, y2]`` float64 (converted from COCO's ``[x, y, w, h]``).
        keypoints: (K, 2) float64 image pixels, K of its category.
        visibility: (K,) COCO flags (0 = not labelled, 1 = labelled but hidden, 2 = visible).
        area: Its ``area`` (OKS scale); the box area when the file has none.
        iscrowd: Whether it is a crowd region (never matched, as in COCO).
    """

    id: int
    image_id: int
    category_id: int
    bbox: np.ndarray
    keypoints: np.ndarray
    visibility: np.ndarray
    area: float
    iscrowd: bool

    @property
    def num_labelled(self) -> int:
        """Keypoints with a label (visibility > 0)."""
        return int((self.visibility > 0).sum())


@dataclass(frozen=True)
class CocoKeypointFile:
    """A checked annotation file restricted to the images being evaluated.

    Attributes:
        path: The JSON file.
        images: The evaluated images, in file order.
        annotations: Their annotations, in file order.
        categories: Categories with keypoints, by id.
        skipped_images: Images left out by ``limit``.
    """

    path: Path
    images: tuple[CocoImage, ...]
    annotations: tuple[CocoAnnotation, ...]
    categories: dict[int, CocoCategory]
    skipped_images: int = 0

    def annotations_of(self, image_id: int) -> list[CocoAnnotation]:
        """The annotations of one image, in file order."""
        return [a for a in self.annotations if a.image_id == image_id]


def load_coco_keypoints(annotations: Path, images_dir: Path, limit: int | None = None) -> CocoKeypointFile:
    """Read and check a COCO keypoint file and check that its images exist.

    Args:
        annotations: The JSON file (``images``, ``annotations``, ``categories`` with ``keypoints``).
        images_dir: The folder the ``file_name`` entries are relative to.
        limit: Evaluate only the first N images of the file (None: all).

    Returns:
        The checked file, limited to the first ``limit`` images.

    Raises:
        CocoInputError: On a missing folder or file, invalid JSON, a malformed entry or missing
            images, naming each.
    """
    annotations, images_dir = Path(annotations), Path(images_dir)
    if not images_dir.is_dir():
        raise CocoInputError(f"--images: {images_dir} is not a folder")
    if not annotations.is_file():
        raise CocoInputError(f"--annotations: {annotations} does not exist")
    try:
        data = json.loads(annotations.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CocoInputError(f"{annotations}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CocoInputError(f"{annotations}: a COCO file is a JSON object, got a {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise CocoInputError(f"{annotations}: needs a list {key!r} (COCO keypoint format)")
    where = str(annotations)
    categories = _categories(data["categories"], where)
    images = _images(data["images"], images_dir, where)
    if limit is not None:
        if limit < 1:
            raise CocoInputError(f"--limit must be at least 1, got {limit}")
        skipped = max(0, len(images) - limit)
        images = images[:limit]
    else:
        skipped = 0
    if not images:
        raise CocoInputError(f"{annotations}: lists no images")
    _check_files(images, images_dir)
    kept = {img.id for img in images}
    all_ids = {int(i["id"]) for i in data["images"]}
    anns = [
        a
        for a in (_annotation(raw, i, categories, all_ids, where) for i, raw in enumerate(data["annotations"]))
        if a is not None and a.image_id in kept
    ]
    return CocoKeypointFile(annotations, tuple(images), tuple(anns), categories, skipped)


def _categories(raw: list[Any], where: str) -> dict[int, CocoCategory]:
    out = {}
    for i, cat in enumerate(raw):
        if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
            raise CocoInputError(f"{where}: categories[{i}] needs an 'id' and a 'name'")
        names = cat.get("keypoints") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CocoInputError(f"{where}: categories[{i}] ({cat['name']}): 'keypoints' must be a list of names")
        out[int(cat["id"])] = CocoCategory(int(cat["id"]), str(cat["name"]), tuple(names))
    if not any(c.keypoint_names for c in out.values()):
        raise CocoInputError(
            f"{where}: no category lists 'keypoints'; this is not a keypoint file (need e.g. person_keypoints_*.json)"
        )
    return out


def _images(raw: list[Any], images_dir: Path, where: str) -> list[CocoImage]:
    images, seen = [], set()
    for i, img in enumerate(raw):
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            raise CocoInputError(f"{where}: images[{i}] needs an 'id' and a 'file_name'")
        image_id = int(img["id"])
        if image_id in seen:
            raise CocoInputError(f"{where}: images[{i}]: image id {image_id} appears twice")
        seen.add(image_id)
        images.append(CocoImage(image_id, img["file_name"], images_dir / img["file_name"]))
    return images


def _check_files(images: list[CocoImage], images_dir: Path) -> None:
    missing = [img.file_name for img in images if not img.path.is_file()]
    if missing:
        shown = ", ".join(missing[:_SHOW_MISSING]) + (", ..." if len(missing) > _SHOW_MISSING else "")
        raise CocoInputError(
            f"{len(missing)} of {len(images)} images not found in {images_dir}: {shown} "
            "(is --images the folder the file_name entries are relative to?)"
        )


def _annotation(
    raw: Any, index: int, categories: dict[int, CocoCategory], image_ids: set[int], where: str
) -> CocoAnnotation | None:
    """One checked annotation; None for categories without keypoints (nothing to score)."""
    here = f"{where}: annotations[{index}]"
    if not isinstance(raw, dict):
        raise CocoInputError(f"{here} is not an object")
    for key in ("image_id", "category_id", "bbox"):
        if key not in raw:
            raise CocoInputError(f"{here} has no {key!r}")
    cat = categories.get(int(raw["category_id"]))
    if cat is None:
        raise CocoInputError(f"{here}: category_id {raw['category_id']} is not in 'categories'")
    if not cat.keypoint_names:
        return None
    if int(raw["image_id"]) not in image_ids:
        raise CocoInputError(f"{here}: image_id {raw['image_id']} is not in 'images'")
    bbox = np.asarray(raw["bbox"], dtype=np.float64)
    if bbox.shape != (4,) or not np.isfinite(bbox).all() or bbox[2] < 0 or bbox[3] < 0:
        raise CocoInputError(f"{here}: bbox must be [x, y, w, h] with w, h >= 0, got {raw['bbox']}")
    k = len(cat.keypoint_names)
    flat = np.asarray(raw.get("keypoints", [0.0] * 3 * k), dtype=np.float64)
    if flat.shape != (3 * k,):
        raise CocoInputError(
            f"{here}: 'keypoints' has {flat.size} numbers; category {cat.name!r} has {k} keypoints, "
            f"so 3 x {k} = {3 * k}"
        )
    triples = flat.reshape(k, 3)
    area = float(raw.get("area") or bbox[2] * bbox[3])
    x, y, w, h = bbox
    return CocoAnnotation(
        id=int(raw.get("id", index + 1)),
        image_id=int(raw["image_id"]),
        category_id=cat.id,
        bbox=np.array([x, y, x + w, y + h]),
        keypoints=triples[:, :2].copy(),
        visibility=triples[:, 2].copy(),
        area=area,
        iscrowd=bool(raw.get("iscrowd", 0)),
    )
