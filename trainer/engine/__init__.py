"""The task-agnostic training engine: the :class:`Task` contract and the :class:`Trainer` loop.

Imports torch; reached only through ``flowpose train``/``eval``/``export`` or directly.
"""

from flowpose.trainer.engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from flowpose.trainer.engine.distributed import DistInfo, cleanup_distributed, init_distributed, pick_device
from flowpose.trainer.engine.loop import FitResult, Trainer, make_loader
from flowpose.trainer.engine.settings import TrainSettings
from flowpose.trainer.engine.task import TASKS, Task, build_task, move_to_device

__all__ = [
    "TASKS",
    "Checkpoint",
    "DistInfo",
    "FitResult",
    "Task",
    "TrainSettings",
    "Trainer",
    "build_task",
    "cleanup_distributed",
    "init_distributed",
    "load_checkpoint",
    "make_loader",
    "move_to_device",
    "pick_device",
    "save_checkpoint",
]
