"""``flowpose train CONFIG --bench``: does the data loader keep up with the model?

Measures, in one run and side by side: the loader alone (in the training process, then with
the configured workers) and the model's training step alone (forward, backward, optimizer
step on one fixed batch). Prints the medians of per-batch times as samples/s.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from flowpose.trainer.engine.distributed import DistInfo, pick_device
from flowpose.trainer.engine.parts import build_optimizer
from flowpose.trainer.engine.seeding import seed_everything, seed_worker
from flowpose.trainer.engine.settings import TrainSettings
from flowpose.trainer.engine.task import Task

__all__ = ["BenchResult", "bench_training", "format_bench"]


@dataclass(frozen=True)
class BenchResult:
    """Median samples/s of each part (``loader_w0``: no worker processes)."""

    batch_size: int
    workers: int
    loader_w0: float
    loader_workers: float
    model_step: float
    device: str
    threads: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _median_rate(times: list[float], batch_size: int) -> float:
    return batch_size / statistics.median(times) if times else float("nan")


def _time_loader(loader: DataLoader, batches: int) -> list[float]:
    times, it = [], iter(loader)
    next(it)  # the first batch pays for worker start-up
    for _ in range(batches):
        t0 = time.perf_counter()
        try:
            next(it)
        except StopIteration:
            break
        times.append(time.perf_counter() - t0)
    return times


def bench_training(task: Task, settings: TrainSettings, batches: int = 20, seed: int = 0) -> BenchResult:
    """Time the loader (0 and ``settings.workers`` workers) and the model step separately."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    seed_everything(seed)
    device = pick_device(settings.device, DistInfo())
    dataset = task.train_dataset()
    bs = settings.batch_size

    def loader(workers: int) -> DataLoader:
        return DataLoader(
            dataset, batch_size=bs, shuffle=True, num_workers=workers, collate_fn=task.collate,
            drop_last=True, worker_init_fn=seed_worker, generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip

    w0 = _time_loader(loader(0), max(batches // 2, 3))
    ww = _time_loader(loader(settings.workers), batches) if settings.workers else w0
    batch = task.to_device(next(iter(loader(0))), device)
    model = task.build_model(pretrained=False).to(device).train()
    optimizer = build_optimizer(model, settings)
    use_amp = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    steps = []
    for i in range(batches + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            loss, _ = task.compute_loss(task.forward(model, batch), batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:  # the first steps allocate memory and pick kernels
            steps.append(time.perf_counter() - t0)
    return BenchResult(
        batch_size=bs,
        workers=settings.workers,
        loader_w0=_median_rate(w0, bs),
        loader_workers=_median_rate(ww, bs),
        model_step=_median_rate(steps, bs),
        device=str(device),
        threads=torch.get_num_threads(),
    )


def format_bench(r: BenchResult) -> str:
    """The side-by-side table printed by the CLI."""
    ratio = r.loader_workers / r.model_step if r.model_step else float("nan")
    verdict = "the loader keeps up" if ratio >= 1 else "the loader is the bottleneck: raise train.workers"
    return "\n".join(
        [
            f"batch {r.batch_size}, device {r.device}, torch threads {r.threads}; medians of per-batch times",
            f"  {'loader, 0 workers':<28} {r.loader_w0:9.1f} samples/s",
            f"  {f'loader, {r.workers} workers':<28} {r.loader_workers:9.1f} samples/s",
            f"  {'model train step':<28} {r.model_step:9.1f} samples/s",
            f"  loader / model = {ratio:.2f}: {verdict}",
        ]
    )
