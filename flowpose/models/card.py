"""Model cards: what a node must know to feed an ONNX model and read its outputs.

A card travels inside the ONNX file as JSON under the metadata key ``flowpose_card``
(:mod:`flowpose.models.metadata` reads and writes it).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from flowpose.codecs import build_codec
from flowpose.codecs.base import check_choice, check_size
from flowpose.meta import KeypointLayout, layout_from_dict

__all__ = ["CARD_KEY", "DECODERS", "FORMAT_VERSION", "ModelCard"]

CARD_KEY = "flowpose_card"
FORMAT_VERSION = 1
TASKS = ("detection", "pose")
DECODERS = ("yolox", "rtmdet_end2end")  # implemented in flowpose.detection.decoders
DETECTION_PREPROCESS = ("letterbox", "resize")
POSE_PREPROCESS = ("affine",)  # the shared top-down crop, flowpose.geometry


@dataclass(frozen=True)
class ModelCard:
    """How to preprocess a model's input and decode its outputs.

    Args:
        task: ``"detection"`` or ``"pose"``.
        input_size: Model input ``(w, h)`` in pixels.
        mean: Per-channel mean subtracted from 0..255 pixels, in ``color_order``.
        std: Per-channel divisor applied after the mean, in ``color_order``.
        color_order: ``"rgb"`` or ``"bgr"``: the channel order the model wants.
        input_layout: ``"nchw"`` or ``"nhwc"``.
        input_name: The input tensor's name; None means the model's first input.
        output_names: Outputs in the order the decoder takes them; None means model order.
        preprocess: Detection: ``"letterbox"`` (keep aspect, pad) or ``"resize"``; pose:
            ``"affine"`` (the top-down crop).
        pad_value: Letterbox fill, 0..255.
        pad_align: Letterbox placement, ``"top_left"`` or ``"center"``.
        classes: Detection: class names by label index.
        decoder: Detection: one of :data:`DECODERS`.
        decoder_params: Detection: the decoder's parameters (e.g. ``strides`` for YOLOX).
        codec: Pose: codec config as from ``Codec.to_config()``.
        keypoint_layout: Pose: keypoint layout name or file (``"coco17"``, ``"ap10k"``).
        layout: Pose: the whole keypoint layout in the layout file format (names, colours,
            sigmas, flip pairs, skeleton), named ``keypoint_layout``: a model trained on your
            own keypoints then runs anywhere with no layout file beside it. None: the
            layout is looked up by name (built-ins, older cards).
        labels: Pose: the detection labels this model serves (``["person"]``).
        name: Short model name, for logs.
        description: Free text (origin, training data, license).
        format_version: Card format; readers refuse newer versions than they know.

    Raises:
        ValueError: On any invalid or inconsistent field, naming it.
    """

    task: str
    input_size: tuple[int, int]
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color_order: str = "rgb"
    input_layout: str = "nchw"
    input_name: str | None = None
    output_names: tuple[str, ...] | None = None
    preprocess: str | None = None  # None: the task's default
    pad_value: float = 114.0
    pad_align: str = "top_left"
    classes: tuple[str, ...] = ()
    decoder: str | None = None
    decoder_params: dict[str, Any] = field(default_factory=dict)
    codec: dict[str, Any] | None = None
    keypoint_layout: str | None = None
    layout: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    name: str = ""
    description: str = ""
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        check_choice(self.task, "task", TASKS)
        set_(self, "input_size", check_size(self.input_size, "input_size"))
        set_(self, "mean", _triple(self.mean, "mean", positive=False))
        set_(self, "std", _triple(self.std, "std", positive=True))
        check_choice(self.color_order, "color_order", ("rgb", "bgr"))
        check_choice(self.input_layout, "input_layout", ("nchw", "nhwc"))
        check_choice(self.pad_align, "pad_align", ("top_left", "center"))
        pad = self.pad_value
        if isinstance(pad, bool) or not isinstance(pad, (int, float)) or not 0 <= pad <= 255:
            raise ValueError(f"pad_value must be a number in [0, 255], got {pad!r}")
        set_(self, "pad_value", float(pad))
        # Own copies: a card is shared between threads and must not change with the caller's dicts.
        set_(self, "decoder_params", copy.deepcopy(self.decoder_params))
        set_(self, "codec", copy.deepcopy(self.codec))
        set_(self, "layout", copy.deepcopy(self.layout))
        if self.input_name is not None and not (isinstance(self.input_name, str) and self.input_name):
            raise ValueError(f"input_name must be a non-empty string or None, got {self.input_name!r}")
        if self.output_names is not None:
            set_(self, "output_names", _names(self.output_names, "output_names"))
        version = self.format_version
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(
                f"format_version {self.format_version!r} is not supported (this flowpose reads "
                f"1..{FORMAT_VERSION}); a newer flowpose wrote this card: upgrade flowpose"
            )
        if self.task == "detection":
            self._check_detection()
        else:
            self._check_pose()

    def _check_detection(self) -> None:
        set_ = object.__setattr__
        set_(
            self,
            "preprocess",
            check_choice(self.preprocess or "letterbox", "preprocess", DETECTION_PREPROCESS),
        )
        set_(self, "classes", _names(self.classes, "classes"))
        check_choice(self.decoder, "decoder", DECODERS)
        params = self.decoder_params
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise ValueError(f"decoder_params must be a dict with string keys, got {self.decoder_params!r}")
        strides = self.decoder_params.get("strides")
        if self.decoder == "yolox" and (
            not isinstance(strides, (list, tuple))
            or not strides
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in strides)
        ):
            raise ValueError(f"decoder 'yolox' needs decoder_params.strides, positive ints, got {strides!r}")
        for name in ("codec", "keypoint_layout", "layout"):
            if getattr(self, name) is not None:
                raise ValueError(f"{name} applies to pose cards only, but task is 'detection'")
        if self.labels:
            raise ValueError("labels applies to pose cards only; a detection card lists its classes")

    def _check_pose(self) -> None:
        set_ = object.__setattr__
        set_(self, "preprocess", check_choice(self.preprocess or "affine", "preprocess", POSE_PREPROCESS))
        if not isinstance(self.codec, dict):
            raise ValueError(f"a pose card needs codec, a dict as from Codec.to_config(), got {self.codec!r}")
        try:
            codec = build_codec(self.codec)
        except ValueError as exc:
            raise ValueError(f"codec: {exc}") from None
        codec_size = getattr(codec, "input_size", self.input_size)
        if tuple(codec_size) != self.input_size:
            raise ValueError(
                f"codec input_size {tuple(codec_size)} differs from the card's input_size {self.input_size}"
            )
        if not (isinstance(self.keypoint_layout, str) and self.keypoint_layout):
            raise ValueError(f"a pose card needs keypoint_layout ('coco17'...), got {self.keypoint_layout!r}")
        if self.layout is not None:
            embedded = self.embedded_layout()
            if embedded is not None and embedded.name != self.keypoint_layout:
                raise ValueError(
                    f"layout is named {embedded.name!r} but keypoint_layout is {self.keypoint_layout!r}; "
                    "they must agree (instances carry the name)"
                )
        set_(self, "labels", _names(self.labels, "labels"))
        if self.decoder is not None or self.classes or self.decoder_params:
            raise ValueError("decoder, decoder_params and classes apply to detection cards only, not 'pose'")

    def embedded_layout(self) -> KeypointLayout | None:
        """The keypoint layout carried in the card, or None when it only names one.

        Raises:
            ValueError: The embedded layout is malformed (the message names the field).
        """
        if self.layout is None:
            return None
        try:
            return layout_from_dict(self.layout, source="layout")
        except ValueError as exc:
            raise ValueError(f"embedded {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready fields (lists, not tuples); None fields are left out."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name in ("classes", "labels", "decoder_params") and not value):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> ModelCard:
        """Build a card from :meth:`to_dict` output; errors name ``source``."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a model card must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown model card field(s) {unknown}; known: {sorted(known)}")
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in data and dataclasses.MISSING is f.default is f.default_factory
        ]
        if missing:
            raise ValueError(f"{source}: model card misses required field(s) {missing}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: {exc}") from None

    def to_json(self) -> str:
        """The card as compact JSON (what goes into the ONNX metadata)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, source: str = "<json>") -> ModelCard:
        """Parse :meth:`to_json` output; errors name ``source``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: model card is not valid JSON: {exc}") from None
        return cls.from_dict(data, source)


def _triple(value: Any, name: str, positive: bool) -> tuple[float, float, float]:
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    numbers = [v for v in numbers if math.isfinite(v)]
    ok = len(items) == len(numbers) == 3 and all(v > 0 or not positive for v in numbers)
    if not ok:
        kind = "positive finite numbers" if positive else "finite numbers"
        raise ValueError(f"{name} must be 3 {kind} (one per channel), got {value!r}")
    return tuple(float(v) for v in items)  # type: ignore[return-value]


def _names(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list of strings, got {value!r}")
    if not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must hold non-empty strings, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} has duplicates: {sorted({v for v in value if value.count(v) > 1})}")
    return tuple(value)
