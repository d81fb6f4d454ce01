"""Keypoint codecs: one object per target format owns both encode (trainer) and decode (nodes).

Build one from a model card's ``codec`` entry with :func:`build_codec`; write it back with
:meth:`Codec.to_config`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flowpose.codecs.base import Codec, DecodedKeypoints
from flowpose.codecs.heatmap import GaussianHeatmap, HeatmapTargets, MSRAHeatmap
from flowpose.codecs.simcc import SimCC, SimCCTargets

__all__ = [
    "CODECS",
    "Codec",
    "DecodedKeypoints",
    "GaussianHeatmap",
    "HeatmapTargets",
    "MSRAHeatmap",
    "SimCC",
    "SimCCTargets",
    "build_codec",
]

# A plain dict rather than a registry: grep finds every codec here.
CODECS: dict[str, type[Codec]] = {cls.type_name: cls for cls in (GaussianHeatmap, SimCC)}


def build_codec(cfg: dict[str, Any]) -> Codec:
    """Build a codec from its config, e.g. ``{"type": "simcc", "input_size": [192, 256]}``.

    Args:
        cfg: ``type`` (one of :data:`CODECS`) plus the codec's keyword arguments; the dict is
            not modified.

    Returns:
        The codec.

    Raises:
        ValueError: On a missing or unknown ``type``, unknown or missing parameters, or a bad
            parameter value (the codec's own message).
    """
    if not isinstance(cfg, dict):
        raise ValueError(f"codec config must be a dict, got {type(cfg).__name__}")
    params = dict(cfg)
    kind = params.pop("type", None)
    if kind not in CODECS:
        raise ValueError(f"codec type must be one of {sorted(CODECS)}, got {kind!r}")
    cls = CODECS[kind]
    accepted = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for codec {kind!r}; accepted: {accepted}")
    required = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in params]
    if missing:
        raise ValueError(f"codec {kind!r} needs parameter(s) {missing}")
    return cls(**params)
