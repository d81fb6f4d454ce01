"""The zoo's entries: names -> where to download a model, its hash, and its card."""

from __future__ import annotations

import difflib
import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowpose.models.presets import card_from_spec

__all__ = [
    "BUILTIN_ENTRIES",
    "INDEX_ENV",
    "PACKAGED_ENTRIES",
    "PACKAGE_SCHEME",
    "ModelNotFoundError",
    "ZooEntry",
    "ZooError",
    "get_entry",
    "load_index",
    "zoo_entries",
]

INDEX_ENV = "FLOWPOSE_ZOO_INDEX"
PACKAGE_SCHEME = "package://"
_OPENMMLAB = "https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk"
_AP10K_ANIMALS = ["cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"]


class ZooError(Exception):
    """A zoo lookup or download failed; the message says what to do."""


class ModelNotFoundError(ZooError, FileNotFoundError):
    """A model reference (zoo name or path) does not point at a file on this machine."""


@dataclass(frozen=True)
class ZooEntry:
    """One downloadable model.

    Args:
        name: The zoo name, used as ``zoo:NAME`` in graph files.
        url: Where to download from (``https://``, ``http://`` or ``file://``), or
            ``package://PACKAGE/PATH`` for a model shipped inside an installed package
            (resolved with :mod:`importlib.resources`; never downloaded or cached).
        sha256: Hex digest of the downloaded file (the archive, for zips); None = unverified.
        filename: Name of the model in the cache directory.
        member: For zip archives, the ``.onnx`` inside: a path, or a file name matched at
            any depth (upstream zips nest it in dated folders).
        card: The model's card as a sidecar would hold it: a full card, or ``preset: NAME``
            plus the fields that differ; empty when the graph must name a preset.
        description: One line for ``flowpose zoo list``.

    Raises:
        ValueError: On an invalid field, naming it.
    """

    name: str
    url: str
    sha256: str | None
    filename: str
    member: str | None = None
    card: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name or ""):
            raise ValueError(f"zoo name must be letters, digits, '.', '_' or '-', got {self.name!r}")
        where = f"zoo entry {self.name!r}"
        if not re.match(r"(https?|file|package)://", self.url or ""):
            raise ValueError(f"{where}: url must start with https://, http://, file:// or package://")
        if self.sha256 is not None:
            if not re.fullmatch(r"[0-9a-fA-F]{64}", str(self.sha256)):
                raise ValueError(f"{where}: sha256 must be 64 hex digits or None, got {self.sha256!r}")
            object.__setattr__(self, "sha256", self.sha256.lower())
        if not self.filename or Path(self.filename).name != self.filename or self.filename.startswith("."):
            raise ValueError(f"{where}: filename must be a plain file name, got {self.filename!r}")
        if self.member is not None and not (isinstance(self.member, str) and self.member):
            raise ValueError(f"{where}: member must be a non-empty string or None")
        if not isinstance(self.card, dict):
            raise ValueError(f"{where}: card must be a mapping (a card, or preset: NAME)")
        if self.card:  # fails here, when the zoo is defined, rather than after a long download
            card_from_spec(self.card, source=f"{where} card")

    @property
    def verified(self) -> bool:
        """Whether downloads are checked against a pinned hash."""
        return self.sha256 is not None

    @property
    def packaged_path(self) -> Path | None:
        """The file of a ``package://`` entry inside its installed package; None for other entries."""
        if not self.url.startswith(PACKAGE_SCHEME):
            return None
        package, _, rel = self.url[len(PACKAGE_SCHEME) :].partition("/")
        return Path(str(importlib.resources.files(package).joinpath(rel)))

    @property
    def download_command(self) -> str:
        """The command that fetches this entry."""
        flag = "" if self.verified else " --allow-unverified"
        return f"flowpose zoo download {self.name}{flag}"


BUILTIN_ENTRIES: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            name="yolox-nano",
            url="https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx",
            sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
            filename="yolox_nano.onnx",
            card={"preset": "yolox", "name": "YOLOX-nano 416 COCO"},
            description="YOLOX-nano detector, 80 COCO classes (people and animals), 416x416, 3.6 MB",
        ),
        ZooEntry(
            name="rtmpose-m-body7",
            url=f"{_OPENMMLAB}/rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip",
            sha256=None,
            filename="rtmpose-m-body7.onnx",
            member="end2end.onnx",
            card={"preset": "rtmpose_simcc", "name": "RTMPose-m body7 256x192"},
            description="RTMPose-m for people, COCO-17 keypoints, 192x256 (w x h), trained on 7 datasets",
        ),
        ZooEntry(
            name="rtmpose-m-ap10k",
            url=f"{_OPENMMLAB}/rtmpose-m_simcc-ap10k_pt-aic-coco_210e-256x256-7a041aa1_20230206.zip",
            sha256=None,
            filename="rtmpose-m-ap10k.onnx",
            member="end2end.onnx",
            card={
                "preset": "rtmpose_simcc",
                "name": "RTMPose-m AP-10K 256x256",
                "input_size": [256, 256],
                "codec": {
                    "type": "simcc",
                    "input_size": [256, 256],
                    "sigma": [5.66, 5.66],
                    "simcc_split_ratio": 2.0,
                },
                "keypoint_layout": "ap10k",
                "labels": _AP10K_ANIMALS,
            },
            description="RTMPose-m for four-legged animals, AP-10K 17 keypoints, 256x256",
        ),
    )
}


# Models small enough to ship inside the flowpose package (flowpose/zoo/models/, package data):
# trained by flowpose's own trainer on synthetic scenes; recipes in trainer/configs/ and
# accuracy in docs/training.md. Their cards are embedded in the ONNX files.
PACKAGED_ENTRIES: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            name="flowpose-person",
            url="package://flowpose.zoo/models/flowpose_person.onnx",
            sha256=None,
            filename="flowpose_person.onnx",
            description=(
                "flowpose people model, COCO-17, 96x128, ShuffleNetV2-1.5 heatmaps, synthetic-trained (packaged)"
            ),
        ),
        ZooEntry(
            name="flowpose-animal",
            url="package://flowpose.zoo/models/flowpose_animal.onnx",
            sha256=None,
            filename="flowpose_animal.onnx",
            description="flowpose animal model, AP-10K, 96x96, ShuffleNetV2-1.5 heatmaps, synthetic-trained (packaged)",
        ),
        ZooEntry(
            name="flowpose-det-synthetic",
            url="package://flowpose.zoo/models/flowpose_det_synthetic.onnx",
            sha256=None,
            filename="flowpose_det_synthetic.onnx",
            description="flowpose detector: person, dog, cat, horse, 256x256, YOLOX raw format, synthetic-trained",
        ),
    )
}


def load_index(path: str | os.PathLike[str]) -> dict[str, ZooEntry]:
    """Read extra entries from a YAML file: ``NAME: {url, sha256, filename, member, card, description}``.

    Raises:
        ZooError: When the file cannot be read or an entry is invalid, naming the file.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ZooError(f"cannot read zoo index {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ZooError(f"{path}: a zoo index must map names to entries")
    entries = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise ZooError(f"{path}: entry {name!r} must be a mapping")
        try:
            entries[str(name)] = ZooEntry(name=str(name), **{"sha256": None, **fields})
        except (TypeError, ValueError) as exc:
            raise ZooError(f"{path}: entry {name!r}: {exc}") from None
    return entries


def zoo_entries(extra: Mapping[str, ZooEntry] | None = None) -> dict[str, ZooEntry]:
    """The built-in and packaged entries, then those of ``$FLOWPOSE_ZOO_INDEX``, then ``extra`` (later wins)."""
    entries = {**BUILTIN_ENTRIES, **PACKAGED_ENTRIES}
    index = os.environ.get(INDEX_ENV)
    if index:
        entries.update(load_index(index))
    entries.update(extra or {})
    return entries


def get_entry(name: str, entries: Mapping[str, ZooEntry] | None = None) -> ZooEntry:
    """Look ``name`` up in ``entries`` (default: :func:`zoo_entries`).

    Raises:
        ModelNotFoundError: On an unknown name, with the close matches and the known names.
    """
    entries = zoo_entries() if entries is None else entries
    if name in entries:
        return entries[name]
    close = difflib.get_close_matches(name, entries, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ModelNotFoundError(f"unknown zoo model {name!r}{hint}; known: {', '.join(sorted(entries))}")
