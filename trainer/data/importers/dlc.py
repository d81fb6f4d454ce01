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
    project, frames = load_dlc_project(root)
    notes = []
    ignored = sorted(p.name for p in project.root.glob("CollectedData*.csv"))
    if ignored:
        notes.append(
            f"{', '.join(ignored)} at the project root ignored: config.yaml makes this a DeepLabCut project, "
            "whose labels are read from labeled-data/*/ (import a copy without config.yaml to use the root file)"
        )
    files = [*label_files(project), project.root / "config.yaml"]
    fmt = "dlc (multi-animal)" if project.multi_animal else "dlc"
    return ImportedLabels(fmt, project, frames, files, notes=notes)
