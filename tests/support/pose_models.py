"""Pose test models built with onnx.helper, with the signatures of real exports, that really look.

The models locate coloured markers: keypoint k answers to one colour (red, green or blue) by
a 1x1 convolution over the normalised input, then

* SimCC (as RTMPose's mmdeploy export: ``input`` [N,3,256,192] -> ``simcc_x`` [N,K,384],
  ``simcc_y`` [N,K,512]): max over rows / over columns gives x / y profiles, resampled to
  bins by a MatMul with a linear-interpolation matrix (bin i = crop pixel i / ratio, the
  codec's convention);
* heatmap ([N,3,H,W] -> ``heatmaps`` [N,K,H/4,W/4]): ReLU, then a 5x5 average pool at stride
  4 centred on crop pixel 4j (heatmap pixel j = crop pixel 4j, the codec's convention).

So a test draws markers at known image positions and checks that the keypoints come back
there in image pixels: crop, batching, normalisation, colour order, decode and inverse
affine all have to be right. Paired keypoints (left/right) answer to the same colour, so the
models are mirror-consistent and the flip test must give the same positions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from flowpose.meta import KeypointLayout, load_layout
from flowpose.models import CARD_KEY, ModelCard

#: Marker colours (BGR) by group; keypoint groups come from :func:`marker_groups`.
GROUP_COLORS_BGR = ((0, 0, 255), (0, 255, 0), (255, 0, 0))
RTMPOSE_MEAN = (123.675, 116.28, 103.53)
RTMPOSE_STD = (58.395, 57.12, 57.375)


def marker_groups(layout: KeypointLayout) -> np.ndarray:
    """Colour group (0 red, 1 green, 2 blue) per keypoint; flip partners share a group."""
    partner = dict(layout.flip_pairs) | {b: a for a, b in layout.flip_pairs}
    groups = np.full(layout.num_keypoints, -1)
    next_group = 0
    for k in range(layout.num_keypoints):
        if groups[k] < 0:
            groups[k] = next_group % 3
            if k in partner:
                groups[partner[k]] = groups[k]
            next_group += 1
    return groups


def marker_card(
    kind: str, layout: str = "coco17", labels: tuple[str, ...] = ("person",), input_size=(192, 256), **fields
) -> ModelCard:
    """The card of a marker model: RTMPose normalisation, RGB, the codec of ``kind``."""
    w, h = input_size
    codec = (
        {"type": "simcc", "input_size": [w, h], "sigma": [4.9, 5.66], "simcc_split_ratio": 2.0}
        if kind == "simcc"
        else {"type": "heatmap", "input_size": [w, h], "heatmap_size": [w // 4, h // 4], "sigma": 2.0}
    )
    base = {"mean": RTMPOSE_MEAN, "std": RTMPOSE_STD, "color_order": "rgb", "name": f"marker-{kind}-{layout}"}
    return ModelCard(
        task="pose", input_size=(w, h), codec=codec, keypoint_layout=layout, labels=labels, **{**base, **fields}
    )


def _interp_matrix(length: int, ratio: float) -> np.ndarray:
    """(length, bins) matrix: profile @ M samples the profile at i / ratio, linearly."""
    bins = round(length * ratio)
    pos = np.arange(bins) / ratio
    lo = np.clip(np.floor(pos).astype(int), 0, length - 1)
    hi = np.minimum(lo + 1, length - 1)
    frac = pos - np.floor(pos)
    m = np.zeros((length, bins), np.float32)
    m[lo, np.arange(bins)] += 1 - frac
    m[hi, np.arange(bins)] += frac
    return m


def build_marker_model(
    path: Path,
    kind: str = "simcc",
    *,
    layout: str = "coco17",
    input_size: tuple[int, int] = (192, 256),
    batch: int | None = None,
    card: ModelCard | None = None,
    color_order: str = "rgb",
) -> Path:
    """Write a marker-locating pose model (see the module docstring).

    Args:
        path: Where to write the .onnx.
        kind: ``"simcc"`` (RTMPose signature) or ``"heatmap"``.
        layout: Keypoint layout; fixes K and the colour groups.
        input_size: Model input (w, h).
        batch: A fixed batch size, or None for a dynamic batch axis ``N``.
        card: Card to embed; None leaves the model card-less (like an mmdeploy export).
        color_order: Channel order the model reads (must match the card's).
    """
    lay = load_layout(layout)
    k, (w, h) = lay.num_keypoints, input_size
    channel_of = (0, 1, 2) if color_order == "rgb" else (2, 1, 0)  # red, green, blue -> model channel
    weights = np.full((k, 3, 1, 1), -0.5, np.float32)
    for kp, group in enumerate(marker_groups(lay)):
        weights[kp, channel_of[group]] = 1.0
    n = "N" if batch is None else batch
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.full(k, -0.5, np.float32), "b")]
    nodes = [helper.make_node("Conv", ["input", "w", "b"], ["response"])]
    if kind == "simcc":
        inits += [
            numpy_helper.from_array(_interp_matrix(w, 2.0), "ux"),
            numpy_helper.from_array(_interp_matrix(h, 2.0), "uy"),
        ]
        nodes += [
            helper.make_node("ReduceMax", ["response"], ["prof_x"], axes=[2], keepdims=0),
            helper.make_node("ReduceMax", ["response"], ["prof_y"], axes=[3], keepdims=0),
            helper.make_node("MatMul", ["prof_x", "ux"], ["simcc_x"]),
            helper.make_node("MatMul", ["prof_y", "uy"], ["simcc_y"]),
        ]
        outputs = [
            helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [n, k, 2 * w]),
            helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [n, k, 2 * h]),
        ]
    elif kind == "heatmap":
        nodes += [
            helper.make_node("Relu", ["response"], ["positive"]),
            helper.make_node(
                "AveragePool",
                ["positive"],
                ["heatmaps"],
                kernel_shape=[5, 5],
                strides=[4, 4],
                pads=[2, 2, 2, 2],
                count_include_pad=0,
            ),
        ]
        outputs = [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [n, k, h // 4, w // 4])]
    else:
        raise ValueError(f"kind must be simcc or heatmap, got {kind!r}")
    graph = helper.make_graph(
        nodes,
        f"marker_{kind}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [n, 3, h, w])],
        outputs,
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if card is not None:
        helper.set_model_props(model, {CARD_KEY: card.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def draw_marker(image: np.ndarray, xy: tuple[float, float], color_bgr: tuple[int, int, int], sigma: float = 3.0):
    """Blend a Gaussian blob of ``color_bgr`` centred at sub-pixel ``xy`` into ``image`` (in place)."""
    hgt, wid = image.shape[:2]
    ys, xs = np.mgrid[0:hgt, 0:wid]
    alpha = np.exp(-((xs - xy[0]) ** 2 + (ys - xy[1]) ** 2) / (2 * sigma**2))[..., None]
    image[:] = np.clip(image * (1 - alpha) + np.asarray(color_bgr) * alpha, 0, 255).astype(np.uint8)


def marker_scene(
    size: tuple[int, int], boxes: list[list[float]], spots: list[list[tuple[float, float]]], layout: str = "coco17"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A black image with three markers (red, green, blue) per box.

    Args:
        size: Image (w, h).
        boxes: ``[x1, y1, x2, y2]`` per instance.
        spots: Per box, three (fx, fy) marker positions as fractions of the box.
        layout: Keypoint layout of the model that will look at it.

    Returns:
        ``(image, boxes (N, 4), expected keypoints (N, K, 2) in image pixels)``.
    """
    image = np.zeros((size[1], size[0], 3), np.uint8)
    groups = marker_groups(load_layout(layout))
    expected = []
    for box, fractions in zip(boxes, spots, strict=True):
        x1, y1, x2, y2 = box
        points = [(x1 + fx * (x2 - x1), y1 + fy * (y2 - y1)) for fx, fy in fractions]
        for point, color in zip(points, GROUP_COLORS_BGR, strict=True):
            draw_marker(image, point, color)
        expected.append([points[g] for g in groups])
    return image, np.asarray(boxes, np.float32), np.asarray(expected, np.float32)
