"""Synthetic people or animals (``flowpose.synthetic``) as a :class:`PoseSource`.

Training sources render a new random image per sample (the loop's seeded generator decides
it), so every epoch sees new poses, views and backgrounds; ``fixed`` sources (validation)
render sample ``i`` from ``(seed, i)``, the same images every time. Rendering a 320x240
image costs ~2 ms on one core: fast enough to render on the fly in DataLoader workers (see
``flowpose train --bench``), so there is no cache to go stale.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowpose.meta import KeypointLayout, load_layout
from flowpose.synthetic import SceneConfig, SceneFrame, SyntheticScene, render_sample
from flowpose.trainer.data.records import PoseInstance

__all__ = ["SyntheticPoseSource", "SyntheticSpec"]

KINDS = {"person": "coco17", "animal": "ap10k"}
_MEMO_BYTES = 64 << 20
_SCENE_SKIP = 12  # frames skipped into a scene: 0..11 (moved on, not drawn)
_DEFAULT_COUNTS = {
    "person": {"num_people": (1, 2), "num_animals": (0, 1)},
    "animal": {"num_people": (0, 1), "num_animals": (1, 2)},
}


@dataclass(frozen=True)
class SyntheticSpec:
    """What to render.

    Attributes:
        kind: ``"person"`` (COCO-17 keypoints) or ``"animal"`` (AP-10K keypoints).
        num_samples: Samples per epoch (training) or in the set (validation).
        seed: Seed of a fixed set (ignored by training sources, which use the loop's RNG).
        fixed: Sample ``i`` is always the same image (validation).
        min_keypoints: Figures with fewer labelled (in-image) keypoints are not picked.
        scene_fraction: Share of samples taken from a frame of a :class:`SyntheticScene` video
            (walking figures, as the ``SyntheticScene`` node and the demo graph show them)
            instead of :func:`render_sample`'s independent images (wider, "wild" poses, crowds).
        scene: Overrides of :class:`flowpose.synthetic.SceneConfig` (``width``, ``height``,
            ``species``, ``num_occluders``, ``lighting``...); figure counts default to 1-2 of
            ``kind`` plus 0-1 distractor of the other kind.
    """

    kind: str
    num_samples: int
    seed: int = 0
    fixed: bool = False
    min_keypoints: int = 4
    scene_fraction: float = 0.0
    scene: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"synthetic kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if not isinstance(self.num_samples, int) or self.num_samples < 1:
            raise ValueError(f"synthetic num_samples must be an integer >= 1, got {self.num_samples!r}")
        if not 0.0 <= self.scene_fraction <= 1.0:
            raise ValueError(f"synthetic scene_fraction must be in [0, 1], got {self.scene_fraction!r}")

    def scene_config(self) -> SceneConfig:
        known = {f.name for f in dataclasses.fields(SceneConfig)}
        unknown = sorted(set(self.scene) - known)
        if unknown:
            raise ValueError(f"unknown synthetic scene key(s) {unknown}; known: {sorted(known)}")
        params: dict[str, Any] = {"width": 320, "height": 240, **_DEFAULT_COUNTS[self.kind], **self.scene}
        return SceneConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})


class SyntheticPoseSource:
    """Samples of one figure kind from rendered scenes (one instance per sample)."""

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec
        self.layout: KeypointLayout = load_layout(KINDS[spec.kind])
        self.config = spec.scene_config()
        if spec.kind == "person" and self.config.num_people[1] == 0:
            raise ValueError("synthetic kind 'person' needs scene.num_people > 0")
        if spec.kind == "animal" and self.config.num_animals[1] == 0:
            raise ValueError("synthetic kind 'animal' needs scene.num_animals > 0")
        # A fixed set renders each sample once and keeps it, within a memory budget.
        self._memo: dict[int, tuple[np.ndarray, PoseInstance]] = {}
        self._memo_ok = spec.num_samples * self.config.width * self.config.height * 3 <= _MEMO_BYTES

    def __len__(self) -> int:
        return self.spec.num_samples

    def get(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, PoseInstance]:
        if not self.spec.fixed:
            return self._render(index, rng)
        if index not in self._memo:
            sample = self._render(index, np.random.default_rng([self.spec.seed, index]))
            if self._memo_ok:
                self._memo[index] = sample
            return sample
        return self._memo[index]

    def _render(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, PoseInstance]:
        wanted = KINDS[self.spec.kind]
        for _ in range(100):
            frame = (
                self._scene_frame(rng) if rng.random() < self.spec.scene_fraction else render_sample(rng, self.config)
            )
            h, w = frame.image.shape[:2]
            picks = [o for o in frame.objects if o.layout == wanted and self._enough(o.keypoints, o.visibility, w, h)]
            if picks:
                obj = picks[int(rng.integers(len(picks)))]
                x1, y1, x2, y2 = (float(v) for v in obj.bbox)
                return frame.image, PoseInstance(
                    bbox=obj.bbox,
                    keypoints=obj.keypoints,
                    visibility=obj.visibility.astype(np.float32),
                    area=max(x2 - x1, 1.0) * max(y2 - y1, 1.0),
                    image_id=index,
                    label=obj.label,
                )
        raise RuntimeError(f"no {self.spec.kind} with >= {self.spec.min_keypoints} keypoints in 100 renders")

    def _scene_frame(self, rng: np.random.Generator) -> SceneFrame:
        """A frame a few steps into a new scene (the first frames already show figures mid-stride)."""
        scene = SyntheticScene(dataclasses.replace(self.config, seed=int(rng.integers(2**31)), num_frames=None))
        scene.skip(int(rng.integers(0, _SCENE_SKIP)))
        return next(scene)

    def _enough(self, keypoints: np.ndarray, visibility: np.ndarray, w: int, h: int) -> bool:
        inside = (
            (keypoints[:, 0] >= 0) & (keypoints[:, 0] <= w - 1) & (keypoints[:, 1] >= 0) & (keypoints[:, 1] <= h - 1)
        )
        return int(((visibility > 0) & inside).sum()) >= self.spec.min_keypoints
