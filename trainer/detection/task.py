"""The detection :class:`~flowpose.trainer.engine.Task`: synthetic scenes, TinyYolox, SimOTA loss, COCO AP.

Config (``task: detection``; see ``trainer/configs/detector_synthetic.yaml``)::

    data: {...}     # DetectionDataConfig: input_size, classes, train_size, val_size, scene...
    model: {...}    # ModelConfig: widths, depths, neck_channels, strides
    eval: {score_threshold: 0.001, nms_iou: 0.65, max_detections: 100}
    export: {name: ..., description: ..., opset: 18}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from flowpose.models.card import ModelCard
from flowpose.trainer.detection.data import DetectionDataConfig, SyntheticDetectionDataset
from flowpose.trainer.detection.evaluate import coco_metrics, postprocess
from flowpose.trainer.detection.export import MAX_ABS_DIFF, detection_card, export_detector
from flowpose.trainer.detection.loss import detection_loss
from flowpose.trainer.detection.model import ModelConfig, TinyYolox, anchor_points
from flowpose.trainer.engine.config import check_keys
from flowpose.trainer.engine.task import Task
from flowpose.trainer.export.onnx_export import FILE_OPTIONS, ExportOptions

__all__ = ["DetectionTask", "build_detection_task"]

_EVAL_KEYS = {"score_threshold": 0.001, "nms_iou": 0.65, "max_detections": 100}
_EXPORT_KEYS = {"name", "description", *FILE_OPTIONS}


def _section(config: dict[str, Any], name: str, known: set[str] | dict[str, Any]) -> dict[str, Any]:
    section = config.get(name) or {}
    if not isinstance(section, dict):
        raise ValueError(f"'{name}' must be a mapping, got {type(section).__name__}")
    check_keys(section, known, f"'{name}'")
    return dict(section)


class DetectionTask(Task):
    """Trains :class:`TinyYolox` on synthetic scenes; ``best.pt`` is chosen by COCO mAP@0.5."""

    best_metric: ClassVar[str] = "mAP50"
    best_mode: ClassVar[str] = "max"

    def __init__(self, config: dict[str, Any], base_dir: Path) -> None:
        super().__init__(config, base_dir)
        self.data = DetectionDataConfig.from_dict(config.get("data"))
        self.model_config = ModelConfig.from_dict(config.get("model"))
        w, h = self.data.input_size
        if w % 32 or h % 32:
            raise ValueError(f"data.input_size {[w, h]} must be multiples of 32 (the backbone's deepest stride)")
        self.eval_settings = {**_EVAL_KEYS, **_section(config, "eval", _EVAL_KEYS)}
        self.export_settings = _section(config, "export", _EXPORT_KEYS)
        self.card = self.make_card()
        self._anchors: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def make_card(self) -> ModelCard:
        """The detection card of this task's models."""
        s = self.export_settings
        description = s.get(
            "description",
            f"flowpose TinyYolox trained on synthetic scenes ({', '.join(self.data.classes)}); "
            f"input {self.data.input_size[0]}x{self.data.input_size[1]} BGR 0..255, letterboxed",
        )
        return detection_card(
            self.data.classes,
            self.data.input_size,
            self.model_config.strides,
            s.get("name", "flowpose-det"),
            description,
        )

    def anchors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Grid cells (A, 2) and strides (A,) on ``device`` (cached)."""
        if device not in self._anchors:
            self._anchors[device] = anchor_points(self.data.input_size, self.model_config.strides, device)
        return self._anchors[device]

    def build_model(self, pretrained: bool = True) -> nn.Module:
        del pretrained  # trained from scratch: synthetic scenes need no ImageNet features
        # channels_last: oneDNN runs the depthwise convolutions about twice as fast on CPU.
        return TinyYolox(len(self.data.classes), self.model_config).to(memory_format=torch.channels_last)

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return model(batch["image"].contiguous(memory_format=torch.channels_last))

    def train_dataset(self) -> Dataset:
        return SyntheticDetectionDataset(self.data, self.card, train=True)

    def val_dataset(self) -> Dataset | None:
        return SyntheticDetectionDataset(self.data, self.card, train=False)

    def compute_loss(self, output: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        grid, strides = self.anchors(output.device)
        return detection_loss(output, batch["boxes"], batch["labels"], grid, strides)

    def evaluate(self, model: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
        grid, strides = self.anchors(device)
        gts, dets = [], []
        s = self.eval_settings
        for batch in loader:
            logits = self.forward(model, {"image": batch["image"].to(device)})
            probs = torch.cat([logits[..., :4], logits[..., 4:].sigmoid()], dim=-1)
            dets += postprocess(probs, grid, strides, s["score_threshold"], s["nms_iou"], s["max_detections"])
            for boxes, labels in zip(batch["boxes"].numpy(), batch["labels"].numpy(), strict=True):
                gts.append((boxes[labels >= 0], labels[labels >= 0]))
        return coco_metrics(gts, dets, self.data.classes)

    def export(self, model: nn.Module, path: Path, **options: Any) -> dict[str, Any]:
        """ONNX in YOLOX's raw format with the card.

        Options: ``card`` (name/description), ``opset``, ``bound``, ``weights``.
        """
        opts = ExportOptions.resolve(options, self.export_settings, MAX_ABS_DIFF)
        card = dataclasses.replace(self.card, **opts.card)
        # Compared on a real validation image: random noise would not exercise the trained weights.
        sample = SyntheticDetectionDataset(self.data, self.card, train=False)[0]["image"][None]
        if not isinstance(model, TinyYolox):
            raise TypeError(f"a detection task exports a TinyYolox, got {type(model).__name__}")
        return export_detector(
            model, path, card, sample=sample, opset=opts.opset, bound=opts.bound, weights=opts.weights
        )


def build_detection_task(config: dict[str, Any], base_dir: Path) -> DetectionTask:
    """Factory named in :data:`flowpose.trainer.engine.task.TASKS` (``task: detection``)."""
    return DetectionTask(config, base_dir)
