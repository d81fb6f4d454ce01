"""Four-legged animals (dog, cat, horse) in the AP-10K layout: proportions, coats, walking gait."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flowpose.meta import load_layout
from flowpose.synthetic.figures import Color, Part, make_owner_table, make_texture

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


@dataclass(frozen=True)
class Species:
    """Proportions of a species, in body units (shoulder-to-hip distance = 1).

    Attributes:
        label: Class name.
        size: Body unit in person heights, so people and animals share one scale.
        front_leg: Upper and lower front leg lengths.
        hind_leg: Upper and lower hind leg lengths.
        body_radius: Half the trunk's height.
        half_width: Half the distance between left and right legs.
        neck: Neck length. neck_elevation: its angle above horizontal (radians).
        head: Skull-to-nose length. head_pitch: how far the muzzle points down (radians).
        skull_radius: Radius at the skull. muzzle_radius: radius at the nose.
        tail: Tail length. tail_radius: its thickness. tail_elevation: its angle (radians).
        ear: Ear length. pointy_ears: upright ears (cats, horses) or floppy (dogs).
        leg_radius: Thickness of the upper leg. stride: body units per gait cycle.
        coats: Typical coat colours, BGR.
    """

    label: str
    size: float
    front_leg: tuple[float, float]
    hind_leg: tuple[float, float]
    body_radius: float
    half_width: float
    neck: float
    neck_elevation: float
    head: float
    head_pitch: float
    skull_radius: float
    muzzle_radius: float
    tail: float
    tail_radius: float
    tail_elevation: float
    ear: float
    pointy_ears: bool
    leg_radius: float
    stride: float
    coats: tuple[Color, ...]


SPECIES: dict[str, Species] = {
    "dog": Species("dog", 0.38, (0.36, 0.36), (0.38, 0.37), 0.2, 0.1, 0.3, 0.9, 0.36, 0.35, 0.14, 0.065,
                   0.5, 0.035, 0.5, 0.14, False, 0.085, 1.3,
                   ((40, 80, 140), (20, 20, 20), (200, 210, 220), (60, 140, 200), (90, 90, 100))),
    "cat": Species("cat", 0.26, (0.27, 0.27), (0.3, 0.29), 0.16, 0.09, 0.17, 0.8, 0.2, 0.2, 0.11, 0.07,
                   0.85, 0.03, 0.9, 0.11, True, 0.07, 1.1,
                   ((40, 110, 220), (120, 120, 120), (25, 25, 25), (210, 215, 220), (70, 90, 120))),
    "horse": Species("horse", 0.55, (0.5, 0.55), (0.55, 0.55), 0.27, 0.14, 0.55, 0.95, 0.5, 1.1, 0.1, 0.07,
                     0.55, 0.06, -1.0, 0.09, True, 0.08, 1.4,
                     ((30, 60, 110), (20, 30, 60), (25, 25, 25), (180, 180, 185), (50, 100, 150))),
}  # fmt: skip


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
        self.parts = self._make_parts(rng)
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

    def _make_parts(self, rng: np.random.Generator) -> tuple[Part, ...]:
        sp, j, k = self.species, self._j, self.layout.index
        base = sp.coats[int(rng.integers(len(sp.coats)))]
        coat = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in base)
        dark = tuple(int(c * 0.55) for c in coat)
        far = tuple(int(c * 0.8) for c in coat)
        r, g = sp.leg_radius * self._girth, self._girth
        parts = [
            Part((j["body_front"], j["body_back"]), (sp.body_radius * g, sp.body_radius * g * 0.93), coat,
                 owners=tuple(k(n) for n in ("Neck", "Root of tail", "L_Shoulder", "R_Shoulder", "L_Hip", "R_Hip")),
                 textured=True),
            Part((j["Neck"], j["skull"]), (sp.body_radius * 0.6 * g, sp.skull_radius * 0.85), coat,
                 owners=(k("Neck"),), textured=True, depth_bias=-0.02),
            Part((j["skull"], j["Nose"]), (sp.skull_radius, sp.muzzle_radius), coat,
                 owners=(k("L_Eye"), k("R_Eye"), k("Nose")), depth_bias=-0.04),
            Part((j["Nose"], j["Nose"]), (sp.muzzle_radius * 0.55,) * 2, (30, 30, 40),  # type: ignore[arg-type]
                 owners=(k("Nose"),), depth_bias=-0.05),
            Part((j["Root of tail"], j["tail_mid"]), (sp.tail_radius * 1.2, sp.tail_radius), coat,
                 owners=(k("Root of tail"),), depth_bias=0.01),
            Part((j["tail_mid"], j["tail_tip"]), (sp.tail_radius, sp.tail_radius * 0.7), dark),
        ]
        for side in ("L", "R"):
            s = side.lower()
            parts.append(Part((j[f"ear_{s}_a"], j[f"ear_{s}_tip"], j[f"ear_{s}_b"]), color=dark, depth_bias=-0.03))
            parts.append(Part((j[f"{side}_Eye"],) * 2, (sp.skull_radius * 0.22,) * 2, (20, 20, 20),  # type: ignore[arg-type]
                              owners=(k(f"{side}_Eye"),), depth_bias=-0.05))
            for end, top, mid in (("F", "Shoulder", "Elbow"), ("B", "Hip", "Knee")):
                color = coat if side == "L" else far  # shade one side so the legs read apart
                paw, upper, joint = k(f"{side}_{end}_Paw"), k(f"{side}_{top}"), k(f"{side}_{mid}")
                parts += [
                    Part((j[f"{side}_{top}"], j[f"{side}_{mid}"]), (r * 1.25, r * 0.8), color,
                         owners=(upper, joint), textured=True),
                    Part((j[f"{side}_{mid}"], j[f"{side}_{end}_Paw"]), (r * 0.8, r * 0.6), color, owners=(joint, paw)),
                    Part((j[f"{side}_{end}_Paw"],) * 2, (r * 0.75,) * 2, dark, owners=(paw,)),  # type: ignore[arg-type]
                ]
        return tuple(parts)

    def pose(
        self, phase: float, amplitude: float, offsets: np.ndarray, t: float, yaw: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pose the animal (see :meth:`flowpose.synthetic.figures.FigureModel.pose`)."""
        sp, o, a = self.species, [float(v) for v in offsets], amplitude
        fl = tuple(x * self._legs for x in sp.front_leg)
        hl = tuple(x * self._legs for x in sp.hind_leg)
        hs, hh, br = fl[0] + fl[1], (hl[0] + hl[1]) * 0.93, sp.body_radius * self._girth
        p: dict[str, tuple[float, float, float]] = {}
        for i, (leg, lengths, front) in enumerate((("L_F", fl, True), ("R_F", fl, True), ("L_B", hl, False), ("R_B", hl, False))):
            sign = 1.0 if leg[0] == "L" else -1.0
            ph = phase - _GAIT_LAG[leg]
            # Paws lift (the lower leg folds back) during the swing half of the cycle.
            flex = a * 0.9 * max(0.0, math.cos(ph + 0.4)) ** 2 + max(0.0, o[4 + i])
            upper = (-0.1 if front else 0.3) + a * 0.38 * math.sin(ph) + o[i]
            lower = upper + (0.15 - flex if front else -0.75 - 0.6 * flex)
            top = (sign * sp.half_width, hs if front else hh, 0.5 if front else -0.5)
            mid = (top[0], top[1] - lengths[0] * math.cos(upper), top[2] + lengths[0] * math.sin(upper))
            paw = (mid[0] * 0.95, mid[1] - lengths[1] * math.cos(lower), mid[2] + lengths[1] * math.sin(lower))
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
        head = {"skull": skull, "Nose": (0.0, skull[1] - sp.head * math.sin(pitch), skull[2] + sp.head * math.cos(pitch))}
        sr, hd = sp.skull_radius, (math.cos(pitch), math.sin(pitch))
        for side, sign in (("L", 1.0), ("R", -1.0)):
            s = side.lower()
            head[f"{side}_Eye"] = (sign * 0.6 * sr, skull[1] - 0.3 * sp.head * hd[1] + 0.45 * sr, skull[2] + 0.3 * sp.head * hd[0])
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
        tilt, ct, st = o[13], math.cos(o[13]), math.sin(o[13])
        for name, (pl, pu, pf) in p.items():
            # Tilting the back (rearing up, sniffing down) rotates everything about the hips' height.
            joints[self._j[name]] = (pl, hh + (pu - hh) * ct + pf * st, pf * ct - (pu - hh) * st)
        paws = [self._j[n] for n in ("L_F_Paw", "R_F_Paw", "L_B_Paw", "R_B_Paw")]
        joints[:, 1] -= joints[paws, 1].min() - 0.6 * sp.leg_radius
        normals = np.zeros((self.layout.num_keypoints, 3))
        for side, sign in (("L", 1.0), ("R", -1.0)):
            normals[self.layout.index(f"{side}_Eye")] = (sign * 0.8, 0.0, 0.6)
        normals[:, [0, 2]] = normals[:, [0, 2]] @ np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
        return joints, normals


def _tail(start: tuple[float, float, float], length: float, elevation: float, wag: float) -> tuple[float, float, float]:
    """Tail segment end: backwards, raised by ``elevation``, swung sideways by ``wag``."""
    ce = math.cos(elevation)
    return (start[0] + length * ce * math.sin(wag), start[1] + length * math.sin(elevation),
            start[2] - length * ce * math.cos(wag))  # fmt: skip
