"""Deterministic train/val splits by image, so that no image is in both parts."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["split_ids"]


def split_ids(
    ids: Iterable[int], part: str, *, val_count: int | None = None, val_fraction: float | None = None, seed: int = 0
) -> set[int]:
    """The ids of ``part`` (``"train"`` or ``"val"``) in a seeded random split.

    Exactly one of ``val_count`` and ``val_fraction`` sets the validation size (a fraction is
    rounded to the nearest count). The same ids and seed always give the same split.

    Raises:
        ValueError: On a bad part, both or neither size, or a size that leaves a part empty.
    """
    if part not in ("train", "val"):
        raise ValueError(f"split part must be 'train' or 'val', got {part!r}")
    unique = sorted(set(ids))
    if (val_count is None) == (val_fraction is None):
        raise ValueError("give exactly one of split.val_count and split.val_fraction")
    if val_fraction is not None:
        if not 0 < val_fraction < 1:
            raise ValueError(f"split.val_fraction must be in (0, 1), got {val_fraction}")
        val_count = round(len(unique) * val_fraction)
    assert val_count is not None
    if not 0 < val_count < len(unique):
        raise ValueError(f"split.val_count {val_count} leaves an empty part of {len(unique)} images")
    order = np.random.default_rng(seed).permutation(len(unique))
    val = {unique[i] for i in order[:val_count]}
    return val if part == "val" else set(unique) - val
