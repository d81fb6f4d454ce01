"""Checkpoint files: model, optimizer, schedule and scaler state, progress, and the config.

A checkpoint carries the whole training config, so that ``flowpose eval`` and
``flowpose export`` rebuild the task and model from the file alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["Checkpoint", "load_checkpoint", "load_init_weights", "save_checkpoint"]

FORMAT = "flowpose-checkpoint/1"


@dataclass
class Checkpoint:
    """Everything needed to resume a run or to use its model.

    Attributes:
        config: The parsed training config (``task``, ``data``, ``model``, ``train``...).
        model: ``state_dict`` of the bare model (never the DDP wrapper).
        epoch: Epochs completed.
        step: Optimizer steps completed.
        best: Best value of the task's ``best_metric`` so far (None before any evaluation).
        metrics: The last evaluation's metrics.
        optimizer, scheduler, scaler: Their ``state_dict``s (empty in a model-only file).
        history: Rows already written to metrics.csv (so a resumed run rewrites it whole).
    """

    config: dict[str, Any]
    model: dict[str, Any]
    epoch: int = 0
    step: int = 0
    best: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    optimizer: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    scaler: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def save_checkpoint(ckpt: Checkpoint, path: Path) -> None:
    """Write atomically (temp file + rename): a crash never leaves a truncated last.pt."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": FORMAT, **ckpt.__dict__}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a flowpose checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    # weights_only=True: a checkpoint is data; never let a file run code when loaded.
    raw = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"{path} is not a flowpose checkpoint (expected format {FORMAT!r})")
    raw.pop("format")
    return Checkpoint(**raw)


def load_init_weights(model: nn.Module, weights: dict[str, torch.Tensor], where: str) -> None:
    """Load another run's weights into ``model``, naming what does not fit.

    Raises:
        ValueError: When the layers or their shapes differ (another backbone, keypoint
            count or codec than the checkpoint was trained with).
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    shapes = [
        f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in weights and weights[k].shape != v.shape
    ]
    if missing or extra or shapes:
        parts = [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {extra[:3]}" if extra else "",
            f"shapes differ: {shapes[:3]}" if shapes else "",
        ]
        raise ValueError(
            f"train.init_from {where}: its model does not match this config's ("
            + "; ".join(p for p in parts if p)
            + "); same model section needed"
        )
    model.load_state_dict(weights)
