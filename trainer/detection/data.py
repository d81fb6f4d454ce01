"""Synthetic detection data: scenes from :mod:`flowpose.synthetic`, letterboxed like the Detector node does.

Images are rendered on the fly (a 320x240 scene takes ~4 ms, cheaper than decoding a cached
PNG), at random sizes and aspect ratios, then letterboxed with the node's own
:func:`flowpose.detection.preprocess.preprocess_image`, so training sees exactly what the node
feeds the model at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from flowpose.detection.preprocess import preprocess_image
from flowpose.models.card import ModelCard
from flowpose.synthetic import SceneConfig, render_sample
from flowpose.trainer.engine.config import check_keys

__all__ = ["DetectionDataConfig", "SyntheticDetectionDataset"]


@dataclass(frozen=True)
class DetectionDataConfig:
    """The ``data:`` section of a detector config.

    Attributes:
        input_size: Model input ``(w, h)``; strides must divide it.
        classes: Class names by label index; every one must be a label the scenes draw.
        train_size: Images per training epoch.
        val_size: Validation images (the same ones every time: ``val_seed``).
        seed: Seed of the training images (mixed with the epoch's seed when ``fresh_each_epoch``).
        val_seed: Seed of the validation images.
        fresh_each_epoch: New scenes every epoch (no image is ever seen twice) or the same ones.
        render_width: Inclusive range of the rendered image width, pixels.
        aspects: Width/height ratios to draw from (4:3 and 16:9 cameras, portrait phones...).
        flip: Probability of a horizontal mirror.
        min_box_size: Boxes narrower or lower than this in model pixels are left out.
        max_objects: Boxes per image kept (padding size of the target arrays).
        scene: Extra :class:`flowpose.synthetic.SceneConfig` fields (figure counts, sizes...).
    """

    input_size: tuple[int, int] = (256, 256)
    classes: tuple[str, ...] = ("person", "dog", "cat", "horse")
    train_size: int = 4000
    val_size: int = 300
    seed: int = 0
    val_seed: int = 1_000_003
    fresh_each_epoch: bool = True
    render_width: tuple[int, int] = (256, 640)
    aspects: tuple[float, ...] = (4 / 3, 16 / 9, 1.0, 3 / 4)
    flip: float = 0.5
    min_box_size: float = 4.0
    max_objects: int = 16
    scene: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "input_size", tuple(int(v) for v in self.input_size))
        set_(self, "classes", tuple(self.classes))
        set_(self, "render_width", tuple(int(v) for v in self.render_width))
        set_(self, "aspects", tuple(float(a) for a in self.aspects))
        if len(self.input_size) != 2 or min(self.input_size) < 32:
            raise ValueError(f"data.input_size must be [w, h], each >= 32, got {list(self.input_size)}")
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"data.classes must be distinct names, got {list(self.classes)}")
        for name in ("train_size", "val_size", "max_objects"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        lo, hi = self.render_width
        if not 32 <= lo <= hi or not self.aspects or min(self.aspects) <= 0 or not 0 <= self.flip <= 1:
            raise ValueError("data.render_width must be [lo, hi] with 32 <= lo <= hi, aspects > 0, flip in [0, 1]")
        try:
            scene = self.scene_config(lo, lo)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"data.scene: {exc}") from None
        drawn = {"person", *scene.species} if scene.num_people[1] else set(scene.species)
        missing = [c for c in self.classes if c not in drawn]
        if missing:
            raise ValueError(
                f"data.classes {missing} are never drawn by the synthetic scenes (they draw {sorted(drawn)})"
            )

    @classmethod
    def from_dict(cls, section: dict[str, Any] | None) -> DetectionDataConfig:
        """Build from the config's ``data:`` mapping, naming unknown keys."""
        section = dict(section or {})
        check_keys(section, cls, "'data'")
        return cls(**section)

    def scene_config(self, width: int, height: int) -> SceneConfig:
        """The scene settings of one rendered image."""
        extra = {k: tuple(v) if isinstance(v, list) else v for k, v in self.scene.items()}
        return SceneConfig(width=width, height=height, **extra)


class SyntheticDetectionDataset(Dataset):
    """Letterboxed synthetic images with their boxes.

    Items are dicts: ``image`` float32 (3, H, W) BGR 0..255 (the model normalises inside),
    ``boxes`` float32 (M, 4) xyxy in model-input pixels, ``labels`` int64 (M,) with -1 for
    padding, and ``index`` (the sample's number).

    Args:
        config: Data settings.
        card: The detection card (input size, letterbox placement, pad value).
        train: Training set (random per epoch when ``fresh_each_epoch``) or the fixed val set.
    """

    def __init__(self, config: DetectionDataConfig, card: ModelCard, train: bool) -> None:
        self.config, self.card, self.train = config, card, train
        self.size = config.train_size if train else config.val_size
        self.class_index = {name: i for i, name in enumerate(config.classes)}

    def __len__(self) -> int:
        return self.size

    def _rng(self, index: int) -> np.random.Generator:
        cfg = self.config
        if not self.train:
            return np.random.default_rng([cfg.val_seed, index])
        # The loop reseeds numpy's global RNG every epoch (and per worker): a fresh epoch
        # draws fresh scenes, and a resumed run draws the same ones again.
        salt = int(np.random.randint(0, 2**31 - 1)) if cfg.fresh_each_epoch else 0
        return np.random.default_rng([cfg.seed, index, salt])

    def render(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Image (uint8 BGR, its rendered size), boxes (image pixels) and labels of one sample."""
        cfg = self.config
        rng = self._rng(index)
        width = int(rng.integers(cfg.render_width[0], cfg.render_width[1] + 1))
        height = max(32, round(width / float(rng.choice(cfg.aspects))))
        sample = render_sample(rng, cfg.scene_config(width, height))
        objs = [o for o in sample.objects if o.label in self.class_index]
        boxes = np.array([o.bbox for o in objs], np.float32).reshape(-1, 4)
        labels = np.array([self.class_index[o.label] for o in objs], np.int64)
        image = sample.image
        if self.train and rng.random() < cfg.flip:
            image = np.ascontiguousarray(image[:, ::-1])
            boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1)
        return image, boxes, labels

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, boxes, labels = self.render(index)
        tensor, transform = preprocess_image(image, self.card)
        boxes = transform.boxes_to_model(boxes)
        w, h = self.card.input_size
        boxes = np.clip(boxes, 0, [w, h, w, h])
        size = boxes[:, 2:] - boxes[:, :2]
        keep = (size >= self.config.min_box_size).all(axis=1)
        boxes, labels = boxes[keep][: self.config.max_objects], labels[keep][: self.config.max_objects]
        out_boxes = np.zeros((self.config.max_objects, 4), np.float32)
        out_labels = np.full(self.config.max_objects, -1, np.int64)
        out_boxes[: len(boxes)], out_labels[: len(labels)] = boxes, labels
        return {
            "image": torch.from_numpy(tensor[0]),
            "boxes": torch.from_numpy(out_boxes),
            "labels": torch.from_numpy(out_labels),
            "index": index,
        }
