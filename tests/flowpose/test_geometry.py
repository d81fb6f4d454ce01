"""Tests for flowpose.geometry: box conversions and the top-down affine crop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from flowpose.geometry import (
    bbox_cs_to_xyxy,
    bbox_xywh_to_xyxy,
    bbox_xyxy_to_cs,
    bbox_xyxy_to_xywh,
    crop,
    fix_aspect_ratio,
    get_warp_matrix,
    invert_affine,
    topdown_center_scale,
    transform_points,
)

# ---------------------------------------------------------------- boxes


@pytest.mark.parametrize(
    ("xyxy", "xywh", "center", "scale"),
    [
        ([10, 20, 50, 100], [10, 20, 40, 80], [30, 60], [40, 80]),
        ([0, 0, 1, 1], [0, 0, 1, 1], [0.5, 0.5], [1, 1]),
        ([-5, 2.5, 5, 3.5], [-5, 2.5, 10, 1], [0, 3], [10, 1]),
    ],
)
def test_bbox_conversions_known_values(xyxy, xywh, center, scale):
    np.testing.assert_allclose(bbox_xyxy_to_xywh(xyxy), xywh)
    np.testing.assert_allclose(bbox_xywh_to_xyxy(xywh), xyxy)
    c, s = bbox_xyxy_to_cs(xyxy)
    np.testing.assert_allclose(c, center)
    np.testing.assert_allclose(s, scale)
    np.testing.assert_allclose(bbox_cs_to_xyxy(c, s), xyxy)


def test_bbox_conversions_are_vectorised_and_do_not_mutate():
    boxes = np.array([[10, 20, 50, 100], [0, 0, 4, 2]], dtype=np.float32)
    before = boxes.copy()
    c, s = bbox_xyxy_to_cs(boxes, padding=1.25)
    assert c.shape == s.shape == (2, 2) and c.dtype == np.float32
    np.testing.assert_allclose(s, [[50, 100], [5, 2.5]])
    np.testing.assert_allclose(bbox_cs_to_xyxy(c, s, padding=1.25), boxes)
    np.testing.assert_allclose(bbox_xywh_to_xyxy(bbox_xyxy_to_xywh(boxes)), boxes)
    np.testing.assert_array_equal(boxes, before)


@pytest.mark.parametrize(
    ("scale", "ratio", "expected"),
    [
        ([40, 80], 0.75, [60, 80]),  # too tall: widen
        ([100, 80], 0.75, [100, 400 / 3]),  # too wide: heighten
        ([30, 40], 0.75, [30, 40]),  # already right
        ([[40, 80], [100, 80]], 0.75, [[60, 80], [100, 400 / 3]]),
    ],
)
def test_fix_aspect_ratio(scale, ratio, expected):
    np.testing.assert_allclose(fix_aspect_ratio(scale, ratio), expected, rtol=1e-6)


def test_topdown_center_scale_pads_then_fixes_ratio():
    center, scale = topdown_center_scale([0, 0, 100, 100], (192, 256), padding=1.25)
    np.testing.assert_allclose(center, [50, 50])
    np.testing.assert_allclose(scale, [125, 125 * 256 / 192], rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bbox_xyxy_to_xywh([1, 2, 3]), r"boxes must have shape \(4,\) or \(N, 4\), got \(3,\)"),
        (lambda: bbox_xyxy_to_cs(np.zeros((2, 2, 4))), r"got \(2, 2, 4\)"),
        (lambda: bbox_xyxy_to_cs([0, 0, 1, 1], padding=0), "padding must be > 0, got 0"),
        (lambda: bbox_cs_to_xyxy([0, 0], [[1, 1]]), "center and scale must have the same shape"),
        (lambda: fix_aspect_ratio([1, 1], -1.0), "aspect_ratio must be > 0"),
        (lambda: topdown_center_scale([0, 0, 1, 1], (0, 10)), "input_size must be two positive"),
    ],
)
def test_bbox_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- affine


def _mmpose_style_matrix(center, scale, rot_deg, out_size):
    """Reference by the three-point construction MMPose uses (uniform scale only)."""
    theta = np.deg2rad(rot_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    src_dir = rot @ np.array([0.0, -0.5 * scale[0]])
    dst_dir = np.array([0.0, -0.5 * out_size[0]])
    src = np.array([center, center + src_dir, center + src_dir + [-src_dir[1], src_dir[0]]])
    dc = np.array([out_size[0] * 0.5, out_size[1] * 0.5])
    dst = np.array([dc, dc + dst_dir, dc + dst_dir + [-dst_dir[1], dst_dir[0]]])
    return cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32))


@pytest.mark.parametrize("rot", [0.0, 30.0, -90.0, 137.0])
@pytest.mark.parametrize(("center", "scale", "out"), [((100, 50), (150, 200), (192, 256)), ((7, 9), (4, 4), (8, 8))])
def test_warp_matrix_matches_three_point_construction(center, scale, out, rot):
    scale = fix_aspect_ratio(scale, out[0] / out[1])
    expected = _mmpose_style_matrix(np.array(center, float), scale, rot, out)
    np.testing.assert_allclose(get_warp_matrix(center, scale, rot, out), expected, atol=1e-3)


def test_warp_matrix_known_values():
    m = get_warp_matrix([100, 50], [200, 100], 0, (20, 10))
    np.testing.assert_allclose(m, [[0.1, 0, 0], [0, 0.1, 0]], atol=1e-12)
    # Positive rotation turns the window clockwise: a point right of the centre ends on top.
    m = get_warp_matrix([0, 0], [4, 4], 90, (4, 4))
    np.testing.assert_allclose(transform_points([[1, 0]], m), [[2, 1]], atol=1e-6)
    # The shift moves the window by a fraction of its size.
    m = get_warp_matrix([0, 0], [10, 20], 0, (10, 20), shift=(0.1, -0.5))
    np.testing.assert_allclose(transform_points([[1, -10]], m), [[5, 10]], atol=1e-6)


def test_inverse_and_batched_matrices():
    rng = np.random.default_rng(1)
    centers, scales = rng.uniform(0, 500, (5, 2)), rng.uniform(20, 300, (5, 2))
    rots = rng.uniform(-180, 180, 5)
    fwd = get_warp_matrix(centers, scales, rots, (48, 64))
    inv = get_warp_matrix(centers, scales, rots, (48, 64), inv=True)
    assert fwd.shape == inv.shape == (5, 2, 3)
    for i in range(5):
        np.testing.assert_allclose(fwd[i], get_warp_matrix(centers[i], scales[i], rots[i], (48, 64)))
    np.testing.assert_allclose(inv, invert_affine(fwd))
    np.testing.assert_allclose(inv[0], cv2.invertAffineTransform(fwd[0]), atol=1e-9)
    pts = rng.uniform(-100, 600, (5, 17, 2))
    there = transform_points(pts, fwd)
    assert there.shape == (5, 17, 2) and there.dtype == np.float32
    np.testing.assert_allclose(transform_points(there, inv), pts, atol=1e-3)
    np.testing.assert_allclose(transform_points(pts[2], fwd[2]), there[2], atol=1e-4)


@pytest.mark.parametrize("rot", [0.0, 90.0, 180.0, -90.0])
def test_crop_then_inverse_returns_the_same_pixel(rot):
    """With a 1:1 scale and right-angle rotations every crop pixel is an image pixel."""
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    center, size = np.array([70.0, 55.0]), (32, 32)
    patch, m = crop(image, center, size, size, rot=rot)
    assert patch.shape == (32, 32, 3) and patch.dtype == np.uint8
    v, u = np.mgrid[0:32, 0:32]
    src = transform_points(np.stack([u, v], -1).reshape(-1, 2), invert_affine(m))
    src_int = np.rint(src).astype(int)
    np.testing.assert_allclose(src, src_int, atol=1e-4)
    np.testing.assert_array_equal(patch.reshape(-1, 3), image[src_int[:, 1], src_int[:, 0]])
    # And forward: an image pixel lands where the matrix says.
    x, y = 60, 50
    u2, v2 = np.rint(transform_points([[x, y]], m)[0]).astype(int)
    np.testing.assert_array_equal(patch[v2, u2], image[y, x])


def test_crop_samples_bilinearly_under_rotation_and_zoom():
    """On a linear image, bilinear sampling is exact, so crop == f(inverse(u, v))."""
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    image = 0.5 * xx + 0.25 * yy + 3.0
    patch, m = crop(image, (150.0, 100.0), (60.0, 80.0), (48, 64), rot=30.0)
    v, u = np.mgrid[0:64, 0:48]
    src = transform_points(np.stack([u, v], -1).reshape(-1, 2), invert_affine(m))
    # cv2 quantises sample positions to 1/32 px, hence the tolerance.
    np.testing.assert_allclose(patch.reshape(-1), 0.5 * src[:, 0] + 0.25 * src[:, 1] + 3.0, atol=0.03)


def test_crop_fills_outside_with_border_value():
    image = np.full((10, 10), 7, dtype=np.uint8)
    patch, _ = crop(image, (0.0, 0.0), (20.0, 20.0), (20, 20), border_value=1)
    assert patch[0, 0] == 1 and patch[15, 15] == 7


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_warp_matrix([0, 0], [0, 1], 0, (4, 4)), "scale must be positive"),
        (lambda: get_warp_matrix([0, 0, 0], [1, 1, 1], 0, (4, 4)), "center and scale must both have shape"),
        (lambda: get_warp_matrix([0, 0], [1, 1], 0, (4, 0)), "output_size must be two positive"),
        (lambda: transform_points([1, 2, 3], np.eye(2, 3)), r"points must have shape \(\.\.\., 2\)"),
        (lambda: transform_points([[1, 2]], np.eye(3)), r"matrix must have shape \(2, 3\)"),
        (lambda: transform_points(np.zeros((3, 2)), np.zeros((2, 2, 3))), "a batch of 2 matrices"),
        (lambda: invert_affine(np.eye(3)), r"matrix must have shape"),
        (lambda: crop(np.zeros((4, 4)), [[0, 0]], [1, 1], (4, 4)), "crop takes one box"),
    ],
)
def test_affine_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
