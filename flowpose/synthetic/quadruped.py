"""Four-legged animals (dog, cat, horse) in the AP-10K layout: proportions, coats, walking gait."""

from __future__ import annotations

import math

import numpy as np

from flowpose.meta import load_layout
from flowpose.synthetic.appearance import make_texture
from flowpose.synthetic.figures import make_owner_table
from flowpose.synthetic.parts import quadruped_parts
from flowpose.synthetic.species import SPECIES

QUADRUPED_DOFS = (
    "upper_lf", "upper_rf", "upper_lh", "upper_rh", "flex_lf", "flex_rf", "flex_lh", "flex_rh",
    "neck_elevation", "head_pitch", "head_turn", "tail_elevation", "tail_wag", "back_tilt",
)  # fmt: skip
_EXTRA_JOINTS = (
    "body_front", "body_back", "skull", "tail_mid", "tail_tip",
    "ear_l_a", "ear_l_b", "ear_l_tip", "ear_r_a", "ear_r_b", "ear_r_tip",
)  # fmt: skip
# Walking gait: each leg's phase lag (radians) behind the left hind leg.
_GAIT_LAG = {"L_B": 0.0, "L_F": math.pi / 2, "R_B": math.pi, "R_F": 3 * math.pi / 2}


class QuadrupedFigure:
    """One animal of a species: fixed proportions and coat, posed per frame.

    Args:
        rng: Source of the individual's variations.
        species: A key of :data:`SPECIES`.
    """

    num_dofs = len(QUADRUPED_DOFS)

    def __init__(self, rng: np.random.Generator, species: str) -> None:
        if species not in SPECIES:
            raise ValueError(f"unknown species {species!r}; known: {sorted(SPECIES)}")
        sp = SPECIES[species]
        self.species, self.label = sp, sp.label
        self.layout = load_layout("ap10k")
        names = (*self.layout.keypoint_names, *_EXTRA_JOINTS)
        self._j = {n: i for i, n in enumerate(names)}
        self.keypoint_joints = np.arange(self.layout.num_keypoints)
        self._legs = float(rng.uniform(0.88, 1.12))  # leggy or stocky individuals
        self._girth = float(rng.uniform(0.85, 1.15))
        self.stride, self.height = sp.stride, sp.front_leg[0] + sp.front_leg[1] + 2 * sp.body_radius
        self.texture = make_texture(rng) if species != "horse" or rng.random() < 0.3 else None
        self.parts = quadruped_parts(rng, self._j, self.layout, self.species, self._girth)
        self.owner_table = make_owner_table(self.parts, self.layout.num_keypoints)

    def sample_offsets(self, rng: np.random.Generator, wild: bool = False) -> np.ndarray:
        """Random style offsets (see :data:`QUADRUPED_DOFS`); ``wild`` spans unusual poses too."""
        o = rng.normal(0.0, 0.06, self.num_dofs)
        o[8:13] = rng.normal(0.0, (0.2, 0.15, 0.35, 0.3, 0.3))
        o[13] = rng.normal(0.0, 0.03)
        if rng.random() < 0.15:
            o[8] = rng.uniform(-1.6, -0.9)  # head down: grazing, sniffing
        if wild:
            o[0:4] = rng.uniform(-0.6, 0.6, 4)
            o[4:8] = rng.uniform(0.0, 1.4, 4)
            o[10] = rng.uniform(-1.2, 1.2)
            o[13] = rng.uniform(-0.25, 0.5) if rng.random() < 0.3 else o[13]
        return o

    def pose(
        self, phase: float, amplitude: float, offsets: np.ndarray, t: float, yaw: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pose the animal (see :meth:`flowpose.synthetic.figures.FigureModel.pose`)."""
        sp, o, a = self.species, [float(v) for v in offsets], amplitude
        fl = tuple(x * self._legs for x in sp.front_leg)
        hl = tuple(x * self._legs for x in sp.hind_leg)
        hs, hh, br = fl[0] + fl[1], (hl[0] + hl[1]) * 0.93, sp.body_radius * self._girth
        p: dict[str, tuple[float, float, float]] = {}
        for i, (leg, lengths, front) in enumerate(
            (("L_F", fl, True), ("R_F", fl, True), ("L_B", hl, False), ("R_B", hl, False))
        ):
            sign = 1.0 if leg[0] == "L" else -1.0
            ph = phase - _GAIT_LAG[leg]
            # Paws lift (the lower leg folds back) during the swing half of the cycle.
            flex = a * 0.9 * max(0.0, math.cos(ph + 0.4)) ** 2 + max(0.0, o[4 + i])
            upper = (-0.1 if front else 0.3) + a * 0.38 * math.sin(ph) + o[i]
            lower = upper + (0.15 - flex if front else -0.75 - 0.6 * flex)
            top = (sign * sp.half_width, hs if front else hh, 0.5 if front else -0.5)
            mid = (top[0], top[1] - lengths[0] * math.cos(upper), top[2] + lengths[0] * math.sin(upper))
            paw = (
                mid[0] * 0.95,
                mid[1] - lengths[1] * math.cos(lower),
                mid[2] + lengths[1] * math.sin(lower),
            )
            names = ("Shoulder", "Elbow", "F_Paw") if front else ("Hip", "Knee", "B_Paw")
            for name, point in zip(names, (top, mid, paw), strict=True):
                p[f"{leg[0]}_{name}"] = point
        p["body_front"], p["body_back"] = (0.0, hs + 0.55 * br, 0.55), (0.0, hh + 0.55 * br, -0.55)
        neck = (0.0, hs + 1.05 * br, 0.55 + 0.25 * br)
        p["Neck"] = neck
        p["Root of tail"] = (0.0, hh + 1.1 * br, -0.55 - 0.55 * br)
        bob = 0.04 * a * math.sin(2 * phase)
        elev, pitch = sp.neck_elevation + o[8] + bob, sp.head_pitch + o[9]
        skull = (0.0, neck[1] + sp.neck * math.sin(elev), neck[2] + sp.neck * math.cos(elev))
        head = {
            "skull": skull,
            "Nose": (0.0, skull[1] - sp.head * math.sin(pitch), skull[2] + sp.head * math.cos(pitch)),
        }
        sr, hd = sp.skull_radius, (math.cos(pitch), math.sin(pitch))
        for side, sign in (("L", 1.0), ("R", -1.0)):
            s = side.lower()
            head[f"{side}_Eye"] = (
                sign * 0.6 * sr,
                skull[1] - 0.3 * sp.head * hd[1] + 0.45 * sr,
                skull[2] + 0.3 * sp.head * hd[0],
            )
            ear_base = (sign * 0.55 * sr, skull[1] + 0.6 * sr, skull[2] - 0.1 * sr)
            head[f"ear_{s}_a"] = (ear_base[0], ear_base[1], ear_base[2] + 0.45 * sr)
            head[f"ear_{s}_b"] = (ear_base[0], ear_base[1], ear_base[2] - 0.45 * sr)
            lift = (sign * 0.3, 1.0, -0.25) if sp.pointy_ears else (sign * 0.6, -0.75, -0.1)
            head[f"ear_{s}_tip"] = tuple(b + sp.ear * d for b, d in zip(ear_base, lift, strict=True))  # type: ignore[assignment]
        turn, ct, st = o[10], math.cos(o[10]), math.sin(o[10])
        for name, (pl, pu, pf) in head.items():
            dl, df = pl - neck[0], pf - neck[2]  # turn the whole head about the neck base
            p[name] = (neck[0] + dl * ct + df * st, pu, neck[2] - dl * st + df * ct)
        wag = o[12] + (0.5 if sp.label == "dog" else 0.15) * math.sin(2 * math.pi * 1.5 * t)
        tel = sp.tail_elevation + o[11]
        root = p["Root of tail"]
        p["tail_mid"] = _tail(root, 0.5 * sp.tail, tel, wag)
        p["tail_tip"] = _tail(p["tail_mid"], 0.5 * sp.tail, tel - (0.6 if sp.label == "cat" else 0.3), 1.5 * wag)
        joints = np.zeros((len(self._j), 3))
        ct, st = math.cos(o[13]), math.sin(o[13])
        for name, (pl, pu, pf) in p.items():
            # Tilting the back (rearing up, sniffing down) rotates everything about the hips' height.
            joints[self._j[name]] = (pl, hh + (pu - hh) * ct + pf * st, pf * ct - (pu - hh) * st)
        paws = [self._j[n] for n in ("L_F_Paw", "R_F_Paw", "L_B_Paw", "R_B_Paw")]
        joints[:, 1] -= joints[paws, 1].min() - 0.6 * sp.leg_radius
        normals = np.zeros((self.layout.num_keypoints, 3))
        for side, sign in (("L", 1.0), ("R", -1.0)):
            normals[self.layout.index(f"{side}_Eye")] = (sign * 0.8, 0.0, 0.6)
        normals[:, [0, 2]] = normals[:, [0, 2]] @ np.array(
            [[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]]
        )
        return joints, normals


def _tail(start: tuple[float, float, float], length: float, elevation: float, wag: float) -> tuple[float, float, float]:
    """Tail segment end: backwards, raised by ``elevation``, swung sideways by ``wag``."""
    ce = math.cos(elevation)
    return (start[0] + length * ce * math.sin(wag), start[1] + length * math.sin(elevation),
            start[2] - length * ce * math.cos(wag))  # fmt: skip
