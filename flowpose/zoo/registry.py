"""The zoo's entries: names -> where to download a model, its pin, its card and upstream's figures."""

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


def _digest(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"{where}: sha256 must be 64 hex digits or None, got {value!r}")
    return value.lower()


@dataclass(frozen=True)
class ZooEntry:
    """One downloadable model, with where it comes from, how it is pinned, and upstream's figures.

    Args:
        name: The zoo name, used as ``zoo:NAME`` in graph files.
        url: Where to download from (``https://``, ``http://`` or ``file://``), or
            ``package://PACKAGE/PATH`` for a model shipped inside an installed package
            (resolved with :mod:`importlib.resources`; never downloaded or cached).
        sha256: Hex digest of the downloaded file (the archive, for zips), published upstream
            or computed from a known-good copy; None = pinned on first download instead (the
            digest is then kept in the cache's ``pins.json``).
        filename: Name of the model in the cache directory.
        member: For zip archives, the ``.onnx`` inside: a path, or a file name matched at
            any depth (upstream zips nest it in dated folders).
        card: The model's card as a sidecar would hold it: a full card, or ``preset: NAME``
            plus the fields that differ; empty when the graph must name a preset.
        description: One line for ``flowpose zoo list``.
        alt_sha256: Other digests of the same model that are accepted too (one URL that has
            served two byte-different exports of the same weights).
        size: Exact size in bytes of the download, where known: lets a download without a
            ``Content-Length`` be checked for completeness when there is no ``sha256``.
        ap: Upstream's published AP (percent) on ``ap_dataset``; None when there is none.
        ap_dataset: What ``ap`` was measured on: ``COCO`` (keypoint AP), ``AP-10K``, ``COCO box``
            (detection mAP) or ``COCO person`` (person detection AP).
        cpu_ms: Upstream's published CPU latency in milliseconds per image (or per crop).
        cpu_ms_source: Runtime and hardware of ``cpu_ms``.
        source: The page the figures (and the digest, if published) come from.

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
    alt_sha256: tuple[str, ...] = ()
    size: int | None = None
    ap: float | None = None
    ap_dataset: str = ""
    cpu_ms: float | None = None
    cpu_ms_source: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name or ""):
            raise ValueError(f"zoo name must be letters, digits, '.', '_' or '-', got {self.name!r}")
        where = f"zoo entry {self.name!r}"
        if not re.match(r"(https?|file|package)://", self.url or ""):
            raise ValueError(f"{where}: url must start with https://, http://, file:// or package://")
        if self.sha256 is not None:
            object.__setattr__(self, "sha256", _digest(self.sha256, where))
        alt = (self.alt_sha256,) if isinstance(self.alt_sha256, str) else tuple(self.alt_sha256 or ())
        object.__setattr__(self, "alt_sha256", tuple(_digest(d, f"{where} alt_sha256") for d in alt))
        if self.alt_sha256 and self.sha256 is None:
            raise ValueError(f"{where}: alt_sha256 needs a sha256 too")
        if not self.filename or Path(self.filename).name != self.filename or self.filename.startswith("."):
            raise ValueError(f"{where}: filename must be a plain file name, got {self.filename!r}")
        if self.member is not None and not (isinstance(self.member, str) and self.member):
            raise ValueError(f"{where}: member must be a non-empty string or None")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0):
            raise ValueError(f"{where}: size must be a positive number of bytes or None, got {self.size!r}")
        for name in ("ap", "cpu_ms"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{where}: {name} must be a non-negative number or None, got {value!r}")
        if not isinstance(self.card, dict):
            raise ValueError(f"{where}: card must be a mapping (a card, or preset: NAME)")
        if self.card:  # fails here, when the zoo is defined, rather than after a long download
            card_from_spec(self.card, source=f"{where} card")

    @property
    def verified(self) -> bool:
        """Whether downloads are checked against a digest pinned in the entry itself."""
        return self.sha256 is not None

    @property
    def digests(self) -> tuple[str, ...]:
        """Every digest the entry accepts for its download; empty = pinned on first download."""
        return (self.sha256, *self.alt_sha256) if self.sha256 else ()

    @property
    def packaged_path(self) -> Path | None:
        """The file of a ``package://`` entry inside its installed package; None for other entries."""
        if not self.url.startswith(PACKAGE_SCHEME):
            return None
        package, _, rel = self.url[len(PACKAGE_SCHEME) :].partition("/")
        return Path(str(importlib.resources.files(package).joinpath(rel)))

    @property
    def download_command(self) -> str:
        """The command that fetches this entry ahead of time (first use fetches it anyway)."""
        return f"flowpose zoo download {self.name}"


# Upstream figures: every AP and latency below is copied from the page named in the entry's
# `source`, never measured here. RTMPose's latencies are ONNX Runtime on an Intel i7-11700 CPU,
# one 256x192 (or 256x256) crop, flip test off for speed (projects/rtmpose README, "Model Zoo").
_RTMPOSE_README = "https://github.com/open-mmlab/mmpose/blob/main/projects/rtmpose/README.md"
_YOLOX_README = "https://github.com/Megvii-BaseDetection/YOLOX/blob/main/README.md"
_YOLOX_RELEASE = "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0"
_YOLOX_AP = f"{_YOLOX_README}#benchmark (mAP val 0.5:0.95, weights of release 0.1.1rc0; no CPU latency published)"
_ORT_I7 = "ONNX Runtime, Intel i7-11700"


def _rtmpose_body7(size: str, file: str, ap: float, cpu_ms: float, label: str) -> ZooEntry:
    """An RTMPose body7 (trained on 7 public datasets) 256x192 ONNX SDK zip of OpenMMLab."""
    return ZooEntry(
        name=f"rtmpose-{size}-body7",
        url=f"{_OPENMMLAB}/{file}",
        # OpenMMLab publishes no digest for its onnx_sdk zips (the 8 hex digits in the name
        # belong to the .pth checkpoint): pinned on first download, see docs/models.md.
        sha256=None,
        filename=f"rtmpose-{size}-body7.onnx",
        member="end2end.onnx",
        card={"preset": "rtmpose_simcc", "name": f"RTMPose-{size} body7 256x192"},
        description=f"RTMPose-{size} for people{label}, COCO-17 keypoints, trained on 7 datasets",
        ap=ap,
        ap_dataset="COCO",
        cpu_ms=cpu_ms,
        cpu_ms_source=_ORT_I7,
        source=f"{_RTMPOSE_README}#body-2d (Body8 table, RTMPose-{size}*)",
    )


def _yolox(size: str, input_px: int, ap: float, label: str) -> ZooEntry:
    """A Megvii YOLOX raw ONNX export, release 0.1.1rc0 (80 COCO classes)."""
    return ZooEntry(
        name=f"yolox-{size}",
        url=f"{_YOLOX_RELEASE}/yolox_{size}.onnx",
        # No digest published for the 0.1.1rc0 assets (GitHub only shows digests for assets
        # uploaded since June 2025): pinned on first download, see docs/models.md.
        sha256=None,
        filename=f"yolox_{size}.onnx",
        card={"preset": "yolox", "name": f"YOLOX-{size} {input_px} COCO", "input_size": [input_px, input_px]},
        description=f"YOLOX-{size} detector, 80 COCO classes (people and animals){label}",
        ap=ap,
        ap_dataset="COCO box",
        source=_YOLOX_AP,
    )


def _rtmdet_person(size: str, file: str, input_px: int, ap: float) -> ZooEntry:
    """One of the person detectors RTMPose's pipeline (and rtmlib) uses: mmdeploy end2end, NMS inside."""
    return ZooEntry(
        name=f"rtmdet-{size}",
        url=f"{_OPENMMLAB}/{file}",
        sha256=None,  # no digest published for the onnx_sdk zips: pinned on first download
        filename=f"rtmdet-{size}-person.onnx",
        member="end2end.onnx",
        card={
            "preset": "rtmdet_end2end",
            "name": f"RTMDet-{size} person {input_px}x{input_px}",
            "input_size": [input_px, input_px],
            "classes": ["person"],
        },
        description=f"RTMDet-{size} person detector (people only), COCO + Objects365 person",
        ap=ap,
        ap_dataset="COCO person",
        source=f"{_RTMPOSE_README}#-pipeline-performance- (Model AP of the detector; no CPU latency of its own)",
    )


BUILTIN_ENTRIES: dict[str, ZooEntry] = {
    e.name: e
    for e in (
        ZooEntry(
            name="yolox-nano",
            url=f"{_YOLOX_RELEASE}/yolox_nano.onnx",
            # No digest is published upstream. sha256: computed from the copy of this 0.1.1rc0
            # release asset flowpose was developed against (3,660,092 bytes, exported by PyTorch
            # 1.10). alt_sha256: what independent projects that fetch this URL record for it
            # (3,659,407 bytes, pinned in their download scripts and Dockerfiles), not verified
            # here. Both are YOLOX-nano exports, so either is accepted; see docs/models.md.
            sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
            alt_sha256=("c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d",),
            filename="yolox_nano.onnx",
            card={"preset": "yolox", "name": "YOLOX-nano 416 COCO"},
            description="YOLOX-nano detector, 80 COCO classes (people and animals), 3.6 MB",
            ap=25.8,
            ap_dataset="COCO box",
            source=_YOLOX_AP,
        ),
        _yolox("tiny", 416, 32.8, ", 20 MB"),
        _yolox("s", 640, 40.5, ", 36 MB"),
        _rtmdet_person("nano", "rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.zip", 320, 40.3),
        _rtmdet_person("m", "rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.zip", 640, 62.5),
        _rtmpose_body7("t", "rtmpose-t_simcc-body7_pt-body7_420e-256x192-026a1439_20230504.zip", 65.9, 3.20, ""),
        _rtmpose_body7("s", "rtmpose-s_simcc-body7_pt-body7_420e-256x192-acd4a1ef_20230504.zip", 69.7, 4.48, ""),
        _rtmpose_body7("m", "rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip", 74.9, 11.06, ""),
        _rtmpose_body7("l", "rtmpose-l_simcc-body7_pt-body7_420e-256x192-4dba18fc_20230504.zip", 76.7, 18.85, ""),
        ZooEntry(
            name="rtmpose-m-ap10k",
            url=f"{_OPENMMLAB}/rtmpose-m_simcc-ap10k_pt-aic-coco_210e-256x256-7a041aa1_20230206.zip",
            sha256=None,  # no digest published for the onnx_sdk zips: pinned on first download
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
            description="RTMPose-m for four-legged animals, AP-10K 17 keypoints",
            ap=72.2,
            ap_dataset="AP-10K",
            cpu_ms=14.157,
            cpu_ms_source=_ORT_I7,
            source=f"{_RTMPOSE_README}#animal-2d-17-keypoints",
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
    """Read extra entries from a YAML file: ``NAME: {url, sha256, filename, member, card, ...}``.

    Every :class:`ZooEntry` field but ``name`` may be given (``sha256`` may be left out: the
    download is then pinned on first use); see docs/models.md for an example.

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
