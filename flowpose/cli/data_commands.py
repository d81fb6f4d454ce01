"""``flowpose data import-dlc``: datasets from other tools into COCO-keypoint JSON.

Runs on the light install: the importer lives in ``flowpose.trainer.data`` but needs no torch.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parsers", "dispatch"]


def _pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"expected LEFT,RIGHT (two body part names), got {text!r}")
    return parts[0], parts[1]


def add_parsers(subparsers: Any) -> None:
    """Add the ``data`` command (argparse set-up only, nothing heavy imported)."""
    data = subparsers.add_parser("data", help="import datasets (DeepLabCut) as COCO-keypoint JSON")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    dlc = data_sub.add_parser(
        "import-dlc",
        help="convert a DeepLabCut project's labelled frames to COCO-keypoint JSON and a keypoint layout",
    )
    dlc.add_argument("project", help="DeepLabCut project folder (with config.yaml and labeled-data/)")
    dlc.add_argument("-o", "--output", required=True, help="COCO JSON to write (with a split: <stem>_train/_val)")
    dlc.add_argument("--layout", help="keypoint layout file to write (default: <stem>_layout.yaml beside -o)")
    dlc.add_argument("--layout-name", help="name of the layout (default: the project's Task, e.g. openfield)")
    dlc.add_argument("--category", default="animal", help="category name of the animals (default: animal)")
    dlc.add_argument("--margin", type=float, default=20.0, help="box margin around the points, pixels (20)")
    dlc.add_argument("--margin-frac", type=float, default=0.1, help="extra margin, share of the box's long side")
    dlc.add_argument("--sigma", type=float, default=0.05, help="OKS sigma of every keypoint (0.05)")
    dlc.add_argument("--flip-pair", action="append", type=_pair, default=[], metavar="LEFT,RIGHT", help="repeatable")
    dlc.add_argument("--absolute-paths", action="store_true", help="absolute image paths in file_name")
    dlc.add_argument("--val-fraction", type=float, help="hold out this share of images: writes _train and _val")
    dlc.add_argument("--split-seed", type=int, default=0, help="seed of the train/val split (0)")


def dispatch(args: argparse.Namespace) -> int:
    """Run a ``data`` command; 0 on success, 2 on a missing project, 1 on bad data."""
    from flowpose.trainer.data.dlc_coco import DlcImportOptions
    from flowpose.trainer.data.dlc_import import import_dlc

    try:
        options = DlcImportOptions(
            category=args.category,
            margin_px=args.margin,
            margin_frac=args.margin_frac,
            sigma=args.sigma,
            flip_pairs=tuple(args.flip_pair),
            layout_name=args.layout_name,
            absolute_paths=args.absolute_paths,
        )
        result = import_dlc(args.project, args.output, options, args.layout, args.val_fraction, args.split_seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in result.outputs.items():
        print(f"{name}: {path} ({result.images[name]} images, {result.annotations[name]} animals)")
    print(f"layout: {result.layout}")
    print(f"keypoints: {result.labelled} labelled, {result.unlabelled} unlabelled (visibility 0)")
    return 0
