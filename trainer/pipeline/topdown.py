"""The top-down sample: box -> (augmented) affine crop -> model input and encoded targets.

The crop and the box convention are the shared ones (:mod:`flowpose.geometry`), the targets
come from the shared codecs (:mod:`flowpose.codecs`): the inference node crops and decodes
with the same code, so a model sees at run time exactly what it was trained on.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from torch.utils.data import Dataset

from flowpose.codecs import Codec
from flowpose.geometry import crop, fix_aspect_ratio, topdown_center_scale, transform_points
from flowpose.meta import KeypointLayout
from flowpose.trainer.data.records import PoseInstance, PoseSource
from flowpose.trainer.pipeline.augment import flip_crop, half_body_box, jitter_box, photometric
from flowpose.trainer.pipeline.settings import TopdownSettings

__all__ = ["TopdownDataset", "TopdownTransform"]


class TopdownTransform:
    """Turns an image and one instance into a training (or evaluation) sample.

    A sample is a dict of numpy arrays (``default_collate`` makes tensors of them):

    - ``image``: uint8 (3, h, w) in ``settings.color_order`` (normalised on the device);
    - codec targets: ``heatmaps`` (K, H, W), or ``target_x`` (K, Wx) and ``target_y`` (K, Wy);
    - ``keypoint_weights`` (K,): 0 for unlabelled/out-of-crop keypoints, times joint weights;
    - ``keypoints`` (K, 2): the (augmented) keypoints in crop pixels;
    - for evaluation, in image pixels: ``center``, ``scale``, ``rot``, ``gt_keypoints``
      (K, 2), ``gt_visibility`` (K,), ``bbox`` (4,), ``area``, ``image_id``.
    """

    def __init__(self, settings: TopdownSettings, codec: Codec, layout: KeypointLayout, train: bool) -> None:
        self.settings, self.codec, self.layout, self.train = settings, codec, layout, train
        self._joint_weights = layout.joint_weights_array if settings.use_joint_weights else None

    def __call__(self, image: np.ndarray, inst: PoseInstance, rng: np.random.Generator) -> dict[str, Any]:
        s = self.settings
        labelled = inst.visibility > 0
        center, scale = topdown_center_scale(inst.bbox, s.input_size, s.padding)
        rot, flipped = 0.0, False
        if self.train:
            if rng.random() < s.half_body_prob:
                half = half_body_box(inst.keypoints, labelled, self.layout, s, rng)
                if half is not None:
                    center, scale = half
            center, scale, rot = jitter_box(center, scale, s, rng)
        scale = fix_aspect_ratio(scale, s.input_size[0] / s.input_size[1])
        patch, matrix = crop(image, center, scale, s.input_size, rot)
        kpts = transform_points(inst.keypoints, matrix)
        vis = inst.visibility.copy()
        if self.train:
            if rng.random() < s.flip_prob:
                patch, kpts, vis = flip_crop(patch, kpts, vis, self.layout)
                flipped = True
            if s.photometric is not None:
                patch = photometric(patch, s.photometric, rng)
        if s.color_order == "rgb":
            patch = cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)
        targets = self.codec.encode(kpts, vis)
        sample: dict[str, Any] = dict(targets._asdict())  # heatmaps, or target_x and target_y
        weights = targets.keypoint_weights
        if self._joint_weights is not None:
            weights = weights * self._joint_weights
        sample.update(
            image=np.ascontiguousarray(patch.transpose(2, 0, 1)),
            keypoint_weights=weights.astype(np.float32),
            keypoints=kpts.astype(np.float32),
            center=center.astype(np.float32),
            scale=scale.astype(np.float32),
            rot=np.float32(rot),
            flipped=flipped,
            gt_keypoints=inst.keypoints,
            gt_visibility=inst.visibility,
            bbox=inst.bbox,
            area=np.float32(inst.area),
            image_id=inst.image_id,
        )
        return sample


class TopdownDataset(Dataset):
    """A :class:`PoseSource` through a :class:`TopdownTransform`.

    Training samples draw their randomness from numpy's global RNG, which the loop seeds per
    epoch and per DataLoader worker: runs repeat exactly, resumed or not. Evaluation samples
    use a generator fixed by the index.
    """

    def __init__(self, source: PoseSource, transform: TopdownTransform) -> None:
        self.source, self.transform = source, transform

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.transform.train:
            rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        else:
            rng = np.random.default_rng(index)
        image, inst = self.source.get(index, rng)
        return self.transform(image, inst, rng)
