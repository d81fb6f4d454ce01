"""One training epoch: forward/backward with optional AMP, per-step schedule, loader-wait timing."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from flowpose.trainer.engine.logs import Progress
from flowpose.trainer.engine.settings import TrainSettings
from flowpose.trainer.engine.task import Task

__all__ = ["run_epoch"]


def run_epoch(
    task: Task,
    net: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    settings: TrainSettings,
    steps: int,
    epoch: int,
    use_amp: bool,
) -> dict[str, Any]:
    """Train ``steps`` batches from ``loader``.

    Returns:
        ``steps`` done, mean ``loss`` and mean loss parts, ``samples_per_s`` over the epoch and
        ``data_wait`` (fraction of the epoch spent waiting for the loader: near 0 means the
        loader keeps up with the model).

    Raises:
        FloatingPointError: On a non-finite loss, naming the epoch and step.
    """
    net.train()
    sums: dict[str, float] = defaultdict(float)
    samples, waited, done = 0, 0.0, 0
    progress = Progress(settings.progress, steps, epoch, settings.epochs)
    start = time.perf_counter()
    fetch_start = start
    for batch in loader:
        waited += time.perf_counter() - fetch_start
        batch = task.to_device(batch, device)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            output = task.forward(net, batch)
            loss, parts = task.compute_loss(output, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch + 1}, step {done + 1}; lower train.lr?")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if settings.grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(net.parameters(), settings.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        value = float(loss.detach())
        sums["loss"] += value
        for key, part in parts.items():
            sums[key] += float(part)
        samples += task.batch_size_of(batch)
        done += 1
        progress.update(done, samples, value)
        if done >= steps:
            break
        fetch_start = time.perf_counter()
    progress.close()
    elapsed = max(time.perf_counter() - start, 1e-9)
    out: dict[str, Any] = {k: v / max(done, 1) for k, v in sums.items()}
    out.update(steps=done, samples_per_s=samples / elapsed, data_wait=waited / elapsed)
    return out
