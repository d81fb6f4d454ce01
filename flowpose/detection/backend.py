"""Choosing and opening a detector backend (an ONNX model or the HOG fallback), and checking the choice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from flowpose.detection.classes import class_indices, unknown_classes_message
from flowpose.detection.detections import Detections, DetectionSettings
from flowpose.detection.hog import HogDetector
from flowpose.detection.onnx_detector import OnnxDetector
from flowpose.models.card import ModelCard
from flowpose.models.presets import card_from_spec
from flowpose.models.resolve import find_card
from flowpose.models.session import provider_list
from flowpose.zoo import ZooError, get_entry, resolve_model

__all__ = ["HOG_MODEL", "DetectorBackend", "DetectorConfig", "check_config", "open_detector"]

#: The ``model`` value that selects the model-free HOG people detector.
HOG_MODEL = "hog"


class DetectorBackend(Protocol):
    """What the Detector node needs of a detector."""

    #: Class names by label index.
    classes: tuple[str, ...]

    def detect(self, image: np.ndarray) -> Detections:
        """Filtered detections in image pixels, best score first."""
        ...

    def detect_many(self, images: list[np.ndarray]) -> list[Detections]:
        """:meth:`detect` for several images (one batched inference where the model allows)."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


@dataclass(frozen=True)
class DetectorConfig:
    """A detector as a graph file describes it.

    Args:
        model: ``zoo:NAME``, a path to an ONNX file, or ``"hog"``.
        preset: Card preset for a model without an embedded card or sidecar.
        classes: Class names to keep; empty keeps all.
        score_threshold: See :class:`DetectionSettings`.
        nms_iou: See :class:`DetectionSettings`.
        max_detections: See :class:`DetectionSettings`.
        providers: ONNX Runtime providers (``"cpu"``, ``"cuda"``, ...).
        intra_op_threads: ONNX Runtime threads; None: a fair share of the cores.
    """

    model: str
    preset: str | None = None
    classes: tuple[str, ...] = ()
    score_threshold: float = 0.3
    nms_iou: float = 0.45
    max_detections: int = 100
    providers: str | Sequence[str] = "cpu"
    intra_op_threads: int | None = None

    @property
    def is_hog(self) -> bool:
        """Whether this is the model-free HOG detector."""
        return self.model == HOG_MODEL

    def settings(self, classes: Sequence[str]) -> DetectionSettings:
        """The filter settings, with the class names turned into indices into ``classes``.

        Raises:
            ValueError: On a class name not in ``classes``.
        """
        return DetectionSettings(
            self.score_threshold, self.nms_iou, self.max_detections, class_indices(self.classes, classes)
        )


def open_detector(config: DetectorConfig) -> DetectorBackend:
    """Open the detector ``config`` describes (loads the model; never downloads).

    Raises:
        ModelNotFoundError: The model file or zoo download is missing (the message has the fix).
        ValueError: No usable card, or unknown class names.
    """
    if config.is_hog:
        return HogDetector(config.settings(HogDetector.classes))
    path = resolve_model(config.model)
    card = find_card(path, config.preset).card
    _require_detection(card, str(path))
    return OnnxDetector(path, card, config.settings(card.classes), config.providers, config.intra_op_threads)


def check_config(config: DetectorConfig) -> list[tuple[str, str]]:
    """Problems with ``config`` found without running anything, as ``(field, message)`` pairs.

    A missing file or a zoo model not downloaded yet gives the zoo's message with the exact
    ``flowpose zoo download`` command; class names are checked against the model's card (for a
    zoo model not downloaded yet, against its zoo card).
    """
    if config.is_hog:
        problems = [("preset", "applies to ONNX models, not to model: hog")] if config.preset else []
        return problems + _class_problems(config, HogDetector.classes)
    problems = []
    try:
        provider_list(config.providers)
    except ValueError as exc:
        problems.append(("providers", str(exc)))
    try:
        path = resolve_model(config.model)
    except (ZooError, FileNotFoundError) as exc:
        problems.append(("model", str(exc)))
        card = _zoo_card(config)
        return problems + (_class_problems(config, card.classes) if card is not None else [])
    try:
        card = find_card(path, config.preset).card
        _require_detection(card, str(path))
    except (ValueError, FileNotFoundError) as exc:
        return [*problems, ("preset" if config.preset else "model", str(exc))]
    return problems + _class_problems(config, card.classes)


def _class_problems(config: DetectorConfig, classes: Sequence[str]) -> list[tuple[str, str]]:
    problem = unknown_classes_message(config.classes, classes)
    return [("classes", problem)] if problem else []


def _zoo_card(config: DetectorConfig) -> ModelCard | None:
    """The card a zoo model will have once downloaded, or None (not a zoo model, no card)."""
    if not config.model.startswith("zoo:"):
        return None
    try:
        spec = get_entry(config.model[4:]).card or ({"preset": config.preset} if config.preset else {})
        card = card_from_spec(spec) if spec else None
    except (ZooError, ValueError):
        return None
    return card if card is not None and card.task == "detection" else None


def _require_detection(card: ModelCard, where: str) -> None:
    if card.task != "detection":
        raise ValueError(f"{where}: this is a {card.task} model; a Detector needs a detection model")
