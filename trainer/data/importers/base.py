"""What every importer returns, and the content digest of the label files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flowpose.trainer.data.dlc_labels import DlcFrame, DlcProject

__all__ = ["ImportedLabels", "MissingExtraError", "content_digest"]


class MissingExtraError(ImportError):
    """An optional dependency a format needs is not installed (the message says how to get it)."""


@dataclass
class ImportedLabels:
    """Labelled frames read from another tool's files, whatever the format.

    Attributes:
        format: ``dlc``, ``csv`` (no config.yaml), ``sleap`` or ``coco``.
        project: Keypoint names, skeleton, task name (the layout's name) and the image root.
        frames: One per labelled image; NaN keypoints are not labelled.
        label_files: The files the labels came from (the import cache hashes their bytes).
        flip_pairs: Left/right pairs the source itself declares (SLEAP symmetries), if any.
        notes: Things the user should know (files ignored, parts left out), printed by the CLI.
        path: The file or folder that was read; None: the project folder.
    """

    format: str
    project: DlcProject
    frames: list[DlcFrame]
    label_files: list[Path]
    flip_pairs: tuple[tuple[str, str], ...] = ()
    notes: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def videos(self) -> list[str]:
        """Names of the folders (videos) the labelled images are in, sorted."""
        return sorted({Path(f.relpath).parent.name or "(project folder)" for f in self.frames})


def content_digest(paths: list[Path]) -> str:
    """SHA-1 over the bytes of ``paths`` (sorted): edited labels give another digest."""
    digest = hashlib.sha1()
    for path in sorted(Path(p) for p in paths):
        digest.update(str(path.name).encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()
