"""Importers of labelled data from other tools: DeepLabCut, CSV-only projects, SLEAP, COCO.

:func:`load_labels` detects what a path holds and reads it into one form (a
:class:`~flowpose.trainer.data.dlc_labels.DlcProject` and its frames), which
:mod:`flowpose.trainer.data.dlc_coco` turns into COCO-keypoint JSON. No torch here: ``flowpose
data import`` runs on the light install.
"""

from flowpose.trainer.data.importers.base import ImportedLabels, MissingExtraError, content_digest
from flowpose.trainer.data.importers.detect import FORMATS, Detected, detect, label_files, load_labels
from flowpose.trainer.data.importers.flips import guess_flip_pairs

__all__ = [
    "FORMATS",
    "Detected",
    "ImportedLabels",
    "MissingExtraError",
    "content_digest",
    "detect",
    "guess_flip_pairs",
    "label_files",
    "load_labels",
]
