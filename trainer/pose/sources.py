"""Build the train/val :class:`PoseSource`s named in the config's ``data:`` section.

Source types (``data.train`` / ``data.val``)::

    {type: synthetic, kind: person|animal, num_samples: N, seed: S, scene: {...}}
    {type: coco, ann_file: F, image_root: D, split: {part, val_count|val_fraction, seed}, cache_images: B}
    {type: dlc, project: P, val_fraction: 0.15, test_fraction: 0.15, split_seed: 0, split_by: auto,
     category: mouse, flip_pairs: [[l, r]], part: train|val|test, cache_dir: D}

A ``dlc`` source converts the DeepLabCut project once into COCO JSON (the importer of
:mod:`flowpose.trainer.data.dlc_import`) under ``cache_dir``, splits it into train / val / test
(:func:`flowpose.trainer.data.split.split_coco`: by video, by frame for a one-video project;
``flowpose eval labels`` makes the same split) and then reads a part as ``coco``.
Relative paths are relative to the config file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from flowpose.meta import KeypointLayout, load_layout
from flowpose.trainer.data.coco import CocoKeypointSource
from flowpose.trainer.data.records import PoseSource
from flowpose.trainer.data.synthetic import KINDS, SyntheticPoseSource, SyntheticSpec

__all__ = ["build_source", "resolve_layout"]

log = logging.getLogger(__name__)


def _path(value: str | Path, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def resolve_layout(data: dict[str, Any], base: Path) -> KeypointLayout:
    """The layout of ``data.layout`` (name or file), else implied by the train source."""
    if data.get("layout"):
        name = str(data["layout"])
        return load_layout(_path(name, base) if name.endswith((".yaml", ".yml")) else name)
    train = data.get("train") or {}
    if train.get("type") == "synthetic":
        return load_layout(KINDS.get(train.get("kind"), "coco17"))
    if train.get("type") == "dlc":
        return load_layout(_import_dlc(train, base)[1])
    raise ValueError("data.layout is required for coco sources (a layout name such as coco17, or a .yaml file)")


def build_source(spec: dict[str, Any], layout: KeypointLayout, base: Path, *, val: bool, where: str) -> PoseSource:
    """Build one source; ``where`` (``data.train``) names it in errors."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"{where} must be a mapping with a 'type' (synthetic, coco or dlc), got {spec!r}")
    params = {k: v for k, v in spec.items() if k != "type"}
    kind = spec["type"]
    try:
        if kind == "synthetic":
            source: PoseSource = SyntheticPoseSource(
                SyntheticSpec(**{**params, "fixed": val or params.get("fixed", False)})
            )
        elif kind == "coco":
            params["ann_file"] = _path(params["ann_file"], base)
            if params.get("image_root"):
                params["image_root"] = _path(params["image_root"], base)
            source = CocoKeypointSource(layout=layout, **params)
        elif kind == "dlc":
            part = params.pop("part", "val" if val else "train")
            if part not in ("train", "val", "test"):
                raise ValueError(f"part must be train, val or test, got {part!r}")
            coco_files, _ = _import_dlc(params, base)
            cache = bool(params.get("cache_images", True))
            source = CocoKeypointSource(coco_files[part], layout, cache_images=cache)
        else:
            raise ValueError(f"unknown type {kind!r} (synthetic, coco or dlc)")
    except TypeError as exc:  # unexpected keyword: name the section
        raise ValueError(f"{where}: {exc}") from None
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if source.layout.num_keypoints != layout.num_keypoints:
        raise ValueError(f"{where}: {source.layout.num_keypoints} keypoints, but layout has {layout.num_keypoints}")
    return source


def _import_dlc(spec: dict[str, Any], base: Path) -> tuple[dict[str, Path], Path]:
    """Convert labelled data to COCO train/val/test files once (cached by label content and settings)."""
    from flowpose.trainer.data.dlc_coco import DlcImportOptions
    from flowpose.trainer.data.dlc_import import import_dlc
    from flowpose.trainer.data.importers import content_digest, label_files
    from flowpose.trainer.data.split import PARTS, SplitPlan, split_coco

    project = _path(spec["project"], base)
    plan = SplitPlan.from_spec(spec)
    category = str(spec.get("category", "animal"))
    pairs = tuple((str(a), str(b)) for a, b in spec.get("flip_pairs", []))
    # Keyed on the label files' bytes as well as the settings: edited labels make a new import
    # instead of silently reusing the old one.
    labels = content_digest(label_files(project))
    key = json.dumps([str(project), labels, plan.val_fraction, plan.test_fraction, plan.seed, plan.by, category, pairs])
    root = Path(spec.get("cache_dir") or Path(tempfile.gettempdir()) / "flowpose-dlc")
    out = _path(root, base) / hashlib.sha1(key.encode()).hexdigest()[:12]
    files = {part: out / f"dlc_{part}.json" for part in PARTS}
    layout = out / "dlc_layout.yaml"
    if not (all(p.is_file() for p in files.values()) and layout.is_file()):
        options = DlcImportOptions(category=category, flip_pairs=pairs)
        res = import_dlc(project, out / "dlc.json", options, layout)
        coco = json.loads(Path(res.outputs["all"]).read_text(encoding="utf-8"))
        parts, split = split_coco(coco, plan)
        log.info("imported DeepLabCut project %s, split %s", project, split.describe())
        for part, data in parts.items():  # every part, even an empty test part: the cache is complete
            tmp = files[part].with_suffix(".json.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(files[part])
    return files, layout
