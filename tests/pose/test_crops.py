"""CropBatch: crops equal the shared geometry.crop, normalised per card, mirrored for the flip test."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.geometry import crop, get_warp_matrix, topdown_center_scale
from flowpose.models import ModelCard
from flowpose.pose import CropBatch

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
CODEC = {"type": "simcc", "input_size": [48, 64]}


def card(**fields) -> ModelCard:
    base = {
        "task": "pose",
        "input_size": (48, 64),
        "mean": MEAN,
        "std": STD,
        "codec": CODEC,
        "keypoint_layout": "coco17",
    }
    base["labels"] = ("person",)
    return ModelCard(**{**base, **fields})


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


BOXES = np.array([[10, 20, 60, 110], [100, 5, 150, 40], [-20, 80, 30, 140]], np.float32)


def expected_input(image: np.ndarray, rgb: bool) -> np.ndarray:
    center, scale = topdown_center_scale(BOXES, (48, 64), 1.25)
    rows = []
    for c, s in zip(center, scale, strict=True):
        patch, _ = crop(image, c, s, (48, 64))
        patch = patch[..., ::-1] if rgb else patch
        rows.append(((patch - np.array(MEAN)) / np.array(STD)).transpose(2, 0, 1))  # mean/std in model order
    return np.stack(rows).astype(np.float32)


def matrices() -> np.ndarray:
    center, scale = topdown_center_scale(BOXES, (48, 64), 1.25)
    return get_warp_matrix(center, scale, 0.0, (48, 64))


@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_batch_matches_the_shared_crop_normalised_in_the_card_colour_order(image, order) -> None:
    batch = CropBatch(card(color_order=order), capacity=1).fill(image, matrices())
    assert batch.shape == (3, 3, 64, 48) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, expected_input(image, rgb=order == "rgb"), atol=1e-5)


def test_nhwc_layout(image) -> None:
    batch = CropBatch(card(input_layout="nhwc")).fill(image, matrices())
    assert batch.shape == (3, 64, 48, 3)
    np.testing.assert_allclose(batch, expected_input(image, rgb=True).transpose(0, 2, 3, 1), atol=1e-5)


def test_flip_appends_mirrored_crops(image) -> None:
    batch = CropBatch(card()).fill(image, matrices(), flip=True)
    assert batch.shape == (6, 3, 64, 48)
    np.testing.assert_array_equal(batch[3:], batch[:3, :, :, ::-1])
    np.testing.assert_allclose(batch[:3], expected_input(image, rgb=True), atol=1e-5)


def test_buffers_are_reused_and_grow_only_when_needed(image) -> None:
    crops = CropBatch(card(), capacity=4)
    first = crops.fill(image, matrices()[:2])
    second = crops.fill(image, matrices())
    assert np.shares_memory(first, second) and crops.capacity == 4
    crops.fill(image, matrices(), flip=True)  # 6 crops
    assert crops.capacity == 6


@pytest.mark.parametrize(
    ("img", "mats", "message"),
    [
        (np.zeros((10, 10), np.uint8), np.zeros((1, 2, 3)), "H x W x 3 uint8"),
        (np.zeros((10, 10, 3), np.float32), np.zeros((1, 2, 3)), "H x W x 3 uint8"),
        (np.zeros((10, 10, 3), np.uint8), np.zeros((2, 3)), r"shape \(N, 2, 3\)"),
    ],
)
def test_bad_input_is_refused(img, mats, message) -> None:
    with pytest.raises(ValueError, match=message):
        CropBatch(card()).fill(img, mats)
