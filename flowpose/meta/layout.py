"""Keypoint layouts (dataset meta): names, skeleton, colours, flip pairs, OKS sigmas.

One :class:`KeypointLayout` describes everything the trainer (flip augmentation, OKS,
half-body crops), the nodes (drawing, OKS tracking) and the model cards need to know about
a set of keypoints. Layouts are data, not code: the built-ins live as YAML files next to
this module and users add their own files in the same format (see ``data/coco17.yaml``).

File format (names are used everywhere a keypoint is referenced, so files stay readable)::

    name: my_layout
    keypoints:
      - {name: nose, color: [255, 128, 0], sigma: 0.026, weight: 1.0, half: upper}
      ...
    flip_pairs: [[left_eye, right_eye], ...]
    skeleton:
      - {link: [left_ankle, left_knee], color: [0, 255, 0]}
      ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Color = tuple[int, int, int]
Pair = tuple[int, int]


@dataclass(frozen=True)
class KeypointLayout:
    """A keypoint layout: what the K keypoints of a dataset are and how they relate.

    Attributes:
        name: Short identifier, e.g. ``"coco17"``; this is what instances and model cards store.
        keypoint_names: K unique names, in model output order.
        skeleton: Links to draw, as pairs of keypoint indices.
        keypoint_colors: K colours, BGR 0-255, for drawing keypoints.
        link_colors: One BGR colour per skeleton link.
        flip_pairs: Pairs of indices that swap under a horizontal flip (left/right).
        sigmas: K per-keypoint OKS falloff constants (COCO convention, fraction of scale).
        joint_weights: K non-negative loss weights.
        upper_body_ids: Indices used by the half-body augmentation's upper half (may be empty).
        lower_body_ids: Indices of the lower half (may be empty).
    """

    name: str
    keypoint_names: tuple[str, ...]
    skeleton: tuple[Pair, ...]
    keypoint_colors: tuple[Color, ...]
    link_colors: tuple[Color, ...]
    flip_pairs: tuple[Pair, ...]
    sigmas: tuple[float, ...]
    joint_weights: tuple[float, ...]
    upper_body_ids: tuple[int, ...] = ()
    lower_body_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Normalise to hashable tuples first, so callers may pass lists or arrays.
        norm = {
            "keypoint_names": tuple(str(n) for n in self.keypoint_names),
            "skeleton": tuple((int(a), int(b)) for a, b in self.skeleton),
            "keypoint_colors": tuple(_color(c, f"keypoint_colors[{i}]") for i, c in enumerate(self.keypoint_colors)),
            "link_colors": tuple(_color(c, f"link_colors[{i}]") for i, c in enumerate(self.link_colors)),
            "flip_pairs": tuple((int(a), int(b)) for a, b in self.flip_pairs),
            "sigmas": tuple(float(s) for s in self.sigmas),
            "joint_weights": tuple(float(w) for w in self.joint_weights),
            "upper_body_ids": tuple(int(i) for i in self.upper_body_ids),
            "lower_body_ids": tuple(int(i) for i in self.lower_body_ids),
        }
        for key, value in norm.items():
            object.__setattr__(self, key, value)
        self._validate()

    def _validate(self) -> None:
        where = f"keypoint layout {self.name!r}"
        if not self.name:
            raise ValueError("keypoint layout: name must not be empty")
        k = len(self.keypoint_names)
        if k == 0:
            raise ValueError(f"{where}: needs at least one keypoint")
        dupes = sorted({n for n in self.keypoint_names if self.keypoint_names.count(n) > 1})
        if dupes:
            raise ValueError(f"{where}: duplicate keypoint names {dupes}")
        for field_name in ("keypoint_colors", "sigmas", "joint_weights"):
            n = len(getattr(self, field_name))
            if n != k:
                raise ValueError(f"{where}: {field_name} has {n} entries, expected {k} (one per keypoint)")
        if len(self.link_colors) != len(self.skeleton):
            raise ValueError(
                f"{where}: link_colors has {len(self.link_colors)} entries, "
                f"expected {len(self.skeleton)} (one per skeleton link)"
            )
        for field_name in ("skeleton", "flip_pairs"):
            for a, b in getattr(self, field_name):
                if not (0 <= a < k and 0 <= b < k):
                    raise ValueError(f"{where}: {field_name} pair ({a}, {b}) out of range for {k} keypoints")
                if a == b:
                    raise ValueError(f"{where}: {field_name} pair ({a}, {b}) joins a keypoint to itself")
        seen: dict[int, Pair] = {}
        for pair in self.flip_pairs:
            for i in pair:
                if i in seen:
                    # A keypoint in two pairs would make the flip permutation ambiguous.
                    raise ValueError(f"{where}: keypoint {i} appears in flip pairs {seen[i]} and {pair}")
                seen[i] = pair
        if any(s <= 0 for s in self.sigmas):
            raise ValueError(f"{where}: sigmas must all be > 0, got {list(self.sigmas)}")
        if any(w < 0 for w in self.joint_weights):
            raise ValueError(f"{where}: joint_weights must all be >= 0, got {list(self.joint_weights)}")
        for field_name in ("upper_body_ids", "lower_body_ids"):
            ids = getattr(self, field_name)
            bad = [i for i in ids if not 0 <= i < k]
            if bad:
                raise ValueError(f"{where}: {field_name} {bad} out of range for {k} keypoints")
        both = sorted(set(self.upper_body_ids) & set(self.lower_body_ids))
        if both:
            raise ValueError(f"{where}: keypoints {both} are in both upper_body_ids and lower_body_ids")

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints K."""
        return len(self.keypoint_names)

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation (K,) int64: ``flipped[:, i] = kpts[:, flip_index[i]]`` after a mirror."""
        index = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            index[a], index[b] = b, a
        return index

    @property
    def sigmas_array(self) -> np.ndarray:
        """OKS sigmas as a float32 array (K,)."""
        return np.asarray(self.sigmas, dtype=np.float32)

    @property
    def joint_weights_array(self) -> np.ndarray:
        """Joint weights as a float32 array (K,)."""
        return np.asarray(self.joint_weights, dtype=np.float32)

    def index(self, keypoint_name: str) -> int:
        """Index of ``keypoint_name``; raises a ``KeyError`` naming the known keypoints."""
        try:
            return self.keypoint_names.index(keypoint_name)
        except ValueError:
            raise KeyError(
                f"keypoint {keypoint_name!r} not in layout {self.name!r}; known: {list(self.keypoint_names)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The layout in the file format (names, not indices).

        :func:`flowpose.meta.layout_from_dict` inverts it.
        """
        names = self.keypoint_names
        upper, lower = set(self.upper_body_ids), set(self.lower_body_ids)
        keypoints = []
        for i, n in enumerate(names):
            entry: dict[str, Any] = {
                "name": n,
                "color": list(self.keypoint_colors[i]),
                "sigma": self.sigmas[i],
                "weight": self.joint_weights[i],
            }
            if i in upper or i in lower:
                entry["half"] = "upper" if i in upper else "lower"
            keypoints.append(entry)
        return {
            "name": self.name,
            "keypoints": keypoints,
            "flip_pairs": [[names[a], names[b]] for a, b in self.flip_pairs],
            "skeleton": [
                {"link": [names[a], names[b]], "color": list(c)}
                for (a, b), c in zip(self.skeleton, self.link_colors, strict=True)
            ],
        }


def _color(value: Any, what: str) -> Color:
    """Check and convert one BGR colour."""
    try:
        channels = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be 3 integers (B, G, R), got {value!r}") from None
    if len(channels) != 3 or any(not 0 <= v <= 255 for v in channels):
        raise ValueError(f"{what} must be 3 integers in 0..255 (B, G, R), got {value!r}")
    return channels  # type: ignore[return-value]
