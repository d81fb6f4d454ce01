"""The ``train:`` section of a training config, parsed and checked once at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowpose.trainer.engine.config import check_keys

__all__ = ["TrainSettings"]


@dataclass(frozen=True)
class TrainSettings:
    """Generic loop settings (everything that is not about the task).

    Attributes:
        epochs: Passes over the training set.
        batch_size: Samples per step *per process* (DDP multiplies by the world size).
        lr: Peak learning rate of AdamW (reached at the end of warm-up).
        weight_decay: AdamW weight decay.
        warmup_epochs: Linear warm-up length in epochs (fractions allowed).
        min_lr_ratio: Cosine floor as a fraction of ``lr``.
        amp: Mixed precision (float16 autocast + grad scaler); only takes effect on CUDA.
        workers: DataLoader worker processes (0: load in the training process).
        val_every: Evaluate (and maybe save ``best.pt``) every N epochs and at the last.
        steps_per_epoch: Cap on steps per epoch (None: the whole dataset); for tiny runs.
        grad_clip: Max gradient norm, or None for no clipping.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``.
        threads: torch intra-op threads per process (None: torch's default).
        progress: Show a progress bar on a terminal (log lines otherwise).
        tensorboard: Also write TensorBoard scalars when ``tensorboard`` is installed.
        init_from: A flowpose checkpoint whose model weights start this run (fine-tuning,
            e.g. a default model on your own data); relative to the config's folder. Only
            the weights: optimizer, schedule and epochs start fresh. ``--resume`` wins.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01
    amp: bool = True
    workers: int = 2
    val_every: int = 1
    steps_per_epoch: int | None = None
    grad_clip: float | None = None
    device: str = "auto"
    threads: int | None = None
    progress: bool = True
    tensorboard: bool = True
    init_from: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "val_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"train.{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"train.workers must be an integer >= 0, got {self.workers!r}")
        for name in ("lr", "weight_decay", "warmup_epochs", "min_lr_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"train.{name} must be a number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr!r}")
        if self.min_lr_ratio > 1:
            raise ValueError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        for name in ("amp", "progress", "tensorboard"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"train.{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("steps_per_epoch", "threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"train.{name} must be an integer >= 1 or null, got {value!r}")
        if self.grad_clip is not None and (not isinstance(self.grad_clip, (int, float)) or self.grad_clip <= 0):
            raise ValueError(f"train.grad_clip must be a number > 0 or null, got {self.grad_clip!r}")
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from):
            raise ValueError(f"train.init_from must be a checkpoint path or null, got {self.init_from!r}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"train.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")

    @classmethod
    def from_dict(cls, section: dict[str, Any] | None) -> TrainSettings:
        """Build from the config's ``train:`` mapping, naming unknown keys."""
        section = dict(section or {})
        check_keys(section, cls, "'train'")
        return cls(**section)
