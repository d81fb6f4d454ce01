"""Open a pose model's description (file, card, codec, layout, I/O) and check it fits together.

Used twice: by the node's validation-time ``check()``, which must report problems without
starting anything, and by ``setup()``, which then opens the session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flowpose.codecs import Codec, build_codec
from flowpose.meta import KeypointLayout, load_layout, register_layout
from flowpose.models import ModelCard, find_card
from flowpose.models.metadata import ModelIO
from flowpose.zoo import resolve_model

__all__ = ["CODEC_OUTPUTS", "PoseModelSpec", "open_pose_model"]

#: Outputs each codec decodes, in order: SimCC takes (simcc_x, simcc_y), heatmaps one tensor.
CODEC_OUTPUTS: dict[str, tuple[str, ...]] = {"simcc": ("simcc_x", "simcc_y"), "heatmap": ("heatmaps",)}


@dataclass(frozen=True)
class PoseModelSpec:
    """Everything known about a pose model before a session is opened.

    Attributes:
        path: The ONNX file.
        card: Its card (task ``"pose"``).
        card_source: Where the card came from: ``"embedded"``, ``"sidecar"`` or ``"preset"``.
        codec: The decoder built from ``card.codec``.
        layout: The keypoint layout the card embeds, else the one it names.
        input_name: The image input.
        output_names: The outputs the codec decodes, in its order.
        fixed_batch: The batch size the model insists on, or None for a dynamic batch axis.
    """

    path: Path
    card: ModelCard
    card_source: str
    codec: Codec
    layout: KeypointLayout
    input_name: str
    output_names: tuple[str, ...]
    fixed_batch: int | None


def open_pose_model(ref: str | os.PathLike[str], preset: str | None = None) -> PoseModelSpec:
    """Resolve ``ref`` (a path or ``zoo:NAME``), find its card, and check it is a usable pose model.

    Raises:
        flowpose.zoo.ModelNotFoundError: Missing file or zoo model not downloaded (the message
            has the ``flowpose zoo download`` command).
        ValueError: No card, a card that is not a pose card, an unknown layout, or outputs
            that do not fit the codec and layout (each message names the file and the field).
    """
    path = resolve_model(ref)
    found = find_card(path, preset)
    card = found.card
    if card.task != "pose":
        raise ValueError(
            f"{path}: its card ({found.source} {found.origin}) describes a {card.task} model; "
            "TopdownPoseEstimator needs a pose model (task: pose)"
        )
    codec = build_codec(card.codec or {})
    layout = _card_layout(card, path)
    input_name, shape = _image_input(card, found.io)
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    outputs = _decoded_outputs(card, codec, found.io, path)
    _check_output_shapes(codec, layout, found.io, outputs, path)
    return PoseModelSpec(path, card, found.source, codec, layout, input_name, outputs, batch)


def _card_layout(card: ModelCard, path: Path) -> KeypointLayout:
    """The card's embedded layout (registered so that nodes downstream find it by name), else the named one."""
    try:
        embedded = card.embedded_layout()
        if embedded is not None:
            return register_layout(embedded)
    except ValueError as exc:
        raise ValueError(f"{path}: card layout: {exc}") from None
    try:
        return load_layout(card.keypoint_layout or "")
    except (ValueError, FileNotFoundError) as exc:
        raise ValueError(f"{path}: card keypoint_layout: {exc}") from None


def _image_input(card: ModelCard, io: ModelIO) -> tuple[str, list[int | str | None]]:
    if card.input_name is None:
        return io.inputs[0]
    return next(item for item in io.inputs if item[0] == card.input_name)  # find_card checked it exists


def _decoded_outputs(card: ModelCard, codec: Codec, io: ModelIO, path: Path) -> tuple[str, ...]:
    wanted = CODEC_OUTPUTS.get(codec.type_name)
    if wanted is None:
        raise ValueError(f"{path}: codec {codec.type_name!r} is not supported by the top-down estimator")
    names = tuple(card.output_names or (name for name, _ in io.outputs))
    if len(names) < len(wanted):
        raise ValueError(
            f"{path}: the {codec.type_name} codec decodes {len(wanted)} output(s) {list(wanted)}, "
            f"but the model has {list(names)}; set output_names in the card"
        )
    return names[: len(wanted)]


def _check_output_shapes(
    codec: Codec, layout: KeypointLayout, io: ModelIO, outputs: tuple[str, ...], path: Path
) -> None:
    """Compare the static output dimensions with what the codec and layout expect."""
    shapes = dict(io.outputs)
    k = layout.num_keypoints
    if codec.type_name == "simcc":
        wx, wy = codec.num_bins  # type: ignore[attr-defined]
        expected = [[None, k, wx], [None, k, wy]]
    else:
        w, h = codec.heatmap_size  # type: ignore[attr-defined]
        expected = [[None, k, h, w]]
    for name, want in zip(outputs, expected, strict=True):
        got = shapes[name]
        pairs = list(zip(got, want, strict=False))
        bad = len(got) != len(want) or any(isinstance(g, int) and e is not None and g != e for g, e in pairs)
        if bad:
            text = ", ".join("N" if e is None else str(e) for e in want)
            raise ValueError(
                f"{path}: output {name!r} has shape {got}; the card ({codec.type_name} codec, layout "
                f"{layout.name!r} with {k} keypoints) expects [{text}]"
            )
