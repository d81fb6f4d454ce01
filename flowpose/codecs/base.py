"""The codec interface and the argument checks every codec shares.

A codec owns both directions of the keypoint <-> model-output mapping: the trainer calls
``encode`` to build targets, the inference nodes call ``decode`` on network outputs. Keeping
them in one object is what makes training and inference agree on strides, sigmas and
sub-pixel conventions. All coordinates are in *input-crop pixels*: the model input after
:func:`flowpose.geometry.crop`; mapping to image pixels is the caller's affine step.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np

__all__ = ["Codec", "DecodedKeypoints", "check_keypoints"]


class DecodedKeypoints(NamedTuple):
    """Keypoints decoded from a batch of model outputs.

    A NamedTuple so that ``keypoints, scores = codec.decode(...)`` works as well as
    attribute access.

    Attributes:
        keypoints: ``[x, y]`` in input-crop pixels, float32, shape (B, K, 2).
        scores: Confidence of each keypoint (the codec's own scale), float32, shape (B, K).
    """

    keypoints: np.ndarray
    scores: np.ndarray


class Codec(ABC):
    """Base of all codecs; subclasses are frozen dataclasses holding their parameters.

    Attributes:
        type_name: The ``type`` string that :func:`flowpose.codecs.build_codec` maps to
            this class and :meth:`to_config` writes.
    """

    type_name: ClassVar[str]

    @abstractmethod
    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> Any:
        """Build training targets from keypoints in input-crop pixels."""

    @abstractmethod
    def decode(self, *outputs: np.ndarray) -> DecodedKeypoints:
        """Turn a batch of model outputs into keypoints in input-crop pixels and scores."""

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """JSON-ready parameters, ``type`` included, accepted back by ``build_codec``."""


def check_size(value: Any, name: str) -> tuple[int, int]:
    """Return ``value`` as a ``(w, h)`` tuple of positive ints, or raise a precise ValueError."""
    try:
        w, h = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (w, h), got {value!r}") from None
    for v in (w, h):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{name} must be two positive integers (w, h), got {value!r}")
    return int(w), int(h)


def check_positive(value: Any, name: str) -> float:
    """Return ``value`` as a finite positive float, or raise a precise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """Reject strings such as ``"false"`` that a YAML or JSON typo would otherwise make truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError naming them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return str(value)


def check_keypoints(keypoints: np.ndarray, visible: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate encoder inputs.

    Args:
        keypoints: ``[x, y]`` in input-crop pixels, shape (K, 2) or (N, K, 2).
        visible: Visibility (> 0 means labelled), shape (K,) or (N, K); None means all.

    Returns:
        ``(keypoints float64, visible bool)`` with the shapes given.

    Raises:
        ValueError: On shapes that do not match.
    """
    kpts = np.asarray(keypoints, dtype=np.float64)
    if kpts.ndim not in (2, 3) or kpts.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (K, 2) or (N, K, 2), got {kpts.shape}")
    if visible is None:
        vis = np.ones(kpts.shape[:-1], dtype=bool)
    else:
        vis = np.asarray(visible)
        if vis.shape != kpts.shape[:-1]:
            raise ValueError(f"visible must have shape {kpts.shape[:-1]} to match keypoints, got {vis.shape}")
        vis = vis > 0
    # A NaN keypoint (missing label) must not leak NaNs into the targets.
    vis = vis & np.isfinite(kpts).all(axis=-1)
    return np.nan_to_num(kpts), vis
