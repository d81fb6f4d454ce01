"""Settings of the top-down pipeline (the config's ``data.pipeline`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowpose.trainer.engine.config import check_keys

__all__ = ["PhotometricSettings", "TopdownSettings"]


def _check_prob(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"data.pipeline.{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True)
class PhotometricSettings:
    """Colour jitter applied to the crop (cheap: it is only the model input's size).

    Attributes:
        prob: Chance that a sample is jittered at all.
        brightness: Max brightness shift as a fraction of 255.
        contrast: Max relative contrast change.
        saturation: Max relative saturation change.
        hue: Max hue shift in degrees.
        grayscale_prob: Chance of a grey crop (helps models meant for monochrome cameras).
        blur_prob: Chance of a light Gaussian blur (motion, focus).
        noise: Max standard deviation of additive pixel noise, in 0..255 units.
    """

    prob: float = 0.8
    brightness: float = 0.25
    contrast: float = 0.3
    saturation: float = 0.3
    hue: float = 10.0
    grayscale_prob: float = 0.05
    blur_prob: float = 0.1
    noise: float = 6.0

    def __post_init__(self) -> None:
        for name in ("prob", "grayscale_prob", "blur_prob"):
            _check_prob(getattr(self, name), f"photometric.{name}")


@dataclass(frozen=True)
class TopdownSettings:
    """Geometry and augmentation of the top-down crops.

    Attributes:
        input_size: Model input ``(w, h)``.
        padding: Box padding before the crop (the inference node must use the same, 1.25).
        flip_prob: Chance of a horizontal mirror (left/right keypoints swap by flip pairs).
        half_body_prob: Chance of cropping the upper or lower body only (layouts with halves).
        half_body_min_keypoints: Labelled keypoints needed before a half-body crop is tried.
        half_body_padding: Padding of a half-body box.
        shift: Max shift of the box centre, as a fraction of the box size.
        scale: ``(min, max)`` multiplier of the box size.
        rotate_prob: Chance of a rotation.
        rotate: Max rotation in degrees (uniform in ``[-rotate, rotate]``).
        photometric: Colour jitter, or None for none.
        color_order: Channel order fed to the model, ``"rgb"`` or ``"bgr"`` (written to the card).
        use_joint_weights: Multiply keypoint loss weights by the layout's ``joint_weights``.
    """

    input_size: tuple[int, int]
    padding: float = 1.25
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_keypoints: int = 8
    half_body_padding: float = 1.5
    shift: float = 0.16
    scale: tuple[float, float] = (0.75, 1.25)
    rotate_prob: float = 0.6
    rotate: float = 40.0
    photometric: PhotometricSettings | None = field(default_factory=PhotometricSettings)
    color_order: str = "rgb"
    use_joint_weights: bool = True

    def __post_init__(self) -> None:
        try:
            w, h = (int(v) for v in self.input_size)
        except (TypeError, ValueError):
            raise ValueError(f"data.pipeline.input_size must be [w, h], got {self.input_size!r}") from None
        if w < 8 or h < 8:
            raise ValueError(f"data.pipeline.input_size must be at least 8x8, got {self.input_size!r}")
        object.__setattr__(self, "input_size", (w, h))
        lo, hi = self.scale
        if not 0 < lo <= hi:
            raise ValueError(f"data.pipeline.scale must be [min, max] with 0 < min <= max, got {self.scale!r}")
        object.__setattr__(self, "scale", (float(lo), float(hi)))
        for name in ("flip_prob", "half_body_prob", "rotate_prob"):
            _check_prob(getattr(self, name), name)
        if self.padding <= 0 or self.half_body_padding <= 0:
            raise ValueError("data.pipeline.padding and half_body_padding must be > 0")
        if self.color_order not in ("rgb", "bgr"):
            raise ValueError(f"data.pipeline.color_order must be 'rgb' or 'bgr', got {self.color_order!r}")

    @classmethod
    def from_dict(cls, section: dict[str, Any]) -> TopdownSettings:
        """Build from ``data.pipeline``; ``photometric: null`` or ``false`` turns jitter off."""
        section = dict(section)
        check_keys(section, cls, "data.pipeline")
        if "input_size" not in section:
            raise ValueError("data.pipeline.input_size is required ([w, h], e.g. [96, 128])")
        photo = section.pop("photometric", {})
        if photo in (None, False):
            photometric = None
        else:
            photo = {} if photo is True else dict(photo)
            check_keys(photo, PhotometricSettings, "data.pipeline.photometric")
            photometric = PhotometricSettings(**photo)
        if "scale" in section:
            section["scale"] = tuple(section["scale"])
        return cls(photometric=photometric, **section)
