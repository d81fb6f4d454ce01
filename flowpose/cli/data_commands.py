"""``flowpose data import`` (alias ``import-dlc``): labelled data from other tools into COCO-keypoint JSON.

Detects DeepLabCut projects (CSV or .h5 labels, single or multi-animal), CSV-only projects
(lightning-pose), SLEAP ``.slp`` and COCO keypoint JSON; prints what it found. Runs on the light
install: the importers live in ``flowpose.trainer.data`` but need no torch.
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
    data = subparsers.add_parser("data", help="import labelled data (DeepLabCut, SLEAP, COCO) as COCO-keypoint JSON")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    dlc = data_sub.add_parser(
        "import",
        aliases=["import-dlc"],
        help="detect and convert labelled frames (DeepLabCut, CSV-only, SLEAP .slp, COCO) to COCO JSON and a layout",
    )
    dlc.add_argument(
        "project",
        help="DeepLabCut project folder, a folder with CollectedData*.csv, a SLEAP .slp or a COCO keypoint .json",
    )
    dlc.add_argument("-o", "--output", required=True, help="COCO JSON to write (with a split: <stem>_train/_val)")
    dlc.add_argument("--layout", help="keypoint layout file to write (default: <stem>_layout.yaml beside -o)")
    dlc.add_argument("--layout-name", help="name of the layout (default: the project's Task, e.g. openfield)")
    dlc.add_argument("--category", default="animal", help="category name of the animals (default: animal)")
    dlc.add_argument("--margin", type=float, default=20.0, help="box margin around the points, pixels (20)")
    dlc.add_argument("--margin-frac", type=float, default=0.1, help="extra margin, share of the box's long side")
    dlc.add_argument("--sigma", type=float, default=0.05, help="OKS sigma of every keypoint (0.05)")
    dlc.add_argument(
        "--flip-pair",
        action="append",
        type=_pair,
        default=[],
        metavar="LEFT,RIGHT",
        help="repeatable; replaces guesses",
    )
    dlc.add_argument(
        "--no-guess-flips", action="store_true", help="do not pair keypoints by left/right names when none are given"
    )
    dlc.add_argument("--absolute-paths", action="store_true", help="absolute image paths in file_name")
    dlc.add_argument("--val-fraction", type=float, help="hold out this share of images: writes _train and _val")
    dlc.add_argument("--split-seed", type=int, default=0, help="seed of the train/val split (0)")


def dispatch(args: argparse.Namespace) -> int:
    """Run a ``data`` command; 0 on success, 2 on nothing importable or a missing extra, 1 on bad data."""
    from flowpose.trainer.data.dlc_coco import DlcImportOptions
    from flowpose.trainer.data.dlc_import import import_dlc
    from flowpose.trainer.data.importers import MissingExtraError

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
        result = import_dlc(
            args.project,
            args.output,
            options,
            args.layout,
            args.val_fraction,
            args.split_seed,
            guess_flips=not args.no_guess_flips,
        )
    except (FileNotFoundError, MissingExtraError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in describe_import(result):
        print(line)
    return 0


_FLIP_ORIGINS = {
    "given": "given",
    "file": "the file's symmetries",
    "guessed": "guessed from left/right names; set with --flip-pair LEFT,RIGHT, or --no-guess-flips",
}
_FORMAT_NAMES = {
    "dlc": "DeepLabCut project",
    "dlc (multi-animal)": "DeepLabCut project (multi-animal)",
    "csv": "label CSV without config.yaml",
    "sleap": "SLEAP labels",
    "coco": "COCO keypoint file",
}


def describe_import(result: Any) -> list[str]:
    """What an import found and wrote, as lines for the terminal."""
    import numpy as np

    source = result.source
    project = source.project
    names = list(project.bodyparts)
    animals = [a for f in source.frames for a in f.keypoints if not np.isnan(a).all()]
    missing = {n: int(sum(np.isnan(a[i]).any() for a in animals)) for i, n in enumerate(names)}
    lines = [
        f"found: {_FORMAT_NAMES.get(source.format, source.format)} ({source.path or project.root})",
        f"  videos (image folders): {len(source.videos)} ({', '.join(source.videos)})",
        f"  frames: {len(source.frames)} labelled images, {len(animals)} animals",
        f"  keypoints ({len(names)}): {', '.join(names)}",
        f"  labels: {result.labelled} labelled, {result.unlabelled} missing (visibility 0)"
        + (f": {', '.join(f'{n} {c}' for n, c in missing.items() if c)}" if any(missing.values()) else ""),
        "  skeleton: "
        + (", ".join(f"{a}-{b}" for a, b in project.skeleton) or "none (nothing to draw between points)"),
    ]
    if result.flip_pairs:
        pairs = ", ".join(f"{a}/{b}" for a, b in result.flip_pairs)
        lines.append(f"  flip pairs ({_FLIP_ORIGINS[result.flip_origin]}): {pairs}")
    else:
        lines.append("  flip pairs: none (add with --flip-pair LEFT,RIGHT if keypoints have sides)")
    lines += [f"  note: {note}" for note in source.notes]
    for name, path in result.outputs.items():
        lines.append(f"{name}: {path} ({result.images[name]} images, {result.annotations[name]} animals)")
    lines.append(f"layout: {result.layout}")
    return lines
