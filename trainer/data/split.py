"""Deterministic splits by image (train/val) and by video (train/val/test), so that no image is in two parts.

numpy only: ``flowpose eval labels`` (light install, no torch) splits a labelled project exactly
as the trainer does, so its ``test`` part is made of frames the trainer never trained or
selected ``best.pt`` on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

__all__ = ["PARTS", "SplitPlan", "SplitResult", "split_coco", "split_frames_by_group", "split_ids", "video_of"]

log = logging.getLogger(__name__)

PARTS = ("train", "val", "test")


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


@dataclass(frozen=True)
class SplitPlan:
    """How labelled frames are split into train / val / test.

    Attributes:
        val_fraction: Share of the frames for validation (``best.pt`` is chosen on it).
        test_fraction: Share held out for the final report (never trained or selected on);
            0 gives the two-way split of older configs, frame for frame.
        seed: Seed of the split (same frames and seed, same split).
        by: ``"video"`` holds out whole videos (frames of one video are near-duplicates, so a
            frame split flatters a model), ``"frame"`` single frames; ``"auto"`` is by video
            when there are enough videos for every part, else by frame (a one-video project).
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    by: str = "auto"

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 <= self.test_fraction < 1 or self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"test_fraction must be in [0, 1) and leave frames to train on, got val {self.val_fraction}, "
                f"test {self.test_fraction}"
            )
        if self.by not in ("auto", "video", "frame"):
            raise ValueError(f"split_by must be auto, video or frame, got {self.by!r}")

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> SplitPlan:
        """From a ``dlc`` data source's keys (``val_fraction``, ``test_fraction``, ``split_seed``, ``split_by``)."""
        return cls(
            float(spec.get("val_fraction", cls.val_fraction)),
            float(spec.get("test_fraction", cls.test_fraction)),
            int(spec.get("split_seed", cls.seed)),
            str(spec.get("split_by", cls.by)),
        )


@dataclass(frozen=True)
class SplitResult:
    """Which part each frame went to, and how the split was made.

    Attributes:
        parts: Part name (``train``/``val``/``test``) per input frame, in input order.
        by: ``"video"`` or ``"frame"`` (what ``auto`` resolved to).
        groups: Videos per part (empty lists for a split by frame).
    """

    parts: tuple[str, ...]
    by: str
    groups: dict[str, list[str]]

    def counts(self) -> dict[str, int]:
        """Frames per part."""
        return {p: self.parts.count(p) for p in PARTS}

    def describe(self) -> str:
        """One line for logs and reports, e.g. ``by frame (1 video): train 82, val 17, test 17``."""
        counts = ", ".join(f"{p} {n}" for p, n in self.counts().items() if n or p != "test")
        if self.by == "frame":
            return f"by frame: {counts}"
        videos = "; ".join(f"{p} {', '.join(g)}" for p, g in self.groups.items() if g)
        return f"by video: {counts} ({videos})"


def _counts(n: int, plan: SplitPlan) -> tuple[int, int]:
    """(val, test) sizes of a frame split: rounded, at least one each, at least one left to train."""
    n_val = max(round(plan.val_fraction * n), 1)
    n_test = max(round(plan.test_fraction * n), 1) if plan.test_fraction > 0 else 0
    if n_val + n_test > n - 1:
        raise ValueError(f"cannot split {n} labelled frame(s) into train, val and test")
    return n_val, n_test


def split_frames_by_group(groups: Sequence[str], plan: SplitPlan) -> SplitResult:
    """Split frames whose video (any hashable name) is ``groups[i]``.

    By frame, a seeded permutation: its first ``round(val_fraction * n)`` frames go to val, the
    next ``round(test_fraction * n)`` to test (with no test part this is the DeepLabCut
    importer's split, frame for frame). By video, the videos in seeded order fill test, then
    val, each until it holds its share of the frames (at least one video each); the rest train.

    Raises:
        ValueError: Too few frames (or, with ``by="video"``, too few videos) for every part.
    """
    n = len(groups)
    names = sorted(set(groups))
    needed = 3 if plan.test_fraction > 0 else 2
    by = plan.by
    if by == "auto":
        by = "video" if len(names) >= needed else "frame"
    if by == "frame":
        n_val, n_test = _counts(n, plan)
        order = np.random.default_rng(plan.seed).permutation(n)
        parts = ["train"] * n
        for rank, i in enumerate(order[: n_val + n_test]):
            parts[int(i)] = "val" if rank < n_val else "test"
        return SplitResult(tuple(parts), "frame", {p: [] for p in PARTS})
    if len(names) < needed:
        raise ValueError(f"split_by video needs {needed} videos (train, val{', test' if needed == 3 else ''}); "
                         f"the project has {len(names)}: {names}")  # fmt: skip
    sizes = {g: 0 for g in names}
    for g in groups:
        sizes[g] += 1
    order = [names[i] for i in np.random.default_rng(plan.seed).permutation(len(names))]
    assigned: dict[str, list[str]] = {p: [] for p in PARTS}
    targets = [("test", plan.test_fraction * n), ("val", plan.val_fraction * n)] if needed == 3 else [
        ("val", plan.val_fraction * n)]  # fmt: skip
    queue = list(order)
    for part, target in targets:
        while queue and (not assigned[part] or sum(sizes[g] for g in assigned[part]) < target):
            if len(queue) == 1:  # keep the last video for training
                break
            assigned[part].append(queue.pop(0))
    assigned["train"] = queue
    part_of = {g: p for p, gs in assigned.items() for g in gs}
    return SplitResult(tuple(part_of[g] for g in groups), "video", {p: sorted(g) for p, g in assigned.items()})


def video_of(file_name: str) -> str:
    """The video a labelled frame belongs to: its folder (``labeled-data/<video>/img.png`` -> ``<video>``)."""
    return PurePosixPath(str(file_name).replace("\\", "/")).parent.name


def split_coco(coco: dict[str, Any], plan: SplitPlan) -> tuple[dict[str, dict[str, Any]], SplitResult]:
    """Split a COCO-keypoint dataset by its images' folders (videos) into train/val/test datasets.

    Images are taken in ``id`` order, so the split does not depend on the file's order.

    Returns:
        ``{part: dataset}`` (same ``info`` and ``categories``; images and their annotations of
        that part) and the :class:`SplitResult`.
    """
    images = sorted(coco["images"], key=lambda im: int(im["id"]))
    result = split_frames_by_group([video_of(im["file_name"]) for im in images], plan)
    part_of = {int(im["id"]): p for im, p in zip(images, result.parts, strict=True)}
    out = {}
    for part in PARTS:
        out[part] = {
            **{k: v for k, v in coco.items() if k not in ("images", "annotations")},
            "images": [im for im in images if part_of[int(im["id"])] == part],
            "annotations": [a for a in coco["annotations"] if part_of.get(int(a["image_id"])) == part],
        }
    return out, result
