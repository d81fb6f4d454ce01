"""Random augmentations of the top-down pipeline: half body, box jitter, flip, colour."""

from __future__ import annotations

import cv2
import numpy as np

from flowpose.meta import KeypointLayout
from flowpose.trainer.pipeline.settings import PhotometricSettings, TopdownSettings

__all__ = ["flip_crop", "half_body_box", "jitter_box", "photometric"]


def half_body_box(
    keypoints: np.ndarray,
    labelled: np.ndarray,
    layout: KeypointLayout,
    settings: TopdownSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Center and scale around the labelled upper (or lower) body, or None when not applicable.

    Teaches the model partial views (a person cut by the frame edge or a table), as MMPose's
    ``RandomHalfBody``. Needs a layout with ``upper_body_ids``/``lower_body_ids``.
    """
    if int(labelled.sum()) < settings.half_body_min_keypoints:
        return None
    upper = [i for i in layout.upper_body_ids if labelled[i]]
    lower = [i for i in layout.lower_body_ids if labelled[i]]
    choice = upper if (rng.random() < 0.5 and len(upper) >= 2) or len(lower) < 2 else lower
    if len(choice) < 2:
        return None
    pts = keypoints[choice]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) * 0.5
    size = np.maximum(hi - lo, 1.0) * settings.half_body_padding
    return center.astype(np.float32), size.astype(np.float32)


def jitter_box(
    center: np.ndarray, scale: np.ndarray, settings: TopdownSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """Random shift, scale and rotation of a box (MMPose's ``RandomBBoxTransform``, uniform)."""
    shift = rng.uniform(-1.0, 1.0, size=2) * settings.shift * scale
    factor = rng.uniform(*settings.scale)
    rot = float(rng.uniform(-settings.rotate, settings.rotate)) if rng.random() < settings.rotate_prob else 0.0
    return (center + shift).astype(np.float32), (scale * factor).astype(np.float32), rot


def flip_crop(crop: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, layout: KeypointLayout):
    """Mirror a crop and its keypoints (crop pixels), swapping left/right by the flip pairs.

    Pixel ``j`` of a row goes to ``w - 1 - j``, so a keypoint at ``x`` goes to ``w - 1 - x``.
    """
    w = crop.shape[1]
    mirrored = np.ascontiguousarray(crop[:, ::-1])
    kpts = keypoints.copy()
    kpts[:, 0] = (w - 1) - kpts[:, 0]
    index = layout.flip_index
    return mirrored, kpts[index], visible[index]


def photometric(crop: np.ndarray, p: PhotometricSettings, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation and hue jitter, grey, blur and noise on a BGR uint8 crop."""
    if rng.random() >= p.prob:
        return crop
    img = crop
    if p.hue > 0 or p.saturation > 0:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + round(rng.uniform(-p.hue, p.hue) / 2)) % 180  # OpenCV hue is 0..179
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - p.saturation, 1 + p.saturation), 0, 255)
        img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    alpha = rng.uniform(1 - p.contrast, 1 + p.contrast)
    beta = rng.uniform(-p.brightness, p.brightness) * 255.0
    mean = float(img.mean())
    out = (img.astype(np.float32) - mean) * alpha + mean + beta
    if p.noise > 0:
        out += rng.normal(0.0, rng.uniform(0, p.noise), size=out.shape).astype(np.float32)
    img = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < p.grayscale_prob:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < p.blur_prob:
        img = cv2.GaussianBlur(img, (3, 3), float(rng.uniform(0.3, 1.2)))
    return img
