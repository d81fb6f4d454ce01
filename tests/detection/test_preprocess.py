"""Detector preprocessing: letterbox / resize from the card, colour order, normalisation, layout, and the way back."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.detection import preprocess_image
from flowpose.models import preset_card


def marked_image(w: int = 640, h: int = 480) -> np.ndarray:
    """A dark BGR image with a white rectangle at x 100..300, y 50..250 (blue channel 10, red 200 elsewhere)."""
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 0], image[..., 2] = 10, 200
    image[50:250, 100:300] = 255
    return image


def test_letterbox_top_left_scales_by_one_factor_and_pads_bottom_right():
    card = preset_card("yolox")  # 416x416, bgr, no normalisation, pad 114 top-left
    tensor, t = preprocess_image(marked_image(), card)
    assert tensor.shape == (1, 3, 416, 416) and tensor.dtype == np.float32
    assert t.scale == pytest.approx((0.65, 0.65)) and t.offset == (0.0, 0.0)
    img = tensor[0].transpose(1, 2, 0)
    assert np.all(img[312:] == 114)  # 480 * 0.65 = 312 rows of image, the rest padding
    assert img[10, 10, 0] == pytest.approx(10) and img[10, 10, 2] == pytest.approx(200)  # still BGR
    assert img[int(150 * 0.65), int(200 * 0.65)].tolist() == [255, 255, 255]


def test_letterbox_centre_puts_the_padding_on_both_sides():
    card = preset_card("yolox", pad_align="center", pad_value=0)
    tensor, t = preprocess_image(marked_image(), card)
    assert t.offset == (0.0, 52.0)  # (416 - 312) / 2
    img = tensor[0].transpose(1, 2, 0)
    assert np.all(img[:52] == 0) and np.all(img[364:] == 0) and img[52:364, :, 0].min() > 0


def test_resize_stretches_each_axis_on_its_own():
    card = preset_card("yolox", preprocess="resize")
    _, t = preprocess_image(marked_image(), card)
    assert t.scale == pytest.approx((416 / 640, 416 / 480)) and t.offset == (0.0, 0.0)


def test_rgb_normalisation_and_nhwc():
    card = preset_card("yolox", color_order="rgb", input_layout="nhwc", mean=(100.0, 0.0, 50.0), std=(2.0, 1.0, 5.0))
    tensor, _ = preprocess_image(marked_image(), card)
    assert tensor.shape == (1, 416, 416, 3)
    pixel = tensor[0, 10, 10]  # the image's B=10, R=200 become R first: (200-100)/2, (0-0)/1, (10-50)/5
    assert pixel.tolist() == pytest.approx([50.0, 0.0, -8.0])


def test_rtmdet_preset_normalises_bgr_with_its_mean_and_std():
    card = preset_card("rtmdet_end2end")
    tensor, _ = preprocess_image(np.full((640, 640, 3), 255, np.uint8), card)
    expected = (255 - np.array(card.mean)) / np.array(card.std)
    assert tensor[0, :, 5, 5] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("align", ["top_left", "center"])
@pytest.mark.parametrize("size", [(640, 480), (300, 500), (416, 416), (1920, 1080)])
def test_boxes_go_back_to_image_pixels(align, size):
    card = preset_card("yolox", pad_align=align)
    w, h = size
    _, t = preprocess_image(np.zeros((h, w, 3), np.uint8), card)
    boxes = np.array([[0, 0, w, h], [w * 0.25, h * 0.1, w * 0.5, h * 0.9]], np.float32)
    back = t.boxes_to_image(t.boxes_to_model(boxes))
    assert back == pytest.approx(boxes, abs=1e-3)
    model_full = t.boxes_to_model(boxes[:1])[0]
    assert max(model_full[2] - model_full[0], model_full[3] - model_full[1]) == pytest.approx(416, abs=0.5)


def test_boxes_are_clipped_to_the_image():
    _, t = preprocess_image(np.zeros((480, 640, 3), np.uint8), preset_card("yolox"))
    out = t.boxes_to_image(np.array([[-20, -20, 416, 416]], np.float32))
    assert out.tolist() == [[0, 0, 640, 480]]


def test_grey_and_empty_images():
    tensor, _ = preprocess_image(np.full((100, 100), 7, np.uint8), preset_card("yolox"))
    assert tensor[0, :, 5, 5].tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match="empty image"):
        preprocess_image(np.zeros((0, 10, 3), np.uint8), preset_card("yolox"))
