"""The input batch of a top-down pose model: every crop of a frame in one preallocated tensor.

Each crop is warped by :func:`cv2.warpAffine` straight into its slot of a uint8 buffer (no
per-crop temporaries), mirrored crops for the flip test are copied from those in uint8, and
the whole batch is normalised at once, channel by channel, into the float32 model input.
The buffers grow to the largest batch seen and are reused for every later frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from flowpose.models.card import ModelCard

__all__ = ["CropBatch"]


class CropBatch:
    """Reusable crop and input buffers for one model.

    Args:
        card: The model's card: input size, mean/std, colour order and layout.
        capacity: Crops to allocate room for up front; the buffers grow when a frame needs more.
        border_value: Fill (0..255) for crop pixels outside the image; 0 as MMPose's TopdownAffine.

    Attributes:
        width: Model input width in pixels.
        height: Model input height in pixels.
    """

    def __init__(self, card: ModelCard, capacity: int = 8, border_value: float = 0.0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.width, self.height = card.input_size
        self.nchw = card.input_layout == "nchw"
        # Model channel c reads image channel _source[c]; images are BGR.
        self._source = (2, 1, 0) if card.color_order == "rgb" else (0, 1, 2)
        std = np.asarray(card.std, dtype=np.float64)
        self._scale = (1.0 / std).astype(np.float32)
        self._offset = (-np.asarray(card.mean, dtype=np.float64) / std).astype(np.float32)
        self._border = (float(border_value),) * 3
        self._crops = np.empty((0, self.height, self.width, 3), np.uint8)
        self._input = np.empty((0, 3, self.height, self.width), np.float32)
        self._reserve(capacity)

    @property
    def capacity(self) -> int:
        """How many crops fit without reallocating."""
        return len(self._crops)

    def _reserve(self, count: int) -> None:
        if count <= self.capacity:
            return
        h, w = self.height, self.width
        self._crops = np.empty((count, h, w, 3), np.uint8)
        self._input = np.empty((count, 3, h, w) if self.nchw else (count, h, w, 3), np.float32)

    def fill(self, image: np.ndarray, matrices: np.ndarray, flip: bool = False) -> np.ndarray:
        """Warp one crop per matrix out of ``image`` and return the normalised model input.

        Args:
            image: The frame, H x W x 3 uint8 BGR.
            matrices: Image-to-crop affine matrices, shape (N, 2, 3) (from
                :func:`flowpose.geometry.get_warp_matrix`).
            flip: Append the N horizontally mirrored crops after the N crops (flip test).

        Returns:
            float32 input of shape (N or 2N, 3, h, w) for NCHW models, (N or 2N, h, w, 3) for
            NHWC ones. It is a view of a buffer that the next call overwrites.

        Raises:
            ValueError: On an image that is not H x W x 3 uint8, or matrices not (N, 2, 3).
        """
        return self.fill_many([(image, matrices)], flip)

    def fill_many(self, parts: Sequence[tuple[np.ndarray, np.ndarray]], flip: bool = False) -> np.ndarray:
        """:meth:`fill` for the crops of several frames (of several streams) into one batch.

        Args:
            parts: ``(image, matrices)`` per frame; the crops follow in that order.
            flip: Append the mirrored crops of all of them after all the crops.

        Returns:
            The model input, as :meth:`fill`'s.
        """
        checked = []
        for image, matrices in parts:
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f"image must be H x W x 3 uint8 (BGR), got {image.shape} {image.dtype}")
            matrices = np.asarray(matrices, dtype=np.float64)
            if matrices.ndim != 3 or matrices.shape[1:] != (2, 3):
                raise ValueError(f"matrices must have shape (N, 2, 3), got {matrices.shape}")
            checked.append((image, matrices))
        n = sum(len(matrices) for _, matrices in checked)
        total = 2 * n if flip else n
        self._reserve(total)
        crops = self._crops
        slot = 0
        for image, matrices in checked:
            for matrix in matrices:
                # dst is a contiguous slot of the batch buffer: OpenCV writes in place, no copy.
                cv2.warpAffine(
                    image,
                    matrix,
                    (self.width, self.height),
                    dst=crops[slot],
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                    borderValue=self._border,
                )
                slot += 1
        if flip:
            crops[n:total] = crops[:n, :, ::-1]  # mirror in uint8: a quarter of the bytes of float
        return self._normalise(total)

    def _normalise(self, total: int) -> np.ndarray:
        """``(pixel - mean) / std`` for all crops at once, as one multiply-add per channel."""
        crops, out = self._crops[:total], self._input[:total]
        for c, src in enumerate(self._source):
            dst = out[:, c] if self.nchw else out[..., c]
            np.multiply(crops[..., src], self._scale[c], out=dst)
            dst += self._offset[c]
        return out
