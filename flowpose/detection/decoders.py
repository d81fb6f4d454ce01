"""Detector output decoders, one per card ``decoder``: raw model outputs -> boxes in model-input pixels.

* ``yolox``: Megvii's raw export, one row per grid point of every stride (strides in order,
  each grid row-major): ``dx, dy, log w, log h, objectness, class probabilities...``
  (objectness and classes already through a sigmoid). ``cx = (dx + gx) * stride``,
  ``w = exp(log w) * stride``, score = objectness * class probability. NMS still to do.
* ``rtmdet_end2end``: mmdeploy's export with NMS inside: ``dets`` [1, N, 5] (x1, y1, x2, y2,
  score) and ``labels`` [1, N]; rows with a negative label are padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np

from flowpose.detection.detections import Detections
from flowpose.models.card import ModelCard

__all__ = ["DECODER_TYPES", "Decoder", "RTMDetEnd2EndDecoder", "YoloxDecoder", "build_decoder"]

# exp() of a log-size above this overflows float32; a real model never gets near it.
_MAX_LOG_SIZE = 20.0


class Decoder(Protocol):
    """Turns a model's outputs into candidate detections above a score threshold."""

    #: True when the model already ran NMS (the caller must not run it again).
    nms_inside: ClassVar[bool]

    def decode(self, outputs: Sequence[np.ndarray], score_threshold: float, keep: tuple[int, ...] | None) -> Detections:
        """Candidates scoring at least ``score_threshold``, of the classes in ``keep`` (None: all)."""
        ...


class YoloxDecoder:
    """Decoder of YOLOX raw exports (grid offsets and log sizes per stride).

    Args:
        input_size: Model input ``(w, h)``.
        strides: Feature strides in the order of the output rows, e.g. ``(8, 16, 32)``.
        num_classes: Number of class columns after the objectness.
        where: Names the model in errors.
    """

    nms_inside: ClassVar[bool] = False

    def __init__(self, input_size: tuple[int, int], strides: Sequence[int], num_classes: int, where: str) -> None:
        w, h = input_size
        grids, steps = [], []
        for stride in strides:
            gw, gh = w // stride, h // stride
            ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")  # row-major: x varies fastest
            grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
            steps.append(np.full(gw * gh, stride))
        self.grid = np.concatenate(grids).astype(np.float32)  # (A, 2)
        self.stride = np.concatenate(steps).astype(np.float32)[:, None]  # (A, 1)
        self.num_classes = num_classes
        self.where = where

    def decode(self, outputs: Sequence[np.ndarray], score_threshold: float, keep: tuple[int, ...] | None) -> Detections:
        pred = np.asarray(outputs[0])
        anchors, width = len(self.grid), 5 + self.num_classes
        if pred.ndim == 3:
            pred = pred[0]
        if pred.shape != (anchors, width):
            raise ValueError(
                f"{self.where}: YOLOX output has shape {np.asarray(outputs[0]).shape}; expected "
                f"[1, {anchors}, {width}] for this input size, strides and {self.num_classes} classes"
            )
        cls = pred[:, 5:]
        if keep is not None:  # best class among those kept, so a filter never hides a second-best person
            cls = cls[:, list(keep)]
        best = cls.argmax(axis=1)
        scores = pred[:, 4] * cls[np.arange(len(cls)), best]
        hit = np.flatnonzero(scores >= score_threshold)
        rows, stride = pred[hit], self.stride[hit]
        centre = (rows[:, :2] + self.grid[hit]) * stride
        half = np.exp(np.minimum(rows[:, 2:4], _MAX_LOG_SIZE)) * stride / 2
        labels = best[hit] if keep is None else np.asarray(keep, np.int64)[best[hit]]
        return Detections(np.concatenate([centre - half, centre + half], axis=1), scores[hit], labels)


class RTMDetEnd2EndDecoder:
    """Decoder of mmdeploy end2end exports: boxes, scores and labels are final, NMS done.

    Args:
        where: Names the model in errors.
    """

    nms_inside: ClassVar[bool] = True

    def __init__(self, where: str) -> None:
        self.where = where

    def decode(self, outputs: Sequence[np.ndarray], score_threshold: float, keep: tuple[int, ...] | None) -> Detections:
        if len(outputs) < 2:
            raise ValueError(f"{self.where}: an end2end detector needs two outputs (dets, labels), got {len(outputs)}")
        dets = np.asarray(outputs[0], dtype=np.float32)
        labels = np.asarray(outputs[1]).astype(np.int64)
        if dets.ndim != 3 or dets.shape[2] != 5 or labels.shape != dets.shape[:2]:
            raise ValueError(
                f"{self.where}: end2end outputs must be dets [1, N, 5] and labels [1, N], "
                f"got {list(dets.shape)} and {list(labels.shape)}"
            )
        dets, labels = dets[0], labels[0]
        ok = (dets[:, 4] >= score_threshold) & (labels >= 0)
        if keep is not None:
            ok &= np.isin(labels, keep)
        return Detections(dets[ok, :4], dets[ok, 4], labels[ok])


def build_decoder(card: ModelCard, where: str = "model") -> Decoder:
    """The decoder a detection card names, set up for its input size and classes.

    Raises:
        ValueError: When the card is not a detection card or names an unknown decoder.
    """
    if card.task != "detection":
        raise ValueError(f"{where}: a detector needs a detection card, this one is for task {card.task!r}")
    if card.decoder == "yolox":
        return YoloxDecoder(card.input_size, card.decoder_params["strides"], len(card.classes), where)
    if card.decoder == "rtmdet_end2end":
        return RTMDetEnd2EndDecoder(where)
    raise ValueError(f"{where}: no decoder {card.decoder!r}; known: {sorted(DECODER_TYPES)}")


DECODER_TYPES: dict[str, type] = {"yolox": YoloxDecoder, "rtmdet_end2end": RTMDetEnd2EndDecoder}
