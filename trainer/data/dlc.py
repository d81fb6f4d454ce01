"""Reading a DeepLabCut project: its ``config.yaml`` and the labelled frames of ``labeled-data/``.

The CSV label files are read (``labeled-data/<video>/CollectedData_<scorer>.csv``, see
:mod:`flowpose.trainer.data.dlc_labels`): they sit beside the ``.h5`` files DeepLabCut writes,
need no pandas/PyTables, and are what people edit by hand. A folder with only the ``.h5`` is
read with pandas + PyTables (the ``h5`` extra). No torch here: ``flowpose data import`` runs
on the light install.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from flowpose.trainer.data.dlc_labels import DlcFrame, DlcProject, read_labels_csv, read_labels_h5

__all__ = ["DlcFrame", "DlcProject", "label_files", "load_dlc_project", "read_dlc_config", "read_labels_csv"]

logger = logging.getLogger(__name__)


def read_dlc_config(root: str | Path) -> DlcProject:
    """Read ``config.yaml`` of a DeepLabCut project.

    Raises:
        FileNotFoundError: No ``config.yaml`` in ``root``.
        ValueError: A field is missing or malformed, naming the file and the field.
    """
    root = Path(root).expanduser().resolve()
    path = root / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{root} is not a DeepLabCut project: no config.yaml in it")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a mapping of settings")
    multi = bool(cfg.get("multianimalproject"))
    key = "multianimalbodyparts" if multi else "bodyparts"
    parts = cfg.get(key)
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) and p for p in parts):
        raise ValueError(f"{path}: '{key}' must be a non-empty list of names, got {parts!r}")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{path}: '{key}' has duplicate names: {parts}")
    scorer = cfg.get("scorer")
    if not isinstance(scorer, str) or not scorer:
        raise ValueError(f"{path}: 'scorer' must be a non-empty string, got {scorer!r}")
    skeleton = []
    for i, link in enumerate(cfg.get("skeleton") or []):
        if not (isinstance(link, list | tuple) and len(link) == 2 and all(p in parts for p in link)):
            raise ValueError(f"{path}: skeleton[{i}] must be two of the body parts {parts}, got {link!r}")
        skeleton.append((str(link[0]), str(link[1])))
    task = str(cfg.get("Task") or root.name)
    return DlcProject(root, task, scorer, tuple(parts), tuple(skeleton), multi)


def load_dlc_project(root: str | Path) -> tuple[DlcProject, list[DlcFrame]]:
    """Read a project's config and every labelled frame under ``labeled-data/``.

    Folders without a label file (videos extracted but not labelled yet) are skipped.

    Raises:
        FileNotFoundError: No config, no ``labeled-data`` folder, or no label file at all.
        ValueError: A malformed label file or a missing image, naming file and row.
    """
    project = read_dlc_config(root)
    data = project.root / "labeled-data"
    if not data.is_dir():
        raise FileNotFoundError(f"{project.root}: no labeled-data folder; label some frames in DeepLabCut first")
    frames: list[DlcFrame] = []
    for path in label_files(project):
        frames += read_labels_h5(path, project) if path.suffix == ".h5" else read_labels_csv(path, project)
    if not frames:
        raise FileNotFoundError(
            f"{data}: no CollectedData_{project.scorer}.csv (or .h5) in any video folder; "
            "label frames in DeepLabCut first (each labeled-data/<video>/ needs its CollectedData file)"
        )
    return project, frames


def label_files(project: DlcProject) -> list[Path]:
    """The label file of each video folder under ``labeled-data/`` (CSV, else .h5), sorted."""
    data = project.root / "labeled-data"
    if not data.is_dir():
        return []
    found = (_label_file(folder, project.scorer) for folder in sorted(p for p in data.iterdir() if p.is_dir()))
    return [p for p in found if p is not None]


def _label_file(folder: Path, scorer: str) -> Path | None:
    wanted = folder / f"CollectedData_{scorer}.csv"
    if wanted.is_file():
        return wanted
    others = sorted(folder.glob("CollectedData_*.csv"))
    if len(others) == 1:
        logger.warning("%s: no %s, using %s (other scorer)", folder, wanted.name, others[0].name)
        return others[0]
    if len(others) > 1:
        raise ValueError(f"{folder}: no {wanted.name} and several other label files {[p.name for p in others]}")
    h5 = sorted(folder.glob("CollectedData_*.h5"))
    if h5:  # DeepLabCut writes both; only the .h5 is left when the CSV was deleted or never written
        return h5[0]
    logger.info("%s: no label file, skipped (not labelled yet)", folder)
    return None
