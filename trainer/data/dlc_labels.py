"""DeepLabCut label files (``CollectedData_<scorer>.csv``) and the value types of a project.

Two header layouts are understood:

* single animal, 3 header rows: ``scorer`` / ``bodyparts`` / ``coords``;
* multi-animal, 4 header rows: ``scorer`` / ``individuals`` / ``bodyparts`` / ``coords``.
  Every individual becomes one instance with the ``multianimalbodyparts``; the "unique"
  body parts (individual ``single``) belong to no animal and are left out, with a warning.

The image path may be one index column (``labeled-data/video/img.png``, older DeepLabCut) or
three (``labeled-data``, ``video``, ``img.png``). An empty cell means "not labelled".
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

__all__ = ["DlcFrame", "DlcProject", "read_labels_csv", "read_labels_h5"]

logger = logging.getLogger(__name__)

_UNIQUE = "single"  # DeepLabCut's individual name for the unique (non-animal) body parts
_SINGLE_HEADER = ["scorer", "bodyparts", "coords"]


@dataclass(frozen=True)
class DlcProject:
    """What the importer needs from ``config.yaml``.

    Attributes:
        root: The project folder.
        task: The project's task name (``Task``).
        scorer: Whose labels (``CollectedData_<scorer>.csv``).
        bodyparts: Keypoint names, in the order of the keypoint layout.
        skeleton: Links as pairs of body part names (may be empty).
        multi_animal: Whether this is a multi-animal project (4 header rows).
    """

    root: Path
    task: str
    scorer: str
    bodyparts: tuple[str, ...]
    skeleton: tuple[tuple[str, str], ...]
    multi_animal: bool


@dataclass(frozen=True)
class DlcFrame:
    """One labelled image.

    Attributes:
        image: The image file (absolute path).
        relpath: Its path relative to the project, POSIX style (``labeled-data/v/img.png``).
        keypoints: float64 (N, K, 2), one row per animal, image pixels; NaN = not labelled.
    """

    image: Path
    relpath: str
    keypoints: np.ndarray


def read_labels_h5(path: str | Path, project: DlcProject) -> list[DlcFrame]:
    """Parse one ``CollectedData_<scorer>.h5`` (pandas + PyTables) into frames.

    DeepLabCut's CSV is that DataFrame's ``to_csv()``: the frame is written the same way and
    read by :func:`read_labels_csv`, so both files mean exactly the same.

    Raises:
        MissingExtraError: pandas or PyTables is not installed (the message says how to get them).
        ValueError: Not a DeepLabCut label table, or the problems :func:`read_labels_csv` names.
    """
    path = Path(path)
    try:
        import pandas as pd
        import tables  # noqa: F401  (pandas.read_hdf needs it; fail here with the clear message)
    except ImportError:
        from flowpose.trainer.data.importers.base import MissingExtraError

        raise MissingExtraError(
            f"{path}: reading DeepLabCut .h5 labels needs pandas and PyTables: pip install 'flowpose[h5]'; "
            f'or write the CSV DeepLabCut keeps beside it: python -c "import pandas as pd; '
            f"pd.read_hdf('{path}').to_csv('{path.with_suffix('.csv')}')\""
        ) from None
    try:
        table = pd.read_hdf(path)
    except Exception as exc:  # PyTables/HDF5 raise many types for a damaged or foreign file
        raise ValueError(f"{path}: not a DeepLabCut label table (pandas.read_hdf: {exc})") from None
    if not isinstance(table, pd.DataFrame) or table.columns.nlevels not in (3, 4):
        raise ValueError(f"{path}: not a DeepLabCut label table (expected 3 or 4 column header levels)")
    table = table.copy()
    table.index = table.index.set_names([None] * table.index.nlevels)  # no extra index-name header row
    return read_labels_csv(path, project, text=table.to_csv())


def read_labels_csv(path: str | Path, project: DlcProject, text: str | None = None) -> list[DlcFrame]:
    """Parse one ``CollectedData_<scorer>.csv`` into frames.

    Args:
        path: The label file (named in errors; images are looked for beside it).
        project: Body parts, multi-animal flag and root of the project.
        text: The CSV text, when it does not come from ``path`` itself (an .h5 table).

    Raises:
        ValueError: Bad header, unknown body part or coordinate, bad number, missing image.
    """
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{path}: empty label file")
    names = [r[0].strip() if r else "" for r in rows[:5]]
    expected = (
        ["scorer", "individuals", "bodyparts", "coords"] if project.multi_animal else ["scorer", "bodyparts", "coords"]
    )
    if names[: len(expected)] != expected:
        kind = "multi-animal" if project.multi_animal else "single-animal"
        other = "set multianimalproject in config.yaml" if "individuals" in names else "check the file"
        raise ValueError(f"{path}: a {kind} label file starts with header rows {expected}, found {names[:4]}; {other}")
    header, body = rows[: len(expected)], rows[len(expected) :]
    n_index = 1 + next((i for i, c in enumerate(header[0][1:]) if c.strip()), 0)  # empty cells after "scorer"
    columns = list(zip(*(r[n_index:] for r in header), strict=False))
    individuals, slots = _column_slots(path, columns, project)
    frames = []
    for line, row in enumerate(body, start=len(expected) + 1):
        index = [c.strip() for c in row[:n_index] if c.strip()]
        relpath = str(PurePosixPath(*"/".join(index).replace("\\", "/").split("/")))
        kpts = np.full((len(individuals), len(project.bodyparts), 2), np.nan)
        for col, slot in enumerate(slots):
            cell = row[n_index + col].strip() if n_index + col < len(row) else ""
            if slot is None or not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line}: {cell!r} in column {n_index + col + 1} is not a number"
                ) from None
            kpts[slot] = value if math.isfinite(value) else np.nan
        # A point counts only when both coordinates are there.
        kpts[np.isnan(kpts).any(axis=-1)] = np.nan
        image = _find_image(project.root, path.parent, relpath, path, line)
        if image.is_relative_to(project.root):
            relpath = image.relative_to(project.root).as_posix()
        frames.append(DlcFrame(image, relpath, kpts))
    return frames


def _column_slots(
    path: Path, columns: list[tuple[str, ...]], project: DlcProject
) -> tuple[list[str], list[tuple[int, int, int] | None]]:
    """Map each data column to (animal, keypoint, x/y), or None for a left-out unique part."""
    individuals: list[str] = []
    slots: list[tuple[int, int, int] | None] = []
    dropped: set[str] = set()
    for col, cells in enumerate(columns):
        cells = tuple(c.strip() for c in cells)
        who, part, coord = (cells[1], cells[2], cells[3]) if project.multi_animal else ("", cells[1], cells[2])
        if coord not in ("x", "y"):
            raise ValueError(f"{path}: column {col + 2} has coords {coord!r}; expected 'x' or 'y'")
        if project.multi_animal and who == _UNIQUE:
            dropped.add(part)
            slots.append(None)
            continue
        if part not in project.bodyparts:
            raise ValueError(f"{path}: body part {part!r} is not in config.yaml's {list(project.bodyparts)}")
        if who not in individuals:
            individuals.append(who)
        slots.append((individuals.index(who), project.bodyparts.index(part), 0 if coord == "x" else 1))
    if dropped:
        logger.warning("%s: unique body parts %s belong to no animal and are left out", path, sorted(dropped))
    labelled = {(s[0], s[1]) for s in slots if s is not None}
    missing = [
        p for k, p in enumerate(project.bodyparts) if not any((a, k) in labelled for a in range(len(individuals)))
    ]
    if missing:
        logger.warning("%s: body parts %s have no column; they count as unlabelled", path, missing)
    return individuals or [""], slots


def _find_image(root: Path, folder: Path, relpath: str, csv_path: Path, line: int) -> Path:
    image = root / relpath
    if image.is_file():
        return image
    # Projects get renamed and moved: fall back to the file of that name beside the CSV.
    beside = folder / PurePosixPath(relpath).name
    if beside.is_file():
        return beside
    raise ValueError(f"{csv_path}, line {line}: image {relpath!r} not found (looked in {root} and {folder})")
