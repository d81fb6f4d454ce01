"""A detector running an ONNX model on ONNX Runtime: preprocess -> inference -> decode -> filter."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from flowpose.detection.decoders import build_decoder
from flowpose.detection.detections import Detections, DetectionSettings
from flowpose.detection.nms import postprocess
from flowpose.detection.preprocess import InputTransform, preprocess_image
from flowpose.models.card import ModelCard
from flowpose.models.session import create_session

__all__ = ["OnnxDetector"]

logger = logging.getLogger(__name__)


class OnnxDetector:
    """Detects objects with an ONNX model described by a detection card.

    Args:
        model_path: The ONNX file.
        card: Its detection card (``flowpose.models.resolve_card``).
        settings: Score threshold, NMS IoU, cap and class filter.
        providers: ``"cpu"``, ``"cuda"``, ``"tensorrt"`` or a list (see ``create_session``).
        intra_op_threads: ONNX Runtime threads; None gives a fair share of the cores.

    Raises:
        FileNotFoundError: When the model does not exist.
        ValueError: When the card is not a usable detection card.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        card: ModelCard,
        settings: DetectionSettings | None = None,
        providers: str | Sequence[str] | None = "cpu",
        intra_op_threads: int | None = None,
    ) -> None:
        self.path = Path(model_path)
        self.card = card
        self.settings = settings or DetectionSettings()
        self.classes: tuple[str, ...] = card.classes
        self.decoder = build_decoder(card, where=str(self.path))
        if self.settings.keep is not None and max(self.settings.keep, default=-1) >= len(self.classes):
            raise ValueError(f"{self.path}: class indices {self.settings.keep} beyond the card's {len(self.classes)}")
        self.session = create_session(self.path, providers=providers, intra_op_threads=intra_op_threads)
        inputs = self.session.get_inputs()
        self.input_name = card.input_name or inputs[0].name
        self.output_names = list(card.output_names) if card.output_names else None
        feed = next((i for i in inputs if i.name == self.input_name), inputs[0])
        #: Whether the model's batch axis is free (a symbolic first dimension): then several
        #: images run in one ``session.run``. Most published exports fix it at 1.
        self.dynamic_batch = not isinstance(feed.shape[0] if feed.shape else 1, int)
        self._said_fixed = False

    def detect(self, image: np.ndarray) -> Detections:
        """Detections in ``image`` (H x W x 3 uint8 BGR), boxes in its pixels, best score first."""
        tensor, transform = preprocess_image(image, self.card)
        outputs = self.session.run(self.output_names, {self.input_name: tensor})
        return self._finish(outputs, transform)

    def detect_many(self, images: list[np.ndarray]) -> list[Detections]:
        """:meth:`detect` for several images: one ``session.run`` when the batch axis is free.

        A model exported with a batch of 1 runs the images one by one (said once in the log).
        """
        if len(images) == 1 or not self.dynamic_batch:
            if len(images) > 1 and not self._said_fixed:
                self._said_fixed = True
                logger.info(
                    "%s has a fixed batch of 1: frames of several streams run one call each "
                    "(export it with a dynamic batch axis to run them in one)",
                    self.path.name,
                )
            return [self.detect(image) for image in images]
        prepared = [preprocess_image(image, self.card) for image in images]
        batch = np.concatenate([tensor for tensor, _ in prepared])
        outputs = self.session.run(self.output_names, {self.input_name: batch})
        # Every output carries the batch first; each image's rows decode as a batch of one.
        return [
            self._finish([out[i : i + 1] for out in outputs], transform) for i, (_, transform) in enumerate(prepared)
        ]

    def _finish(self, outputs: list[np.ndarray], transform: InputTransform) -> Detections:
        """Decode one image's outputs, filter them and map the boxes back to its pixels."""
        s = self.settings
        raw = self.decoder.decode(outputs, s.score_threshold, s.keep)
        dets = postprocess(raw, s, run_nms=not self.decoder.nms_inside)
        return Detections(transform.boxes_to_image(dets.boxes), dets.scores, dets.labels)

    def close(self) -> None:
        """Drop the session (ONNX Runtime frees it with the last reference)."""
        self.session = None  # type: ignore[assignment]
