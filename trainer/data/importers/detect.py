"""What a path holds (DeepLabCut, CSV-only, SLEAP, COCO) and reading it, with errors that say what to supply."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flowpose.trainer.data.importers import coco, csv_only, dlc, sleap
from flowpose.trainer.data.importers.base import ImportedLabels

__all__ = ["FORMATS", "Detected", "detect", "label_files", "load_labels"]

#: Formats :func:`detect` knows, with what makes them one.
FORMATS = {
    "dlc": "a folder with config.yaml and labeled-data/<video>/CollectedData_<scorer>.csv (or .h5)",
    "csv": "a folder with CollectedData*.csv at its root (lightning-pose) or in labeled-data/*/, no config.yaml",
    "sleap": "a SLEAP .slp file (or a folder with exactly one)",
    "coco": "a COCO keypoint .json file (or a folder with exactly one)",
}

_HOW = (
    "A DeepLabCut project needs config.yaml (bodyparts, skeleton) and labeled-data/<video>/"
    "CollectedData_<scorer>.csv from labelling in DeepLabCut; a project without config.yaml needs "
    "CollectedData*.csv (DeepLabCut's 3 header rows scorer/bodyparts/coords, image paths in the first "
    "column) at its root or in labeled-data/*/; or give a SLEAP .slp file or a COCO keypoint .json file."
)


@dataclass(frozen=True)
class Detected:
    """A detected format and the file or folder to read."""

    format: str
    path: Path


def _coco_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            if coco.is_coco_keypoints(json.loads(path.read_text(encoding="utf-8"))):
                found.append(path)
        except (OSError, ValueError):
            continue
    return found


def detect(path: str | Path) -> Detected:
    """Which importer reads ``path``.

    Raises:
        FileNotFoundError: Nothing importable there; the message lists what was looked for and
            what each format needs.
    """
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist. {_HOW}")
    if path.is_file():
        if path.suffix == ".slp":
            return Detected("sleap", path)
        if path.suffix == ".json":
            return Detected("coco", path)
        if path.name == "config.yaml":
            return Detected("dlc", path.parent)
        if path.suffix == ".csv":
            return Detected("csv", path.parent)
        raise FileNotFoundError(f"{path}: not a file flowpose imports (.slp, .json, a folder). {_HOW}")
    if (path / "config.yaml").is_file():
        return Detected("dlc", path)
    if csv_only.find_csvs(path):
        return Detected("csv", path)
    slp = sorted(path.glob("*.slp"))
    cocos = _coco_files(path)
    if len(slp) + len(cocos) == 1:
        return Detected("sleap", slp[0]) if slp else Detected("coco", cocos[0])
    if slp or cocos:
        listed = [p.name for p in slp + cocos]
        raise FileNotFoundError(f"{path}: several label files {listed}; give the one to import as PATH")
    raise FileNotFoundError(
        f"{path}: no config.yaml and no CollectedData*.csv at the root or in labeled-data/*/, "
        f"and no .slp or COCO keypoint .json file. {_HOW}"
    )


def load_labels(path: str | Path, work: str | Path | None = None) -> ImportedLabels:
    """Detect and read ``path``.

    Args:
        path: A project folder or a label file.
        work: Folder for images an import must write (SLEAP frames); default: beside the .slp.

    Raises:
        FileNotFoundError: Nothing importable (see :func:`detect`).
        ValueError: Malformed labels, naming the file and the row or field.
        MissingExtraError: A format's optional dependency is missing (how to install it).
    """
    found = detect(path)
    if found.format == "dlc":
        return dlc.load(found.path)
    if found.format == "csv":
        return csv_only.load(found.path)
    if found.format == "sleap":
        out = Path(work) if work is not None else found.path.with_name(f"{found.path.stem}_frames")
        return sleap.load(found.path, out)
    return coco.load(found.path)


def label_files(path: str | Path) -> list[Path]:
    """The files whose bytes define the labels of ``path`` (what the import cache is keyed on).

    Cheap: nothing is parsed beyond finding the files. Images are not included (they are
    rarely edited in place; a relabelled frame changes the label file).

    Raises:
        FileNotFoundError, ValueError: As :func:`detect` and reading a DeepLabCut config.
    """
    found = detect(path)
    if found.format == "dlc":
        from flowpose.trainer.data.dlc import label_files as dlc_files
        from flowpose.trainer.data.dlc import read_dlc_config

        return [*dlc_files(read_dlc_config(found.path)), found.path / "config.yaml"]
    if found.format == "csv":
        return csv_only.find_csvs(found.path)
    return [found.path]
