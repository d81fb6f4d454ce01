"""Tiny ONNX models with the exact signatures of foreign exports, built with onnx.helper.

Their outputs depend on the input, so decoders and preprocessing are really exercised:

* :func:`yolox_raw_model` — Megvii's raw YOLOX export: input ``images`` [1, 3, H, W] float,
  output ``output`` [1, A, 5 + C] with A = sum over strides of (H/s) * (W/s). Chosen boxes are
  encoded at chosen grid points; their objectness is ``score * mean(input) / 255``, so a black
  image finds nothing and a white one finds every box at its full score.
* :func:`rtmdet_end2end_model` — mmdeploy's end2end RTMDet: input ``input`` [1, 3, H, W],
  outputs ``dets`` [1, N, 5] (x1, y1, x2, y2, score) and ``labels`` [1, N] int64. Scores are
  ``score * sigmoid(mean(input))`` (the input after the card's normalisation).

Boxes are given in model-input pixels; tests map them to image pixels through the letterbox.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "EncodedBox",
    "EndToEndBox",
    "rtmdet_end2end_model",
    "save_model",
    "yolox_anchor_count",
    "yolox_raw_model",
]

OPSET = 13
IR_VERSION = 8


@dataclass(frozen=True)
class EncodedBox:
    """A box a YOLOX test model predicts, in model-input pixels.

    Attributes:
        cx, cy, w, h: Centre and size.
        label: Class index.
        score: Objectness times class probability on a white image.
        stride: The stride whose grid point holds it; the point is the cell containing the centre.
    """

    cx: float
    cy: float
    w: float
    h: float
    label: int = 0
    score: float = 0.9
    stride: int = 8

    @property
    def xyxy(self) -> np.ndarray:
        """``[x1, y1, x2, y2]``, float32."""
        return np.array(
            [self.cx - self.w / 2, self.cy - self.h / 2, self.cx + self.w / 2, self.cy + self.h / 2], np.float32
        )


@dataclass(frozen=True)
class EndToEndBox:
    """A row of an end2end model's outputs: box in model-input pixels, score on a neutral input, label."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 0.9
    label: int = 0


def save_model(graph, path: Path) -> Path:
    """Save ``graph`` as a checked model onnxruntime can load."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def yolox_anchor_count(input_size: tuple[int, int] = (416, 416), strides: Sequence[int] = (8, 16, 32)) -> int:
    """Rows of a YOLOX raw output: one per grid point of every stride."""
    w, h = input_size
    return sum((w // s) * (h // s) for s in strides)


def yolox_raw_model(
    path: Path,
    boxes: Sequence[EncodedBox] = (),
    input_size: tuple[int, int] = (416, 416),
    strides: Sequence[int] = (8, 16, 32),
    num_classes: int = 80,
    background: float = 0.0,
) -> Path:
    """Write a YOLOX raw-export look-alike predicting ``boxes`` (see the module docstring).

    Args:
        path: Where to write the model.
        boxes: What it predicts, each at its own grid point.
        input_size: ``(w, h)`` of the input.
        strides: Grids, in output order.
        num_classes: Class columns.
        background: Objectness of every other grid point on a white image (noise for thresholds).
    """
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    anchors = yolox_anchor_count(input_size, strides)
    const = np.zeros((1, anchors, 5 + num_classes), np.float32)  # raw values that do not depend on the input
    gain = np.zeros_like(const)  # times mean(input) / 255
    gain[0, :, 4] = background / 255.0
    const[0, :, 5] = 1.0  # class 0 for the background points
    offsets = np.cumsum([0] + [(w // s) * (h // s) for s in strides])
    for box in boxes:
        s = box.stride
        k = list(strides).index(s)
        gx, gy = int(box.cx // s), int(box.cy // s)
        row = offsets[k] + gy * (w // s) + gx
        const[0, row, :4] = [box.cx / s - gx, box.cy / s - gy, math.log(box.w / s), math.log(box.h / s)]
        const[0, row, 5:] = 0.0
        const[0, row, 5 + box.label] = 1.0
        gain[0, row, 4] = box.score / 255.0
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["level"], axes=[0, 1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["gain", "level"], ["scaled"]),
        helper.make_node("Add", ["const", "scaled"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolox_raw_test",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, anchors, 5 + num_classes])],
        initializer=[numpy_helper.from_array(const, "const"), numpy_helper.from_array(gain, "gain")],
    )
    return save_model(graph, path)


def rtmdet_end2end_model(
    path: Path,
    boxes: Sequence[EndToEndBox] = (),
    input_size: tuple[int, int] = (640, 640),
    num_rows: int = 10,
) -> Path:
    """Write an mmdeploy end2end RTMDet look-alike returning ``boxes`` (see the module docstring).

    Rows after ``boxes`` up to ``num_rows`` are padding: zero boxes, score 0, label -1.
    """
    from onnx import TensorProto, helper, numpy_helper

    if len(boxes) > num_rows:
        raise ValueError(f"{len(boxes)} boxes do not fit in {num_rows} rows")
    w, h = input_size
    xyxy = np.zeros((1, num_rows, 4), np.float32)
    scores = np.zeros((1, num_rows, 1), np.float32)
    labels = np.full((1, num_rows), -1, np.int64)
    for i, box in enumerate(boxes):
        xyxy[0, i] = [box.x1, box.y1, box.x2, box.y2]
        scores[0, i, 0] = box.score
        labels[0, i] = box.label
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["level"], axes=[0, 1, 2, 3], keepdims=0),
        helper.make_node("Sigmoid", ["level"], ["gate"]),
        helper.make_node("Mul", ["scores", "gate"], ["gated"]),
        helper.make_node("Concat", ["boxes", "gated"], ["dets"], axis=2),
        helper.make_node("Identity", ["label_values"], ["labels"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rtmdet_end2end_test",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [
            helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, num_rows, 5]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [1, num_rows]),
        ],
        initializer=[
            numpy_helper.from_array(xyxy, "boxes"),
            numpy_helper.from_array(scores, "scores"),
            numpy_helper.from_array(labels, "label_values"),
        ],
    )
    return save_model(graph, path)
