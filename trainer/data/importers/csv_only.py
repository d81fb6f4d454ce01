"""DeepLabCut-style label CSVs without a ``config.yaml`` (lightning-pose and hand-made projects).

The labels are in ``CollectedData*.csv`` at the project root (lightning-pose), or in
``labeled-data/<video>/CollectedData*.csv`` with the config lost. The keypoint names come from
the CSV's ``bodyparts`` header row; image paths, in the first column(s), are relative to the
project folder (or name a file beside the CSV). There is no skeleton without a config.
"""

from __future__ import annotations

import csv
from pathlib import Path

from flowpose.trainer.data.dlc_labels import DlcFrame, DlcProject, read_labels_csv
from flowpose.trainer.data.importers.base import ImportedLabels

__all__ = ["csv_project", "find_csvs", "load"]


def find_csvs(root: Path) -> list[Path]:
    """Label CSVs at the root, else in ``labeled-data/*/`` (one folder level), sorted."""
    top = sorted(root.glob("CollectedData*.csv"))
    return top or sorted(root.glob("labeled-data/*/CollectedData*.csv"))


def csv_project(path: Path, root: Path) -> DlcProject:
    """The project a label CSV implies: its scorer, body parts (header order) and animal count.

    Raises:
        ValueError: The file does not start with DeepLabCut's header rows.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        head = [r for r, _ in zip(csv.reader(fh), range(5), strict=False)]
    first = [r[0].strip() if r else "" for r in head]
    multi = first[:4] == ["scorer", "individuals", "bodyparts", "coords"]
    if not multi and first[:3] != ["scorer", "bodyparts", "coords"]:
        raise ValueError(
            f"{path}: a label CSV starts with the header rows scorer / bodyparts / coords (or scorer / "
            f"individuals / bodyparts / coords), found {first[:4]}"
        )
    n_index = 1 + next((i for i, c in enumerate(head[0][1:]) if c.strip()), 0)
    parts_row = head[2] if multi else head[1]
    who_row = head[1] if multi else None
    parts: list[str] = []
    for col, part in enumerate(parts_row[n_index:]):
        part = part.strip()
        unique = who_row is not None and who_row[n_index + col].strip() == "single"
        if part and not unique and part not in parts:
            parts.append(part)
    if not parts:
        raise ValueError(f"{path}: no body part names in its header")
    scorer = next((c.strip() for c in head[0][n_index:] if c.strip()), "unknown")
    return DlcProject(root, root.name, scorer, tuple(parts), (), multi)


def load(root: Path) -> ImportedLabels:
    """Read every label CSV of a project that has no ``config.yaml``.

    Raises:
        FileNotFoundError: No label CSV (see :func:`flowpose.trainer.data.importers.detect.detect`).
        ValueError: Files that disagree on the body parts, or the problems the CSV reader names.
    """
    files = find_csvs(root)
    if not files:
        raise FileNotFoundError(f"{root}: no CollectedData*.csv at the root or in labeled-data/*/")
    project = csv_project(files[0], root)
    frames: list[DlcFrame] = []
    for path in files:
        other = csv_project(path, root)
        if (other.bodyparts, other.multi_animal) != (project.bodyparts, project.multi_animal):
            raise ValueError(
                f"{path}: body parts {list(other.bodyparts)} differ from {files[0].name}'s "
                f"{list(project.bodyparts)}; one project has one set of keypoints"
            )
        frames += read_labels_csv(path, project)
    where = "the root" if files[0].parent == root else "labeled-data/*/"
    notes = [f"no config.yaml: keypoints from the header of {files[0].name} ({where}), no skeleton"]
    return ImportedLabels("csv", project, frames, files, notes=notes)
