"""Process-group set-up for several processes started by torchrun (DDP).

torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; a plain ``flowpose train`` has
none of them and runs as a single process without any process group.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "cleanup_distributed", "init_distributed", "pick_device"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits among the training processes.

    Attributes:
        rank: Global rank (0 writes checkpoints, logs and evaluates).
        world_size: Number of processes.
        local_rank: Rank on this host (selects the GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(setting: str, info: DistInfo) -> torch.device:
    """Resolve ``train.device`` for this process (one GPU per local rank under DDP)."""
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("train.device is 'cuda' but torch sees no CUDA device")
        return torch.device("cuda", info.local_rank % max(torch.cuda.device_count(), 1))
    return torch.device(setting)


def init_distributed(device_setting: str) -> DistInfo:
    """Join the process group when started by torchrun; otherwise return a single-process info.

    NCCL is used when the processes train on CUDA, gloo otherwise (CPU, and the tests).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    device = pick_device(device_setting, info)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    log.info("DDP: rank %d of %d (%s backend, %s)", info.rank, info.world_size, backend, device)
    return info


def cleanup_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
