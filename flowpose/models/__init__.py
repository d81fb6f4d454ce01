"""Model cards, presets and ONNX Runtime sessions shared by the nodes and the trainer.

Example:
    >>> from flowpose.models import create_session, resolve_card
    >>> card = resolve_card("yolox_nano.onnx", preset="yolox")  # doctest: +SKIP
    >>> session = create_session("yolox_nano.onnx", providers="cpu")  # doctest: +SKIP
"""

from flowpose.models.card import CARD_KEY, DECODERS, FORMAT_VERSION, ModelCard
from flowpose.models.metadata import ModelIO, inspect_model, read_card, read_metadata, write_card
from flowpose.models.presets import COCO80_CLASSES, PRESETS, card_from_spec, preset_card
from flowpose.models.resolve import (
    SIDECAR_SUFFIX,
    CardNotFoundError,
    ResolvedCard,
    find_card,
    resolve_card,
    sidecar_path,
)
from flowpose.models.session import create_session

__all__ = [
    "CARD_KEY",
    "COCO80_CLASSES",
    "DECODERS",
    "FORMAT_VERSION",
    "PRESETS",
    "SIDECAR_SUFFIX",
    "CardNotFoundError",
    "ModelCard",
    "ModelIO",
    "ResolvedCard",
    "card_from_spec",
    "create_session",
    "find_card",
    "inspect_model",
    "preset_card",
    "read_card",
    "read_metadata",
    "resolve_card",
    "sidecar_path",
    "write_card",
]
