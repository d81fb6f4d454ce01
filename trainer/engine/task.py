"""The contract between the training loop and what is being trained (pose, detection, ...).

The :class:`~flowpose.trainer.engine.loop.Trainer` knows nothing about keypoints or boxes:
it asks a :class:`Task` for a model, datasets, a loss and an evaluation, and owns everything
else (optimizer, schedule, AMP, DDP, checkpoints, best-checkpoint selection, CSV/TensorBoard
logs, seeding, the loader-vs-model benchmark).

A task is built from the parsed YAML config by the factory named in :data:`TASKS` under the
config's ``task:`` key. The loop keeps the whole config in every checkpoint, so
``flowpose eval``/``flowpose export`` rebuild the same task from a checkpoint alone.

Config layout (sections other than ``train`` belong to the task and are read only by it)::

    task: pose                # key of TASKS
    seed: 0
    output_dir: runs/my_run   # relative paths are relative to the config file
    data: {...}               # task's own
    model: {...}              # task's own
    train: {...}              # flowpose.trainer.engine.settings.TrainSettings
    eval: {...}               # task's own (optional)
    export: {...}             # task's own (optional)
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate

__all__ = ["TASKS", "Task", "build_task", "move_to_device"]

# A plain dict of "module:callable" strings, imported only when chosen, so that a pose run
# never imports the detector code and vice versa. Each factory is called as
# ``factory(config: dict, base_dir: Path) -> Task``.
TASKS: dict[str, str] = {
    "pose": "flowpose.trainer.pose.task:build_pose_task",
    "detection": "flowpose.trainer.detection.task:build_detection_task",
}


class Task(ABC):
    """What one kind of model needs from the generic training loop.

    Subclasses set :attr:`best_metric` (a key returned by :meth:`evaluate`) and
    :attr:`best_mode` (as class attributes, or per instance from their config), and
    implement the abstract methods. Datasets yield whatever
    :meth:`collate` understands; the default collate is torch's ``default_collate``, so a
    dataset of dicts of numpy arrays/tensors/numbers just works.

    Attributes:
        best_metric: Key of :meth:`evaluate`'s result that selects ``best.pt``.
        best_mode: ``"max"`` if higher is better (PCK, AP), ``"min"`` otherwise (pixel error).
        config: The whole parsed config the task was built from (stored in checkpoints).
    """

    best_metric: str = "loss"
    best_mode: str = "min"

    def __init__(self, config: dict[str, Any], base_dir: Path) -> None:
        self.config = config
        self.base_dir = Path(base_dir)

    # ---- building -------------------------------------------------------------------------
    @abstractmethod
    def build_model(self, pretrained: bool = True) -> nn.Module:
        """Return a fresh model (on CPU). ``pretrained=False`` skips any weight download
        (used when a checkpoint's weights are loaded right after)."""

    @abstractmethod
    def train_dataset(self) -> Dataset:
        """Return the training dataset (augmenting; the loop shuffles and shards it)."""

    @abstractmethod
    def val_dataset(self) -> Dataset | None:
        """Return the validation dataset (no augmentation), or None to skip evaluation."""

    def test_dataset(self) -> Dataset | None:
        """Return the held-out test dataset, or None (the default): evaluated once, with ``best.pt``,
        after training; never used to pick a checkpoint."""
        return None

    def collate(self, samples: Sequence[Any]) -> Any:
        """Merge dataset items into a batch; must be picklable (DataLoader workers)."""
        return default_collate(samples)

    # ---- training step --------------------------------------------------------------------
    def forward(self, model: nn.Module, batch: Any) -> Any:
        """Run the model on a batch already on the device; default ``model(batch["image"])``."""
        return model(batch["image"])

    @abstractmethod
    def compute_loss(self, output: Any, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the scalar loss to back-propagate and named float parts to log.

        Called inside the autocast region; the returned loss must be a 0-d tensor.
        """

    def batch_size_of(self, batch: Any) -> int:
        """Number of samples in a batch (for samples/s); default ``len(batch["image"])``."""
        return len(batch["image"])

    def to_device(self, batch: Any, device: torch.device) -> Any:
        """Move a batch to ``device``; default moves every tensor in nested dicts/lists."""
        return move_to_device(batch, device)

    # ---- evaluation and export ------------------------------------------------------------
    @abstractmethod
    def evaluate(self, model: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
        """Evaluate ``model`` (already in eval mode, unwrapped from DDP) on ``loader``.

        Must return :attr:`best_metric` among its keys. Runs on rank 0 only, under
        ``torch.no_grad()``.
        """

    @abstractmethod
    def export(self, model: nn.Module, path: Path, **options: Any) -> dict[str, Any]:
        """Write ``model`` (eval mode, CPU) to ``path`` as ONNX with its model card.

        Implementations check ONNX Runtime against PyTorch and raise if they differ by more
        than their bound. Returns facts to print (e.g. ``{"max_abs_diff": 1e-6}``).
        """


def build_task(config: dict[str, Any], base_dir: Path) -> Task:
    """Build the task named by ``config["task"]`` through :data:`TASKS`.

    Raises:
        ValueError: On a missing or unknown task name.
    """
    name = config.get("task")
    if name not in TASKS:
        raise ValueError(f"config 'task' must be one of {sorted(TASKS)}, got {name!r}")
    module_name, _, attr = TASKS[name].partition(":")
    factory: Callable[[dict[str, Any], Path], Task] = getattr(importlib.import_module(module_name), attr)
    return factory(config, Path(base_dir))


def move_to_device(value: Any, device: torch.device) -> Any:
    """Recursively move tensors inside dicts, lists and tuples to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, dict):
        return {k: move_to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(move_to_device(v, device) for v in value)
    return value
