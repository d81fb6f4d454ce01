"""Find the card of a model file: embedded card, else sidecar YAML, else a named preset."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from flowpose.models.card import CARD_KEY, ModelCard
from flowpose.models.metadata import ModelIO, inspect_model
from flowpose.models.presets import PRESETS, card_from_spec

__all__ = ["SIDECAR_SUFFIX", "CardNotFoundError", "ResolvedCard", "find_card", "resolve_card", "sidecar_path"]

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".card.yaml"


class CardNotFoundError(ValueError):
    """A model has no embedded card, no sidecar, and no preset was named."""


@dataclass(frozen=True)
class ResolvedCard:
    """A card and where it came from.

    Attributes:
        card: The card, its ``input_size`` checked against the model's input.
        source: ``"embedded"``, ``"sidecar"`` or ``"preset"``.
        origin: The file or preset name the card was read from.
        io: The model's metadata, inputs and outputs.
    """

    card: ModelCard
    source: str
    origin: str
    io: ModelIO


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """``model.onnx`` -> ``model.card.yaml``, beside the model."""
    return Path(model_path).with_suffix(SIDECAR_SUFFIX)


def resolve_card(model_path: str | os.PathLike[str], preset: str | None = None) -> ModelCard:
    """The card of ``model_path``: embedded card > sidecar > ``preset`` (see :func:`find_card`)."""
    return find_card(model_path, preset).card


def find_card(model_path: str | os.PathLike[str], preset: str | None = None) -> ResolvedCard:
    """Find a model's card and check it against the model's inputs and outputs.

    A card taken from a preset (directly, or by a sidecar that does not set ``input_size``)
    adopts the model's static input size, so that one preset serves every size of an export.

    Args:
        model_path: The ONNX file.
        preset: Preset name used when the model has neither an embedded card nor a sidecar.

    Returns:
        The card with its source.

    Raises:
        FileNotFoundError: When the model does not exist.
        CardNotFoundError: When no card applies; the message names the three options.
        ValueError: When a card is invalid or does not fit the model.
    """
    path = Path(model_path)
    io = inspect_model(path)
    sidecar = sidecar_path(path)
    spec: dict[str, Any]
    if CARD_KEY in io.metadata:
        card = ModelCard.from_json(io.metadata[CARD_KEY], source=f"{path} (embedded card)")
        return ResolvedCard(_check_io(card, io, path, "embedded card"), "embedded", str(path), io)
    if sidecar.is_file():
        source, origin = "sidecar", str(sidecar)
        try:
            spec = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{sidecar}: not valid YAML: {exc}") from None
    elif preset is not None:
        source, origin, spec = "preset", preset, {"preset": preset}
    else:
        raise CardNotFoundError(
            f"{path}: no model card applies. Give the model one of: (1) an embedded card "
            f"(flowpose.models.write_card; models exported by flowpose have one), (2) a sidecar file "
            f"{sidecar} (a card, or e.g. 'preset: rtmpose_simcc' plus the fields that differ), "
            f"(3) a preset name (the node's 'preset' param), one of {sorted(PRESETS)}"
        )
    card = card_from_spec(spec, source=origin)
    adaptable = isinstance(spec, dict) and "preset" in spec and "input_size" not in spec
    model_size = _static_input_size(card, io)
    if adaptable and model_size is not None and model_size != card.input_size:
        logger.info(
            "%s: model input is %dx%d; adapting the %s card from %dx%d",
            path,
            *model_size,
            source,
            *card.input_size,
        )
        card = card_from_spec({**spec, "input_size": list(model_size)}, source=origin)
    return ResolvedCard(_check_io(card, io, path, f"{source} {origin}"), source, origin, io)


def _input(card: ModelCard, io: ModelIO, path: Path, what: str) -> tuple[str, list[Any]]:
    names = [name for name, _ in io.inputs]
    if card.input_name is None:
        return io.inputs[0]
    if card.input_name not in names:
        raise ValueError(f"{path}: the {what} names input {card.input_name!r}; the model's inputs: {names}")
    return io.inputs[names.index(card.input_name)]


def _static_input_size(card: ModelCard, io: ModelIO) -> tuple[int, int] | None:
    names = [name for name, _ in io.inputs]
    name = card.input_name if card.input_name in names else names[0]
    shape = io.inputs[names.index(name)][1]
    if len(shape) != 4:
        return None
    h, w = (shape[2], shape[3]) if card.input_layout == "nchw" else (shape[1], shape[2])
    return (w, h) if isinstance(w, int) and isinstance(h, int) else None


def _check_io(card: ModelCard, io: ModelIO, path: Path, what: str) -> ModelCard:
    _, shape = _input(card, io, path, what)
    if len(shape) != 4:
        raise ValueError(f"{path}: the model input has shape {shape}; flowpose needs a 4-D image batch")
    size = _static_input_size(card, io)
    if size is not None and size != card.input_size:
        raise ValueError(
            f"{path}: the {what} says input_size {card.input_size} (w, h), but the model input is {shape} "
            f"({card.input_layout}); fix input_size in the card"
        )
    outputs = [name for name, _ in io.outputs]
    missing = [n for n in card.output_names or () if n not in outputs]
    if missing:
        raise ValueError(f"{path}: the {what} expects outputs {missing}; the model's outputs: {outputs}")
    return card
