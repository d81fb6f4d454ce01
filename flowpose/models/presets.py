"""Named cards for well-known exports that carry no card of their own.

A preset is the card dict of one family of exports; a sidecar or a zoo entry may name a preset
and override some of its fields (``{"preset": "rtmpose_simcc", "keypoint_layout": "ap10k"}``).
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from flowpose.models.card import ModelCard

__all__ = ["COCO80_CLASSES", "PRESETS", "card_from_spec", "preset_card"]

# COCO's 80 detection classes in the label order of every COCO-trained detector.
COCO80_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

PRESETS: dict[str, dict[str, Any]] = {
    # Megvii's own ONNX export (tools/export_onnx.py): no normalisation, decoding left to us.
    "yolox": {
        "task": "detection",
        "name": "YOLOX (raw export)",
        "input_size": [416, 416],
        "color_order": "bgr",
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "input_name": "images",
        "output_names": ["output"],
        "preprocess": "letterbox",
        "pad_value": 114.0,
        "pad_align": "top_left",
        "classes": list(COCO80_CLASSES),
        "decoder": "yolox",
        "decoder_params": {"strides": [8, 16, 32]},
    },
    # mmdeploy "end2end" export: NMS inside the graph, dets [1, N, 5] (x1 y1 x2 y2 score), labels [1, N].
    "rtmdet_end2end": {
        "task": "detection",
        "name": "RTMDet (mmdeploy end2end)",
        "input_size": [640, 640],
        "color_order": "bgr",
        "mean": [103.53, 116.28, 123.675],
        "std": [57.375, 57.12, 58.395],
        "input_name": "input",
        "output_names": ["dets", "labels"],
        "preprocess": "letterbox",
        "pad_value": 114.0,
        "pad_align": "top_left",
        "classes": list(COCO80_CLASSES),
        "decoder": "rtmdet_end2end",
    },
    # mmdeploy export of RTMPose: normalisation is left to preprocessing, outputs are SimCC logits.
    "rtmpose_simcc": {
        "task": "pose",
        "name": "RTMPose (mmdeploy end2end)",
        "input_size": [192, 256],
        "color_order": "rgb",
        "mean": [123.675, 116.28, 103.53],
        "std": [58.395, 57.12, 57.375],
        "input_name": "input",
        "output_names": ["simcc_x", "simcc_y"],
        "codec": {"type": "simcc", "input_size": [192, 256], "sigma": [4.9, 5.66], "simcc_split_ratio": 2.0},
        "keypoint_layout": "coco17",
        "labels": ["person"],
    },
}


def preset_card(name: str, **overrides: Any) -> ModelCard:
    """The card of preset ``name`` with some fields replaced (see :func:`card_from_spec`).

    Raises:
        ValueError: On an unknown preset (with the close matches) or an invalid override.
    """
    return card_from_spec({"preset": name, **overrides}, source=f"preset {name!r}")


def card_from_spec(spec: dict[str, Any], source: str = "<card>") -> ModelCard:
    """Build a card from a full card dict, or from ``preset: NAME`` plus overriding fields.

    When an override changes ``input_size`` but not ``codec``, the codec's ``input_size``
    follows, since a SimCC or heatmap codec is tied to the input it was trained at.

    Raises:
        ValueError: On an unknown preset or an invalid card, naming ``source``.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"{source}: a model card must be a mapping, got {type(spec).__name__}")
    data = copy.deepcopy(spec)
    name = data.pop("preset", None)
    if name is None:
        return ModelCard.from_dict(data, source)
    if name not in PRESETS:
        close = difflib.get_close_matches(str(name), PRESETS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{source}: unknown preset {name!r}{hint}; presets: {sorted(PRESETS)}")
    merged = {**copy.deepcopy(PRESETS[name]), **data}
    size = data.get("input_size")
    if isinstance(size, (list, tuple)) and "codec" not in data and isinstance(merged.get("codec"), dict):
        merged["codec"]["input_size"] = list(size)
    return ModelCard.from_dict(merged, source)
