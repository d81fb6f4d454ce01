"""A top-down pose model on ONNX Runtime: boxes in, keypoints in image pixels out.

``preprocess -> inference -> postprocess`` for all boxes of a frame at once: one affine
crop per box into a shared batch, ONE ``session.run`` for the whole batch (with the flip
test, the mirrored crops ride in the same batch), one vectorised decode, and one batched
inverse affine back to image pixels.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.geometry import get_warp_matrix, invert_affine, topdown_center_scale, transform_points
from flowpose.models import create_session
from flowpose.pose.crops import CropBatch
from flowpose.pose.flip import flip_back
from flowpose.pose.spec import PoseModelSpec

__all__ = ["PoseResult", "PoseTimings", "TopdownModel"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseTimings:
    """Where one call's time went, in milliseconds.

    Attributes:
        preprocess_ms: Box to crop matrices, warping, normalising (and mirroring).
        inference_ms: ``session.run`` (all calls, if the model forces a fixed batch).
        decode_ms: Flip-back and averaging, codec decode, inverse affine.
        runs: Number of ``session.run`` calls.
    """

    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    decode_ms: float = 0.0
    runs: int = 0


@dataclass(frozen=True)
class PoseResult:
    """Keypoints of N boxes.

    Attributes:
        keypoints: ``[x, y]`` in image pixels, float32, shape (N, K, 2).
        scores: Per-keypoint confidence on the codec's scale, float32, shape (N, K).
        timings: Where the time went.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    timings: PoseTimings


class TopdownModel:
    """Runs a top-down pose model on the boxes of a frame, batched.

    Args:
        spec: The checked model description (:func:`flowpose.pose.open_pose_model`).
        providers: Execution providers, e.g. ``"cpu"`` or ``["cuda", "cpu"]``.
        intra_op_threads: Threads per operator; None lets :func:`create_session` pick.
        capacity: Crops to preallocate room for.

    Attributes:
        spec: The model description.
        session: The ONNX Runtime session.
    """

    def __init__(
        self,
        spec: PoseModelSpec,
        providers: str | Sequence[str] | None = "cpu",
        intra_op_threads: int | None = None,
        capacity: int = 8,
    ) -> None:
        self.spec = spec
        self.session = create_session(spec.path, providers, intra_op_threads)
        self._crops = CropBatch(spec.card, capacity=capacity)
        self._flip_index = spec.layout.flip_index
        self._warned_fixed_batch = False

    @property
    def num_keypoints(self) -> int:
        """Keypoints per instance, K."""
        return self.spec.layout.num_keypoints

    def __call__(self, image: np.ndarray, boxes: np.ndarray, padding: float = 1.25, flip: bool = False) -> PoseResult:
        """Estimate the keypoints of every box.

        Args:
            image: The frame, H x W x 3 uint8 BGR.
            boxes: ``[x1, y1, x2, y2]`` per instance, shape (N, 4), each with positive size.
            padding: Box padding before the crop is widened to the model's aspect ratio.
            flip: Flip test: also run mirrored crops and average the two outputs.

        Returns:
            The keypoints in image pixels with their scores.

        Raises:
            ValueError: On a bad image or boxes, or outputs the codec cannot decode.
        """
        return self.run_many([(image, boxes)], padding, flip)[0]

    def run_many(
        self, parts: Sequence[tuple[np.ndarray, np.ndarray]], padding: float = 1.25, flip: bool = False
    ) -> list[PoseResult]:
        """Estimate the keypoints of the boxes of several frames in one batch (one ``session.run``).

        Args:
            parts: ``(image, boxes)`` per frame, as :meth:`__call__` takes them.
            padding: Box padding before the crop is widened to the model's aspect ratio.
            flip: Flip test.

        Returns:
            One result per frame, in order; each carries the whole batch's timings.
        """
        t0 = time.perf_counter()
        k = self.num_keypoints
        size = self.spec.card.input_size
        all_boxes = [np.asarray(boxes, dtype=np.float32).reshape(-1, 4) for _, boxes in parts]
        counts = [len(b) for b in all_boxes]
        n = sum(counts)
        if n == 0:
            empty = PoseResult(np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32), PoseTimings())
            return [empty] * len(parts)
        matrices = [get_warp_matrix(*topdown_center_scale(b, size, padding), 0.0, size) for b in all_boxes]
        batch = self._crops.fill_many([(image, m) for (image, _), m in zip(parts, matrices, strict=True)], flip)
        t1 = time.perf_counter()
        outputs, runs = self._infer(batch)
        t2 = time.perf_counter()
        if flip:
            flipped = flip_back([o[n:] for o in outputs], self.spec.codec, self._flip_index)
            outputs = [(o[:n] + f) * 0.5 for o, f in zip(outputs, flipped, strict=True)]
        try:
            crop_kpts, scores = self.spec.codec.decode(*outputs)
        except ValueError as exc:
            raise ValueError(f"{self.spec.path.name}: cannot decode the model outputs: {exc}") from None
        keypoints = transform_points(crop_kpts, invert_affine(np.concatenate(matrices)))
        scores = scores.astype(np.float32, copy=False)
        t3 = time.perf_counter()
        timings = PoseTimings((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, runs)
        results, start = [], 0
        for count in counts:
            results.append(PoseResult(keypoints[start : start + count], scores[start : start + count], timings))
            start += count
        return results

    def _infer(self, batch: np.ndarray) -> tuple[list[np.ndarray], int]:
        """Run the batch in one call, or in chunks when the model's batch axis is fixed."""
        names, feed = list(self.spec.output_names), self.spec.input_name
        fixed = self.spec.fixed_batch
        if fixed is None or fixed == len(batch):
            return self.session.run(names, {feed: batch}), 1
        if not self._warned_fixed_batch:
            self._warned_fixed_batch = True
            logger.warning(
                "%s has a fixed batch of %d, so the crops of a frame run %d at a time (slower); "
                "export the model with a dynamic batch axis to run them in one call",
                self.spec.path.name,
                fixed,
                fixed,
            )
        chunks = []
        for start in range(0, len(batch), fixed):
            part = batch[start : start + fixed]
            if len(part) < fixed:  # pad the last chunk; the padding's outputs are dropped
                part = np.concatenate([part, np.zeros((fixed - len(part), *part.shape[1:]), part.dtype)])
            chunks.append(self.session.run(names, {feed: part}))
        outputs = [np.concatenate(parts)[: len(batch)] for parts in zip(*chunks, strict=True)]
        return outputs, len(chunks)
