"""The generic training loop: AdamW, warm-up + cosine, AMP on CUDA, DDP, checkpoints, best model.

Example:
    >>> task = build_task(config, base_dir)  # doctest: +SKIP
    >>> result = Trainer(task, TrainSettings.from_dict(config["train"]), "runs/x").fit()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from flowpose.trainer.engine.checkpoint import Checkpoint, load_checkpoint, load_init_weights, save_checkpoint
from flowpose.trainer.engine.config import config_changes
from flowpose.trainer.engine.distributed import DistInfo, pick_device
from flowpose.trainer.engine.epoch import run_epoch
from flowpose.trainer.engine.logs import MetricsLog, epoch_lines, fit_line
from flowpose.trainer.engine.parts import (
    build_optimizer,
    build_scheduler,
    make_loader,
    mean_over_ranks,
    set_threads,
)
from flowpose.trainer.engine.seeding import epoch_seed, seed_everything
from flowpose.trainer.engine.settings import TrainSettings
from flowpose.trainer.engine.task import Task

__all__ = ["FitResult", "Trainer", "build_optimizer", "make_loader"]

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What a finished (or stopped) ``fit`` leaves behind.

    Attributes:
        output_dir: Where ``last.pt``, ``best.pt`` and ``metrics.csv`` are.
        epoch: Epochs completed.
        best: Best value of the task's ``best_metric`` (None if never evaluated).
        metrics: The last evaluation's metrics.
        history: One dict per epoch, as in metrics.csv.
        test_metrics: ``best.pt``'s metrics on the task's test data (empty without any):
            frames neither trained nor selected on.
    """

    output_dir: Path
    epoch: int
    best: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    test_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def best_checkpoint(self) -> Path:
        return self.output_dir / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        return self.output_dir / "last.pt"


@dataclass
class _Progress:
    """What changes from epoch to epoch (and what a checkpoint restores)."""

    epoch: int = 0
    step: int = 0
    best: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains a :class:`Task` with the loop settings; one instance per process under DDP."""

    def __init__(
        self,
        task: Task,
        settings: TrainSettings,
        output_dir: str | Path,
        *,
        seed: int = 0,
        dist_info: DistInfo | None = None,
    ) -> None:
        self.task = task
        self.settings = settings
        self.output_dir = Path(output_dir)
        self.seed = int(seed)
        self.dist = dist_info or DistInfo()
        self.device = pick_device(settings.device, self.dist)
        self.use_amp = settings.amp and self.device.type == "cuda"

    def fit(self, resume: str | Path | None = None, stop_after: int | None = None) -> FitResult:
        """Train until ``train.epochs`` (or ``stop_after`` epochs in total, for tests/preemption).

        Args:
            resume: A ``last.pt`` to continue from (model, optimizer, schedule, history).
            stop_after: Stop once this many epochs are done, leaving the schedule unchanged.
        """
        s, info = self.settings, self.dist
        set_threads(s, info, self.device)
        seed_everything(epoch_seed(self.seed, -1, info.rank))
        ckpt = load_checkpoint(Path(resume)) if resume else None
        init = self._init_weights() if ckpt is None and s.init_from else None
        model = self.task.build_model(pretrained=ckpt is None and init is None)
        if ckpt is not None:
            model.load_state_dict(ckpt.model)
        elif init is not None:
            load_init_weights(model, init, s.init_from)
        model.to(self.device)
        train_set, val_set = self.task.train_dataset(), self.task.val_dataset()
        sampler = None
        if info.distributed:
            sampler = DistributedSampler(
                train_set, info.world_size, info.rank, shuffle=True, seed=self.seed, drop_last=True
            )
        steps = len(train_set) // (s.batch_size * info.world_size)
        steps = min(steps, s.steps_per_epoch) if s.steps_per_epoch else steps
        if steps == 0:
            raise ValueError(
                f"training set has {len(train_set)} samples: fewer than one batch of "
                f"{s.batch_size} x {info.world_size} process(es); lower train.batch_size"
            )
        optimizer = build_optimizer(model, s)
        scheduler = build_scheduler(optimizer, s, steps)
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp)
        state = _Progress()
        if ckpt is not None:
            optimizer.load_state_dict(ckpt.optimizer)
            scheduler.load_state_dict(ckpt.scheduler)
            if ckpt.scaler:
                scaler.load_state_dict(ckpt.scaler)
            state = _Progress(ckpt.epoch, ckpt.step, ckpt.best, ckpt.metrics, ckpt.history)
            log.info("resumed from %s at epoch %d (step %d)", resume, state.epoch, state.step)
            warn_config_changes(ckpt.config, self.task.config, resume)
        net: nn.Module = model
        if info.distributed:
            net = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        logs = MetricsLog(self.output_dir, state.history, s.tensorboard) if info.is_main else None
        val_loader = None
        if val_set is not None and info.is_main:
            val_loader = make_loader(self.task, val_set, s, train=False, seed=self.seed)
        end = min(s.epochs, stop_after) if stop_after else s.epochs
        if logs is not None:
            log.info("per-epoch metrics, all columns: %s", logs.path)
        for epoch in range(state.epoch, end):
            seed = epoch_seed(self.seed, epoch, info.rank)
            seed_everything(seed)
            if sampler is not None:
                sampler.set_epoch(epoch)
            loader = make_loader(self.task, train_set, s, train=True, seed=seed, sampler=sampler)
            t0 = time.perf_counter()
            stats = run_epoch(
                self.task, net, loader, optimizer, scheduler, scaler, self.device, s, steps, epoch, self.use_amp
            )
            state.epoch, state.step = epoch + 1, state.step + stats.pop("steps")
            row: dict[str, Any] = {"epoch": state.epoch, "step": state.step, "lr": scheduler.get_last_lr()[0], **stats}
            if info.distributed:
                row["loss"] = mean_over_ranks(row["loss"], self.device)
            row["epoch_s"] = time.perf_counter() - t0
            if logs is not None:  # rank 0: evaluate, log, save
                if val_loader is not None and (state.epoch % s.val_every == 0 or state.epoch == s.epochs):
                    state.metrics = self._evaluate(model, val_loader)
                    row.update({f"val_{k}": v for k, v in state.metrics.items()})
                    self._maybe_save_best(model, state)
                logs.add(row)
                state.history = logs.rows
                self._save_last(model, optimizer, scheduler, scaler, state)
                for line in epoch_lines(row, s.epochs, self.task.best_metric, state.best):
                    log.info("%s", line)
            if info.distributed:
                dist.barrier()
        test: dict[str, float] = {}
        if logs is not None:
            logs.close()
            test = self._evaluate_test(model)
        return FitResult(self.output_dir, end, state.best, state.metrics, state.history, test)

    def _evaluate_test(self, model: nn.Module) -> dict[str, float]:
        """``best.pt`` on the task's test data, once, after training; written to ``test_metrics.json``.

        The test frames never choose anything (``best.pt`` is chosen on val), so this is the
        figure to report. Returns {} without test data or a ``best.pt``.
        """
        best = self.output_dir / "best.pt"
        test_set = self.task.test_dataset()
        if test_set is None or len(test_set) == 0 or not best.is_file():
            return {}
        ckpt = load_checkpoint(best)
        trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(ckpt.model)
        loader = make_loader(self.task, test_set, self.settings, train=False, seed=self.seed)
        metrics = self._evaluate(model, loader)
        model.load_state_dict(trained)  # leave the caller's model as trained
        report = {"checkpoint": "best.pt", "epoch": ckpt.epoch, "instances": len(test_set), "metrics": metrics}
        (self.output_dir / "test_metrics.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        keys = [self.task.best_metric, *(k for k in ("epe", "pck@0.1") if k != self.task.best_metric)]
        shown = [f"test ({len(test_set)}, best.pt of epoch {ckpt.epoch}):"]
        shown += [f"{k} {metrics[k]:.4g}" for k in keys if k in metrics]
        log.info("%s", fit_line(shown))
        return metrics

    def _init_weights(self) -> dict[str, torch.Tensor]:
        """The model weights of ``train.init_from`` (resolved against the config's folder)."""
        path = Path(self.settings.init_from or "").expanduser()
        if not path.is_absolute():
            path = self.task.base_dir / path
        ckpt = load_checkpoint(path)
        log.info("starting from the weights of %s (epoch %d of its run)", path, ckpt.epoch)
        return ckpt.model

    def _evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            metrics = self.task.evaluate(model, loader, self.device)
        model.train()
        if self.task.best_metric not in metrics:
            raise KeyError(f"task evaluate() returned {sorted(metrics)}, without best_metric {self.task.best_metric!r}")
        return {k: float(v) for k, v in metrics.items()}

    def _maybe_save_best(self, model: nn.Module, state: _Progress) -> None:
        value = state.metrics[self.task.best_metric]
        if math.isnan(value):
            return
        best = state.best
        if best is not None and not (value > best if self.task.best_mode == "max" else value < best):
            return
        state.best = value
        # best.pt holds the model only: it is for eval/export, resuming uses last.pt.
        ckpt = Checkpoint(self.task.config, model.state_dict(), state.epoch, state.step, value, state.metrics)
        save_checkpoint(ckpt, self.output_dir / "best.pt")
        log.info("new best %s = %.4f at epoch %d", self.task.best_metric, value, state.epoch)

    def _save_last(self, model: nn.Module, optimizer: Any, scheduler: Any, scaler: Any, state: _Progress) -> None:
        ckpt = Checkpoint(
            config=self.task.config,
            model=model.state_dict(),
            epoch=state.epoch,
            step=state.step,
            best=state.best,
            metrics=state.metrics,
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
            scaler=scaler.state_dict(),
            history=state.history,
        )
        save_checkpoint(ckpt, self.output_dir / "last.pt")


def warn_config_changes(old: dict[str, Any], new: dict[str, Any], where: str | Path) -> list[str]:
    """One warning per config key that differs from the checkpoint's (``old -> new``); returns the lines.

    Resuming with another config is allowed (more epochs, say), but it is easy to do by
    accident, and a changed input size or learning rate changes what the run means.
    """
    lines = [f"--resume {where}: {key} changed: {a!r} -> {b!r}" for key, a, b in config_changes(old, new)]
    for line in lines:
        log.warning("%s", line)
    return lines
