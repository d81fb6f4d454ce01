"""Pieces the loop (and the bench) assemble: loaders, optimizer, schedule, thread count, DDP helpers."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset

from flowpose.trainer.engine.distributed import DistInfo
from flowpose.trainer.engine.schedule import warmup_cosine
from flowpose.trainer.engine.seeding import seed_worker
from flowpose.trainer.engine.settings import TrainSettings
from flowpose.trainer.engine.task import Task

__all__ = ["build_optimizer", "build_scheduler", "make_loader", "mean_over_ranks", "set_threads"]


def make_loader(
    task: Task, dataset: Dataset, settings: TrainSettings, *, train: bool, seed: int, sampler: Any = None
) -> DataLoader:
    """A DataLoader with the task's collate, seeded workers and a seeded shuffle generator."""
    return DataLoader(
        dataset,
        batch_size=settings.batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=settings.workers,
        collate_fn=task.collate,
        drop_last=train,  # a last batch of 1 breaks BatchNorm; skipping it costs < 1 batch/epoch
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=torch.cuda.is_available(),
    )


def build_optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """AdamW; biases and norm parameters (1-d tensors) get no weight decay."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=settings.lr)


def build_scheduler(
    optimizer: torch.optim.Optimizer, settings: TrainSettings, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step warm-up then cosine over the whole run (``train.epochs``)."""
    total, warmup = steps_per_epoch * settings.epochs, round(settings.warmup_epochs * steps_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: warmup_cosine(i, total, warmup, settings.min_lr_ratio)
    )


def set_threads(settings: TrainSettings, info: DistInfo, device: torch.device) -> None:
    """Apply ``train.threads``; under CPU DDP, split the cores between the processes by default."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    elif info.distributed and device.type == "cpu":
        # Several CPU processes each wanting every core oversubscribe them badly.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.world_size))


def mean_over_ranks(value: float, device: torch.device) -> float:
    """Average a float over all DDP processes."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()
