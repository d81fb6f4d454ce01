"""The top-down affine crop, shared so that training and inference see identical crops.

The crop maps the rectangle of size ``scale = [w, h]`` centred on ``center`` (rotated by
``rot_deg``) onto the model input of size ``output_size = (w, h)``. Conventions match
MMPose's ``get_warp_matrix`` (the box centre lands on ``(out_w / 2, out_h / 2)``, the same
rotation sign) so that RTMPose exports decode without a systematic half-pixel offset. One
deliberate difference: x and y scale independently (``out_w / w`` and ``out_h / h``),
whereas MMPose uses the width for both; the two agree whenever the aspect ratio has been
fixed with :func:`flowpose.geometry.fix_aspect_ratio`, which is the normal case.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["crop", "get_warp_matrix", "invert_affine", "transform_points"]


def get_warp_matrix(
    center: np.ndarray,
    scale: np.ndarray,
    rot_deg: float | np.ndarray,
    output_size: tuple[int, int],
    shift: tuple[float, float] = (0.0, 0.0),
    inv: bool = False,
) -> np.ndarray:
    """Affine matrix from image pixels to crop pixels (or back with ``inv=True``).

    Args:
        center: Box centre ``[cx, cy]`` in image pixels, shape (2,) or (N, 2).
        scale: Box size ``[w, h]`` in image pixels, same shape as ``center``.
        rot_deg: Rotation of the box in degrees (positive turns the crop window
            clockwise in image coordinates, i.e. the content counter-clockwise, as MMPose);
            a scalar or shape (N,).
        output_size: Crop size ``(w, h)`` in pixels.
        shift: Shift of the box centre as a fraction of ``scale`` (augmentation).
        inv: Return the crop-to-image matrix instead.

    Returns:
        float64 matrix of shape (2, 3), or (N, 2, 3) for batched input.

    Raises:
        ValueError: On mismatched shapes or non-positive sizes.
    """
    c = np.asarray(center, dtype=np.float64)
    s = np.asarray(scale, dtype=np.float64)
    if c.shape[-1:] != (2,) or c.ndim > 2 or c.shape != s.shape:
        raise ValueError(f"center and scale must both have shape (2,) or (N, 2), got {c.shape}, {s.shape}")
    if np.any(s <= 0):
        raise ValueError(f"scale must be positive, got {s.tolist()}")
    if len(output_size) != 2 or min(output_size) <= 0:
        raise ValueError(f"output_size must be two positive numbers (w, h), got {output_size}")
    out_w, out_h = float(output_size[0]), float(output_size[1])
    theta = np.deg2rad(np.broadcast_to(np.asarray(rot_deg, dtype=np.float64), c.shape[:-1]))
    cos, sin = np.cos(theta), np.sin(theta)
    sx, sy = out_w / s[..., 0], out_h / s[..., 1]
    # Forward map: dst = diag(sx, sy) @ R(-theta) @ (p - src_center) + dst_center.
    lin = np.empty((*c.shape[:-1], 2, 2))
    lin[..., 0, 0], lin[..., 0, 1] = sx * cos, sx * sin
    lin[..., 1, 0], lin[..., 1, 1] = -sy * sin, sy * cos
    src_center = c + s * np.asarray(shift, dtype=np.float64)
    trans = np.array([out_w * 0.5, out_h * 0.5]) - np.einsum("...ij,...j->...i", lin, src_center)
    matrix = np.concatenate([lin, trans[..., None]], axis=-1)
    return invert_affine(matrix) if inv else matrix


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Invert a (2, 3) or (N, 2, 3) affine matrix.

    Args:
        matrix: Affine matrices, shape (2, 3) or (N, 2, 3).

    Returns:
        The inverse matrices, float64, same shape.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape[-2:] != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3) or (N, 2, 3), got {m.shape}")
    lin_inv = np.linalg.inv(m[..., :2])
    trans = -np.einsum("...ij,...j->...i", lin_inv, m[..., 2])
    return np.concatenate([lin_inv, trans[..., None]], axis=-1)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply an affine matrix to points, e.g. decoded crop keypoints back to the image.

    Args:
        points: Points ``[x, y]``, shape (..., 2); with a batched matrix the leading axis
            must be N, e.g. (N, K, 2).
        matrix: Shape (2, 3), applied to every point, or (N, 2, 3), one per instance.

    Returns:
        Transformed points, float32, same shape as ``points``.
    """
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    if p.shape[-1:] != (2,):
        raise ValueError(f"points must have shape (..., 2), got {p.shape}")
    if m.shape[-2:] != (2, 3) or m.ndim > 3:
        raise ValueError(f"matrix must have shape (2, 3) or (N, 2, 3), got {m.shape}")
    if m.ndim == 3 and (p.ndim != 3 or p.shape[0] != m.shape[0]):
        raise ValueError(f"a batch of {m.shape[0]} matrices needs points of shape (N, K, 2), got {p.shape}")
    out = np.matmul(p, np.swapaxes(m[..., :2], -1, -2)) + m[..., None, :, 2]
    return out.reshape(p.shape).astype(np.float32)


def crop(
    image: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    output_size: tuple[int, int],
    rot: float = 0.0,
    border_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the (rotated) box out of ``image`` and resize it to ``output_size``.

    Args:
        image: Image of shape (H, W) or (H, W, C), any dtype cv2 accepts.
        center: Box centre ``[cx, cy]``, shape (2,).
        scale: Box size ``[w, h]``, shape (2,).
        output_size: Crop size ``(w, h)``.
        rot: Rotation in degrees (see :func:`get_warp_matrix`).
        border_value: Fill for pixels outside the image.

    Returns:
        ``(crop, matrix)``: the crop, shape (out_h, out_w[, C]) with the image's dtype, and
        the (2, 3) image-to-crop matrix; map crop points back with
        ``transform_points(pts, invert_affine(matrix))``.
    """
    if np.asarray(center).shape != (2,):
        raise ValueError(f"crop takes one box: center must have shape (2,), got {np.asarray(center).shape}")
    matrix = get_warp_matrix(center, scale, rot, output_size)
    out = cv2.warpAffine(
        image,
        matrix,
        (int(output_size[0]), int(output_size[1])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border_value,
    )
    return out, matrix
