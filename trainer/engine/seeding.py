"""Seeding that makes a run, and a resumed run, repeat exactly on CPU.

Every epoch reseeds python, numpy and torch from ``(seed, epoch, rank)``, and the DataLoader
gets its own generator seeded the same way, so epoch ``e`` draws the same augmentations
whether the run started at epoch 0 or resumed from a checkpoint at epoch ``e``.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["epoch_seed", "seed_everything", "seed_worker"]


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A distinct 31-bit seed per (run seed, epoch, rank)."""
    return (seed * 1_000_003 + epoch * 7919 + rank * 104_729) % (2**31 - 1)


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's legacy global RNG and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: derive numpy/python seeds from torch's per-worker seed."""
    del worker_id  # torch already folds it into initial_seed()
    seed = torch.initial_seed() % (2**32)
    random.seed(seed)
    np.random.seed(seed)
