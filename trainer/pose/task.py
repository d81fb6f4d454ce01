"""The top-down pose task: what the generic loop needs to train a keypoint model.

Config sections it reads: ``data`` (``layout``, ``train``, ``val``, ``pipeline``; see
:mod:`flowpose.trainer.pose.sources`), ``model`` (:class:`ModelSettings`), ``eval``
(``pck_thresholds``, ``oks``, ``best``) and ``export`` (card fields: ``name``, ``labels``,
``description``; and ``opset``, ``bound``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from flowpose.codecs import GaussianHeatmap, build_codec
from flowpose.models import ModelCard
from flowpose.trainer.data.split import SplitPlan
from flowpose.trainer.engine.config import check_keys
from flowpose.trainer.engine.task import Task
from flowpose.trainer.evaluation.evaluator import predict, score_predictions
from flowpose.trainer.export.onnx_export import FILE_OPTIONS, ExportOptions, export_onnx
from flowpose.trainer.models.losses import heatmap_ce_loss, heatmap_mse_loss, simcc_kl_loss, soft_argmax_l1_loss
from flowpose.trainer.models.pose_model import ModelSettings, build_pose_model
from flowpose.trainer.pipeline.settings import TopdownSettings
from flowpose.trainer.pipeline.topdown import TopdownDataset, TopdownTransform
from flowpose.trainer.pose.sources import build_source, resolve_layout

__all__ = ["IMAGENET_MEAN_RGB", "IMAGENET_STD_RGB", "PoseTask", "build_pose_task"]

log = logging.getLogger(__name__)

# torchvision's ImageNet statistics in 0..255 units (what pretrained backbones expect).
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)


class PoseTask(Task):
    """Top-down keypoint estimation with a heatmap or SimCC codec."""

    best_metric = "pck@0.1"
    best_mode = "max"

    def __init__(self, config: dict[str, Any], base_dir: Path) -> None:
        super().__init__(config, base_dir)
        data = config.get("data")
        if not isinstance(data, dict):
            raise ValueError("config needs a 'data' section (layout, train, val, pipeline)")
        self.data = data
        self.layout = resolve_layout(data, self.base_dir)
        self.pipeline = TopdownSettings.from_dict(data.get("pipeline") or {})
        self.model_settings = ModelSettings.from_dict(config.get("model"))
        self.codec = build_codec(self.model_settings.codec_config(self.pipeline.input_size))
        mean, std = IMAGENET_MEAN_RGB, IMAGENET_STD_RGB
        if self.pipeline.color_order == "bgr":
            mean, std = mean[::-1], std[::-1]
        self.mean, self.std = mean, std
        self._mean_t = torch.tensor(mean).view(1, 3, 1, 1)
        self._std_t = torch.tensor(std).view(1, 3, 1, 1)
        ev = dict(config.get("eval") or {})
        self.pck_thresholds = tuple(float(t) for t in ev.pop("pck_thresholds", (0.05, 0.1, 0.2)))
        self.oks = bool(ev.pop("oks", True))
        # PCK relative to the box is MMPose's convention for detector boxes; a DeepLabCut frame's
        # animal has no box of its own (the imported box is the labels' extent plus a margin), so
        # its PCK is relative to the body length, as `flowpose eval labels` reports it.
        dlc = (data.get("train") or {}).get("type") == "dlc"
        self.pck_norm = str(ev.pop("pck_norm", "body" if dlc else "bbox"))
        # Flip test as the TopdownPoseEstimator node's flip_test does it (mirrored crops, outputs
        # flipped back and averaged): evaluate a model the way the graph will run it.
        self.flip_test = bool(ev.pop("flip_test", False))
        best = ev.pop("best", None)
        check_keys(ev, ("best", "flip_test", "oks", "pck_norm", "pck_thresholds"), "'eval'")
        if best:  # e.g. {metric: epe, mode: min} for small real datasets
            if not isinstance(best, dict) or "metric" not in best or best.get("mode", "max") not in ("max", "min"):
                raise ValueError(f"eval.best must be {{metric: NAME, mode: max|min}}, got {best!r}")
            self.best_metric, self.best_mode = str(best["metric"]), str(best.get("mode", "max"))
        if self.pipeline.flip_prob > 0 and not self.layout.flip_pairs:
            log.warning(
                "layout %r has no flip_pairs: flipped crops keep left/right names as they are; "
                "set data.pipeline.flip_prob: 0 if its keypoints have sides",
                self.layout.name,
            )

    # ---- building ----------------------------------------------------------------------------
    def build_model(self, pretrained: bool = True) -> nn.Module:
        return build_pose_model(self.model_settings, self.codec, self.layout.num_keypoints, pretrained)

    def train_dataset(self) -> Dataset:
        source = build_source(self.data.get("train"), self.layout, self.base_dir, val=False, where="data.train")
        return TopdownDataset(source, TopdownTransform(self.pipeline, self.codec, self.layout, train=True))

    def val_dataset(self) -> Dataset | None:
        if not self.data.get("val"):
            return None
        source = build_source(self.data["val"], self.layout, self.base_dir, val=True, where="data.val")
        return TopdownDataset(source, TopdownTransform(self.pipeline, self.codec, self.layout, train=False))

    def test_dataset(self) -> Dataset | None:
        """``data.test``, else the test part of a ``dlc`` validation source (None without one)."""
        spec, where = self.data.get("test"), "data.test"
        val = self.data.get("val") or {}
        if not spec and isinstance(val, dict) and val.get("type") == "dlc":
            if float(val.get("test_fraction", SplitPlan.test_fraction)) <= 0:
                return None
            spec, where = {**val, "part": "test"}, "data.val (its test part)"
        if not spec:
            return None
        if isinstance(spec, dict) and spec.get("type") == "dlc":
            spec = {**spec, "part": spec.get("part", "test")}  # a dlc source defaults to its val part
        source = build_source(spec, self.layout, self.base_dir, val=True, where=where)
        return TopdownDataset(source, TopdownTransform(self.pipeline, self.codec, self.layout, train=False))

    # ---- training step -----------------------------------------------------------------------
    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, h, w) -> float, (x - mean) / std, as the runtime does per the card."""
        mean, std = self._mean_t.to(image.device), self._std_t.to(image.device)
        return (image.float() - mean) / std

    def forward(self, model: nn.Module, batch: Any) -> Any:
        return model(self.normalize(batch["image"]))

    def compute_loss(self, output: Any, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        weights = batch["keypoint_weights"]
        kind = self.model_settings.heatmap_loss
        if isinstance(self.codec, GaussianHeatmap) and kind == "mse":
            return heatmap_mse_loss(output[0], batch["heatmaps"], weights), {}
        if isinstance(self.codec, GaussianHeatmap):
            ce = heatmap_ce_loss(output[0], batch["heatmaps"], weights)
            if kind == "ce":
                return ce, {}
            stride = tuple(float(v) for v in self.codec.stride)
            coord = soft_argmax_l1_loss(output[0], batch["keypoints"], weights, stride)
            return ce + coord, {"loss_ce": float(ce.detach()), "loss_coord": float(coord.detach())}
        return simcc_kl_loss(output[0], output[1], batch["target_x"], batch["target_y"], weights), {}

    # ---- evaluation and export ---------------------------------------------------------------
    def evaluate(self, model: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
        flip_index = self.layout.flip_index if self.flip_test else None
        preds = predict(
            lambda b: self.forward(model, b), loader, self.codec, self.pipeline.input_size, device, flip_index
        )
        return score_predictions(preds, self.layout, self.pck_thresholds, oks=self.oks, pck_norm=self.pck_norm)

    def card(self, **overrides: Any) -> ModelCard:
        """The model card of this task's models (``export:`` fields and ``overrides`` on top)."""
        ex = {k: v for k, v in (self.config.get("export") or {}).items() if k not in FILE_OPTIONS}
        ex.update(overrides)
        layout_name = str(ex.pop("keypoint_layout", self.layout.name))
        return ModelCard(
            task="pose",
            input_size=self.pipeline.input_size,
            mean=self.mean,
            std=self.std,
            color_order=self.pipeline.color_order,
            output_names=tuple(self.build_output_names()),
            codec=self.codec.to_config(),
            keypoint_layout=layout_name,
            # The whole layout travels in the card: a model of your own keypoints runs with no
            # layout file beside it (the import folder that had one is often gone by then).
            layout={**self.layout.to_dict(), "name": layout_name},
            labels=tuple(ex.pop("labels", [])) or _default_labels(self.data),
            name=str(ex.pop("name", "")),
            description=str(ex.pop("description", "")),
            **ex,
        )

    def build_output_names(self) -> tuple[str, ...]:
        return ("heatmaps",) if isinstance(self.codec, GaussianHeatmap) else ("simcc_x", "simcc_y")

    def export(self, model: nn.Module, path: Path, **options: Any) -> dict[str, Any]:
        opts = ExportOptions.resolve(options, self.config.get("export") or {}, 1e-3)
        card = self.card(**opts.card)
        report = export_onnx(
            model, path, card, self.build_output_names(), opset=opts.opset, bound=opts.bound, weights=opts.weights
        )
        return {
            "path": str(report.path),
            "max_abs_diff": report.max_abs_diff,
            "size_bytes": report.size_bytes,
            "weights": report.weights,
            "float32_max_abs_diff": report.float32_max_abs_diff,
        }


def _default_labels(data: dict[str, Any]) -> tuple[str, ...]:
    train = data.get("train") or {}
    if train.get("type") == "synthetic":
        return ("person",) if train.get("kind") == "person" else ("dog", "cat", "horse", "sheep", "cow")
    if train.get("type") == "dlc":
        return (str(train.get("category", "animal")),)
    return ("person",)


def build_pose_task(config: dict[str, Any], base_dir: Path) -> PoseTask:
    """The :data:`~flowpose.trainer.engine.task.TASKS` factory of ``task: pose``."""
    return PoseTask(config, base_dir)
