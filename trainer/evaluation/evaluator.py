"""Run a pose model over an evaluation loader and score it: PCK, mean pixel error, OKS AP/AR."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from flowpose.codecs import Codec
from flowpose.evaluation.labels_metrics import BodyLength, auto_body_pair, body_lengths
from flowpose.evaluation.pck import keypoint_distances, mean_pixel_error, pck
from flowpose.geometry import get_warp_matrix, transform_points
from flowpose.meta import KeypointLayout
from flowpose.pose.flip import flip_back
from flowpose.trainer.evaluation.coco_eval import OksGroundTruth, oks_ap

__all__ = ["Predictions", "predict", "score_predictions"]


@dataclass
class Predictions:
    """Predictions in image pixels next to their ground truth (N instances, K keypoints)."""

    keypoints: np.ndarray  # (N, K, 2)
    scores: np.ndarray  # (N, K)
    gt_keypoints: np.ndarray  # (N, K, 2)
    gt_visibility: np.ndarray  # (N, K)
    bbox: np.ndarray  # (N, 4)
    area: np.ndarray  # (N,)
    image_id: np.ndarray  # (N,)


def predict(
    forward: Callable[[dict[str, Any]], Sequence[torch.Tensor]],
    loader: DataLoader,
    codec: Codec,
    input_size: tuple[int, int],
    device: torch.device,
    flip_index: np.ndarray | None = None,
) -> Predictions:
    """Decode every batch of ``loader`` and map the keypoints back to image pixels.

    Args:
        forward: Runs the model on a batch (already on ``device``), returns its outputs.
        loader: Evaluation loader of :class:`~flowpose.trainer.pipeline.TopdownDataset` samples.
        codec: Decodes the outputs (the same object that encoded the targets).
        input_size: Model input ``(w, h)``.
        device: Where the model is.
        flip_index: With the layout's flip permutation, also run the mirrored crops and
            average their flipped-back outputs in (flip test, as the runtime node does it).
    """
    parts: dict[str, list[np.ndarray]] = {k: [] for k in Predictions.__dataclass_fields__}
    for batch in loader:
        image = batch["image"].to(device, non_blocking=True)
        outputs = [o.float().cpu().numpy() for o in forward({"image": image})]
        if flip_index is not None:
            mirrored = [o.float().cpu().numpy() for o in forward({"image": image.flip(-1)})]
            back = flip_back(mirrored, codec, flip_index)
            outputs = [(o + b) * 0.5 for o, b in zip(outputs, back, strict=True)]
        decoded = codec.decode(*outputs)
        inverse = get_warp_matrix(
            batch["center"].numpy(), batch["scale"].numpy(), batch["rot"].numpy(), input_size, inv=True
        )
        parts["keypoints"].append(transform_points(decoded.keypoints, inverse))
        parts["scores"].append(decoded.scores)
        for key in ("gt_keypoints", "gt_visibility", "bbox", "area", "image_id"):
            parts[key].append(batch[key].numpy())
    return Predictions(**{k: np.concatenate(v) for k, v in parts.items()})


def score_predictions(
    preds: Predictions,
    layout: KeypointLayout,
    thresholds: Sequence[float] = (0.05, 0.1, 0.2),
    oks: bool = True,
    pck_norm: str = "bbox",
) -> dict[str, float]:
    """PCK at ``thresholds``, mean pixel error (``epe``) and, with ``oks``, COCO OKS AP/AR with
    the layout's sigmas.

    Args:
        pck_norm: ``"bbox"``: PCK relative to the longer side of the ground-truth box (MMPose's);
            ``"body"``: relative to the body length, the distance of the keypoint pair farthest
            apart on median (:mod:`flowpose.evaluation.labels_metrics`; its median is reported as
            ``body_length_px``, with ``error_px_median``), as ``flowpose eval labels`` reports it.
    """
    dist = keypoint_distances(preds.keypoints, preds.gt_keypoints, preds.gt_visibility)
    if pck_norm == "body":
        pair = auto_body_pair(preds.gt_keypoints, preds.gt_visibility)
        lengths = body_lengths(preds.gt_keypoints, preds.gt_visibility, BodyLength(pair))
        metrics = pck(dist, lengths, thresholds)
        metrics["body_length_px"] = float(np.median(lengths))
        metrics["error_px_median"] = float(np.nanmedian(dist))
    elif pck_norm == "bbox":
        sizes = preds.bbox[:, 2:] - preds.bbox[:, :2]
        metrics = pck(dist, sizes.max(axis=1), thresholds)
    else:
        raise ValueError(f"eval.pck_norm must be bbox or body, got {pck_norm!r}")
    metrics["epe"] = mean_pixel_error(dist)
    if oks:
        gts = [
            OksGroundTruth(int(i), b, k, v, float(a))
            for i, b, k, v, a in zip(
                preds.image_id, preds.bbox, preds.gt_keypoints, preds.gt_visibility, preds.area, strict=True
            )
        ]
        metrics.update(
            oks_ap(gts, preds.keypoints, preds.scores.mean(axis=1), preds.image_id.tolist(), layout.sigmas_array)
        )
    return metrics
