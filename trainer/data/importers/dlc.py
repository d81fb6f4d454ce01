"""DeepLabCut projects (``config.yaml`` + ``labeled-data/<video>/CollectedData_<scorer>.csv|.h5``)."""

from __future__ import annotations

from pathlib import Path

from flowpose.trainer.data.dlc import label_files, load_dlc_project
from flowpose.trainer.data.importers.base import ImportedLabels

__all__ = ["load"]


def load(root: Path) -> ImportedLabels:
    """Read a DeepLabCut project, single- or multi-animal, CSV or .h5 labels.

    Raises:
        FileNotFoundError, ValueError, MissingExtraError: As :func:`load_dlc_project`.
    """
    ignored = sorted(p.name for p in Path(root).glob("CollectedData*.csv"))
    hint = (
        f"{', '.join(ignored)} at the project root is ignored: config.yaml makes this a DeepLabCut project, "
        f"whose labels are read from labeled-data/*/; to import the root file instead, give it as PATH "
        f"(flowpose data import {Path(root) / ignored[0]})"
        if ignored
        else ""
    )
    try:
        project, frames = load_dlc_project(root)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc}. {hint}" if hint else str(exc)) from None
    notes = [hint] if hint else []
    files = [*label_files(project), project.root / "config.yaml"]
    fmt = "dlc (multi-animal)" if project.multi_animal else "dlc"
    return ImportedLabels(fmt, project, frames, files, notes=notes)
