"""Labelled frames for ``flowpose eval labels``: a DeepLabCut project or a COCO JSON file, split
exactly as the trainer splits it (no torch).

A DeepLabCut project goes through the trainer's importer (:func:`flowpose.trainer.data.dlc_import.import_dlc`,
numpy + OpenCV only) into COCO JSON in a temporary folder; a COCO file is read as it is. Both
are then split by :func:`flowpose.trainer.data.split.split_coco` with the same plan (fractions,
seed, by video or frame) a ``dlc`` training source uses, so the ``test`` part is the frames the
trainer neither trained on nor chose ``best.pt`` on.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flowpose.trainer.data.split import SplitPlan, SplitResult, split_coco

__all__ = ["LabelledInstance", "LabelledSet", "LabelsInputError", "load_labelled"]

SPLITS = ("test", "val", "train", "all")


class LabelsInputError(ValueError):
    """Bad ``--data`` (or ``--images``): the message names the file and what is wrong."""


@dataclass(frozen=True)
class LabelledInstance:
    """One labelled animal on one frame.

    Attributes:
        image: The image file.
        file_name: As written in the labels (reports name frames by it).
        keypoints: (K, 2) labelled positions in image pixels.
        visible: (K,) > 0 where labelled.
        box: ``[x1, y1, x2, y2]`` of the labels' box (the importer's: points plus margin).
    """

    image: Path
    file_name: str
    keypoints: np.ndarray
    visible: np.ndarray
    box: np.ndarray


@dataclass
class LabelledSet:
    """The instances of one split part and how they were chosen.

    Attributes:
        names: Keypoint names of the labels.
        instances: The instances of the part.
        source: ``"DeepLabCut project DIR"`` or ``"COCO file F"``.
        split: How the frames were split (None for ``all``).
        part: ``test``, ``val``, ``train`` or ``all``.
        frames: Frames in the part.
    """

    names: tuple[str, ...]
    instances: list[LabelledInstance]
    source: str
    part: str
    frames: int
    split: SplitResult | None = None
    notes: list[str] = field(default_factory=list)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelsInputError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations")):
        raise LabelsInputError(f"{path}: not a COCO keypoint file (needs 'images' and 'annotations' lists)")
    return data


def _import_project(project: Path) -> dict[str, Any]:
    """A DeepLabCut project (or another format the trainer's importer reads) as COCO JSON, through
    that importer (written to a temp folder)."""
    from flowpose.trainer.data.dlc_coco import DlcImportOptions
    from flowpose.trainer.data.dlc_import import import_dlc

    with tempfile.TemporaryDirectory(prefix="flowpose-labels-") as tmp:
        try:
            res = import_dlc(project, Path(tmp) / "labels.json", DlcImportOptions())
        except (FileNotFoundError, ValueError) as exc:
            raise LabelsInputError(str(exc)) from None
        return _read_json(Path(res.outputs["all"]))


def load_labelled(data: str | Path, part: str, plan: SplitPlan, images: str | Path | None = None) -> LabelledSet:
    """Read labelled frames and keep the instances of ``part``.

    Args:
        data: A DeepLabCut project folder (with ``config.yaml``) or a COCO keypoint JSON file.
        part: ``test``, ``val``, ``train`` or ``all``.
        plan: The split (the trainer's defaults unless the run used others).
        images: Image folder of a COCO file (default: its ``info.image_root``, else its folder).

    Raises:
        LabelsInputError: Missing or malformed data, an empty part, a missing image.
    """
    if part not in SPLITS:
        raise LabelsInputError(f"--split must be one of {', '.join(SPLITS)}, got {part!r}")
    path = Path(data).expanduser()
    if path.is_dir():
        coco, source = _import_project(path), f"DeepLabCut project {path}"
    elif path.is_file() and path.suffix.lower() == ".json":
        coco, source = _read_json(path), f"COCO file {path}"
    elif path.is_file():  # another label file the importer reads (a SLEAP .slp, a CSV-only project's CSV)
        coco, source = _import_project(path), f"labels {path}"
    else:
        raise LabelsInputError(f"--data {path}: no such DeepLabCut project folder or COCO JSON file")
    if images is not None:
        root = Path(images).expanduser()
        if not root.is_dir():
            raise LabelsInputError(f"--images {root}: no such folder")
    else:  # the importer writes the project folder as info.image_root; a hand-made file: its folder
        root = Path((coco.get("info") or {}).get("image_root") or path.parent)
    cats = coco.get("categories") or []
    if len(cats) != 1 or not isinstance(cats[0].get("keypoints"), list) or not cats[0]["keypoints"]:
        raise LabelsInputError(f"{source}: needs exactly one category with a 'keypoints' name list")
    names = tuple(str(n) for n in cats[0]["keypoints"])
    split = None
    if part != "all":
        try:
            parts, split = split_coco(coco, plan)
        except (ValueError, KeyError, TypeError) as exc:
            raise LabelsInputError(f"{source}: cannot split it: {exc}") from None
        coco = parts[part]
    if not coco["images"]:
        raise LabelsInputError(f"{source}: the {part} part is empty ({split.describe() if split else 'no frames'})")
    return LabelledSet(names, _instances(coco, names, root, source), source, part, len(coco["images"]), split)


def _instances(coco: dict[str, Any], names: tuple[str, ...], root: Path, source: str) -> list[LabelledInstance]:
    images = {int(im["id"]): im for im in coco["images"]}
    out = []
    for i, ann in enumerate(coco["annotations"]):
        where = f"{source}: annotation {ann.get('id', i)}"
        kp = np.asarray(ann.get("keypoints") or [], np.float64)
        if kp.size != 3 * len(names):
            raise LabelsInputError(f"{where} has {kp.size // 3} keypoints, the category {len(names)}")
        kp = kp.reshape(-1, 3)
        if ann.get("iscrowd") or not (kp[:, 2] > 0).any():
            continue
        im = images.get(int(ann["image_id"]))
        if im is None:
            raise LabelsInputError(f"{where}: image {ann['image_id']} is not in 'images'")
        image = root / str(im["file_name"])
        if not image.is_file():
            raise LabelsInputError(f"{where}: image not found: {image}")
        if "bbox" in ann:
            x, y, w, h = (float(v) for v in ann["bbox"])
        else:
            pts = kp[kp[:, 2] > 0, :2]
            (x, y), (x2, y2) = pts.min(0), pts.max(0)
            w, h = x2 - x, y2 - y
        box = np.array([x, y, x + w, y + h], np.float64)
        out.append(LabelledInstance(image, str(im["file_name"]), kp[:, :2], kp[:, 2], box))
    if not out:
        raise LabelsInputError(f"{source}: no labelled keypoint in the chosen frames")
    return out
