"""What the Python API's model and device arguments mean, in the nodes' own terms.

``Pose(people="rtmpose-m-body7", device="cuda")`` becomes the node params
``model: zoo:rtmpose-m-body7`` and ``providers: cuda``: the API never opens a model itself,
it only translates its arguments into the params a graph file would hold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from flowpose.detection import HOG_MODEL, HogDetector
from flowpose.models import find_card
from flowpose.models.session import PROVIDERS
from flowpose.pose import open_pose_model
from flowpose.zoo import resolve_model, zoo_entries

__all__ = ["ModelArg", "detector_classes", "model_ref", "pose_labels", "providers_for"]

ModelArg = str | os.PathLike[str] | None | bool
"""A model argument: a zoo name (``zoo:`` optional), a path, or None / False for none."""

ZOO_PREFIX = "zoo:"


def model_ref(value: ModelArg, *, what: str) -> str | None:
    """The node's ``model`` param for an API model argument, or None when it is switched off.

    A value is a zoo name when it starts with ``zoo:``, or is a bare word (no ``/``, no
    suffix) that is not an existing file; otherwise it is a path (checked when the node opens
    it). ``"hog"`` stays as it is: the Detector's OpenCV people detector.

    Args:
        value: ``"zoo:NAME"``, ``"NAME"``, a path, or None / False to switch the model off.
        what: The argument's name, for errors.

    Raises:
        TypeError: On True or a value of another type.

    Example:
        >>> model_ref("rtmpose-m-body7", what="people")
        'zoo:rtmpose-m-body7'
        >>> model_ref("zoo:flowpose-person", what="people")
        'zoo:flowpose-person'
        >>> model_ref(None, what="animals") is None
        True
    """
    if value is None or value is False:
        return None
    if value is True or not isinstance(value, str | os.PathLike):
        raise TypeError(f"{what}= takes a zoo name, a path, or None/False to switch it off; got {value!r}")
    text = os.fspath(value)
    if text.startswith(ZOO_PREFIX) or text == HOG_MODEL:
        return text
    if text in zoo_entries() and not Path(text).exists():
        return ZOO_PREFIX + text
    if isinstance(value, os.PathLike) or Path(text).suffix or "/" in text or os.sep in text or Path(text).exists():
        return text
    # A bare word that is no file: a mistyped zoo name, whose error names the close matches.
    return ZOO_PREFIX + text


def providers_for(device: str | Sequence[str]) -> str | list[str]:
    """The nodes' ``providers`` param for a ``device`` argument.

    ``"cpu"``, ``"cuda"`` (``"cuda:0"`` and ``"gpu"`` too) and ``"tensorrt"`` name ONNX
    Runtime's execution providers; a list gives them in order of preference. A device this
    onnxruntime build lacks falls back to the CPU with a warning when the session opens.

    Raises:
        ValueError: On a device that names no provider.

    Example:
        >>> providers_for("cuda:0")
        'cuda'
        >>> providers_for(["tensorrt", "cuda"])
        ['tensorrt', 'cuda']
    """
    if not isinstance(device, str):
        return [str(providers_for(d)) for d in device]
    # Torch-style spellings: the device index is ONNX Runtime's device_id, always 0 here.
    name = device.strip().lower().split(":", 1)[0]
    name = {"gpu": "cuda", "trt": "tensorrt"}.get(name, name)
    if name not in PROVIDERS and device not in PROVIDERS.values():
        raise ValueError(f"device={device!r}: use one of {sorted(PROVIDERS)} (or an onnxruntime provider name)")
    return name if name in PROVIDERS else device


def pose_labels(model: str, preset: str | None, labels: Sequence[str] | None) -> tuple[str, ...]:
    """The instance labels a TopdownPoseEstimator with these params serves (its ``labels``, else its card's).

    Opens the model's description the way the node does (:func:`flowpose.pose.open_pose_model`).
    """
    return tuple(labels) if labels else tuple(open_pose_model(model, preset).card.labels)


def detector_classes(model: str, preset: str | None) -> tuple[str, ...]:
    """The class names a Detector with these params can report, from its card (or HOG's one class)."""
    if model == HOG_MODEL:
        return tuple(HogDetector.classes)
    return tuple(find_card(resolve_model(model), preset).card.classes)
