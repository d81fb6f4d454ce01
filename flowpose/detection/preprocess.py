"""Detector input: letterbox or plain resize as the card says, and the way back to image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from flowpose.models.card import ModelCard

__all__ = ["InputTransform", "preprocess_image"]


@dataclass(frozen=True)
class InputTransform:
    """Where the image went inside the model input: ``model = image * scale + offset``, per axis.

    Attributes:
        scale: ``(sx, sy)``, model pixels per image pixel.
        offset: ``(ox, oy)``, model-input position of the image's top-left corner (the padding).
        image_size: ``(w, h)`` of the original image, for clipping.
    """

    scale: tuple[float, float]
    offset: tuple[float, float]
    image_size: tuple[int, int]

    def boxes_to_image(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``[x1, y1, x2, y2]`` boxes (N, 4) from model-input pixels to image pixels, clipped."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        sx, sy = self.scale
        ox, oy = self.offset
        out = (boxes - np.array([ox, oy, ox, oy], np.float32)) / np.array([sx, sy, sx, sy], np.float32)
        w, h = self.image_size
        np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
        return out

    def boxes_to_model(self, boxes: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`boxes_to_image` (without clipping): image pixels -> model input."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        sx, sy = self.scale
        ox, oy = self.offset
        return boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([ox, oy, ox, oy], np.float32)


def preprocess_image(image: np.ndarray, card: ModelCard) -> tuple[np.ndarray, InputTransform]:
    """Turn a BGR uint8 image into the model's input tensor.

    ``letterbox`` scales the image by one factor so it fits ``input_size`` and fills the rest
    with ``pad_value`` (image at the top-left or centred, ``pad_align``); ``resize`` stretches it
    to ``input_size``. Then the channels are put in ``color_order``, normalised with
    ``(x - mean) / std`` and laid out as ``nchw`` or ``nhwc`` with a batch of one.

    Args:
        image: H x W x 3 uint8 BGR (a grey H x W image is accepted and replicated).
        card: A detection card.

    Returns:
        The float32 input tensor, and the transform back to image pixels.

    Raises:
        ValueError: On an empty image.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"cannot detect in an empty image of shape {image.shape}")
    in_w, in_h = card.input_size
    if card.preprocess == "resize":
        canvas = cv2.resize(image, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        transform = InputTransform((in_w / w, in_h / h), (0.0, 0.0), (w, h))
    else:
        ratio = min(in_w / w, in_h / h)
        new_w, new_h = max(1, min(in_w, round(w * ratio))), max(1, min(in_h, round(h * ratio)))
        ox, oy = ((in_w - new_w) // 2, (in_h - new_h) // 2) if card.pad_align == "center" else (0, 0)
        canvas = np.full((in_h, in_w, 3), round(card.pad_value), dtype=np.uint8)
        if (new_w, new_h) != (w, h):
            image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        canvas[oy : oy + new_h, ox : ox + new_w] = image
        # The per-axis scale of what was actually drawn, so rounding the size costs no accuracy.
        transform = InputTransform((new_w / w, new_h / h), (float(ox), float(oy)), (w, h))
    if card.color_order == "rgb":
        canvas = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    tensor = canvas.astype(np.float32)
    if card.mean != (0.0, 0.0, 0.0) or card.std != (1.0, 1.0, 1.0):
        tensor -= np.asarray(card.mean, np.float32)
        tensor /= np.asarray(card.std, np.float32)
    if card.input_layout == "nchw":
        tensor = tensor.transpose(2, 0, 1)
    return np.ascontiguousarray(tensor[None]), transform
