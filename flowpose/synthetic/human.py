"""A person figure in the COCO-17 layout: proportions, clothing, walking gait."""

from __future__ import annotations

import math

import numpy as np

from flowpose.meta import load_layout
from flowpose.synthetic.figures import Color, Part, make_owner_table, make_texture, silhouette

# Pose degrees of freedom, in the order of the ``offsets`` vector (radians).
HUMAN_DOFS = (
    "thigh_l", "thigh_r", "knee_l", "knee_r", "arm_swing_l", "arm_swing_r",
    "arm_abduct_l", "arm_abduct_r", "elbow_l", "elbow_r", "lean", "head_turn",
)  # fmt: skip
_EXTRA_JOINTS = (
    "head", "hair", "neck_base", "hand_l", "hand_r", "toe_l", "toe_r",
    "shoulder_out_a", "shoulder_out_b", "hip_out_a", "hip_out_b",
)  # fmt: skip
_SKIN = ((185, 205, 240), (150, 175, 225), (110, 140, 195), (75, 105, 155), (50, 70, 105))
_HAIR = ((20, 20, 25), (30, 50, 80), (60, 110, 170), (150, 150, 150), (40, 40, 110))


def _random_color(rng: np.random.Generator, lo: int = 30, hi: int = 230) -> Color:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def _shade(color: Color, factor: float) -> Color:
    return tuple(int(min(255, c * factor)) for c in color)  # type: ignore[return-value]


class HumanFigure:
    """One person: fixed proportions and clothes, posed per frame.

    Body units: the standing height is 1.0.

    Args:
        rng: Source of the individual's random proportions and colours.
    """

    label = "person"
    num_dofs = len(HUMAN_DOFS)
    stride = 0.75  # body heights travelled per gait cycle at full amplitude
    height = 1.0

    def __init__(self, rng: np.random.Generator) -> None:
        self.layout = load_layout("coco17")
        names = (*self.layout.keypoint_names, *_EXTRA_JOINTS)
        self._j = {n: i for i, n in enumerate(names)}
        self.keypoint_joints = np.arange(self.layout.num_keypoints)
        u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
        leg, width = u(0.94, 1.06), u(0.85, 1.2)
        self.thigh, self.shin, self.ankle_h = 0.245 * leg, 0.235 * leg, 0.04
        self.torso, self.neck, self.head_r = 0.29 * u(0.95, 1.05), 0.035, 0.062 * u(0.92, 1.1)
        self.shoulder_half, self.hip_half = 0.11 * width, 0.075 * width
        self.chest_half, self.pelvis_half, self.body_depth = 0.125 * width, 0.1 * u(0.9, 1.25), 0.065 * width
        self.upper_arm, self.forearm, self.hand = 0.17, 0.15, 0.045
        self.texture = make_texture(rng)
        self.parts = self._make_parts(rng, width)
        self.owner_table = make_owner_table(self.parts, self.layout.num_keypoints)

    def sample_offsets(self, rng: np.random.Generator, wild: bool = False) -> np.ndarray:
        """Random style offsets (see :data:`HUMAN_DOFS`); ``wild`` spans unusual poses too."""
        o = rng.normal(0.0, 0.08, self.num_dofs)
        o[11] = rng.normal(0.0, 0.5)  # head turn
        o[6:8] = np.abs(o[6:8])
        if wild:
            o[0:2] = rng.uniform(-0.5, 1.4, 2)  # kicks, steps, sitting-like thighs
            o[2:4] = rng.uniform(0.0, 1.8, 2)
            o[4:6] = rng.uniform(-0.8, 2.6, 2)  # arms forward, up, back
            o[6:8] = rng.uniform(0.0, 1.6, 2)
            o[8:10] = rng.uniform(0.0, 2.2, 2)
            o[10] = rng.uniform(-0.2, 0.7)
        elif rng.random() < 0.25:
            side = int(rng.integers(2))
            o[6 + side] = rng.uniform(1.2, 2.6)  # an arm raised (waving, pointing)
            o[8 + side] = rng.uniform(0.0, 1.5)
        return o

    def _make_parts(self, rng: np.random.Generator, width: float) -> tuple[Part, ...]:
        j, k = self._j, self.layout.index
        skin = _SKIN[int(rng.integers(len(_SKIN)))]
        shirt, pants = _random_color(rng), _random_color(rng, 20, 170)
        shoes, hair = _random_color(rng, 10, 90), _HAIR[int(rng.integers(len(_HAIR)))]
        sleeves = shirt if rng.random() < 0.5 else skin
        legs = pants if rng.random() < 0.8 else skin
        r = width
        parts = [
            Part((j["shoulder_out_a"], j["hip_out_a"], j["hip_out_b"], j["shoulder_out_b"]), color=shirt,
                 owners=(k("left_shoulder"), k("right_shoulder"), k("left_hip"), k("right_hip")), textured=True),
            Part((j["neck_base"], j["head"]), (0.028 * r, 0.028 * r), skin, depth_bias=-0.01),
            Part((j["hair"], j["hair"]), (self.head_r * 1.02,) * 2, hair,  # type: ignore[arg-type]
                 owners=(k("left_ear"), k("right_ear"))),
            Part((j["head"], j["head"]), (self.head_r,) * 2, skin,  # type: ignore[arg-type]
                 owners=tuple(k(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")),
                 depth_bias=-0.02),
            Part((j["nose"], j["nose"]), (0.011, 0.011), _shade(skin, 0.8), owners=(k("nose"),), depth_bias=-0.03),
        ]
        for side, sign in (("left", 1), ("right", -1)):
            s = side[0]
            far = 1.0 if sign > 0 else 0.93  # a touch of shading tells the two sides apart
            parts += [
                Part((j[f"{side}_eye"], j[f"{side}_eye"]), (0.009, 0.009), (40, 30, 30),
                     owners=(k(f"{side}_eye"),), depth_bias=-0.03),
                Part((j[f"{side}_shoulder"], j[f"{side}_elbow"]), (0.042 * r, 0.033 * r), _shade(shirt, far),
                     owners=(k(f"{side}_shoulder"), k(f"{side}_elbow")), textured=sleeves == shirt),
                Part((j[f"{side}_elbow"], j[f"{side}_wrist"]), (0.032 * r, 0.026), _shade(sleeves, far),
                     owners=(k(f"{side}_elbow"), k(f"{side}_wrist")), textured=sleeves == shirt),
                Part((j[f"{side}_wrist"], j[f"hand_{s}"]), (0.025, 0.022), _shade(skin, far),
                     owners=(k(f"{side}_wrist"),)),
                Part((j[f"{side}_hip"], j[f"{side}_knee"]), (0.062 * r, 0.045), _shade(pants, far),
                     owners=(k(f"{side}_hip"), k(f"{side}_knee")), depth_bias=0.01),
                Part((j[f"{side}_knee"], j[f"{side}_ankle"]), (0.043, 0.032), _shade(legs, far),
                     owners=(k(f"{side}_knee"), k(f"{side}_ankle"))),
                Part((j[f"{side}_ankle"], j[f"toe_{s}"]), (0.03, 0.024), shoes, owners=(k(f"{side}_ankle"),)),
            ]
        return tuple(parts)

    def pose(
        self, phase: float, amplitude: float, offsets: np.ndarray, t: float, yaw: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pose the person (see :meth:`flowpose.synthetic.figures.FigureModel.pose`)."""
        o = [float(v) for v in offsets]
        a = amplitude
        pts: dict[str, tuple[float, float, float]] = {}
        pelvis_u = self.thigh + self.shin + self.ankle_h
        for side, sign, ph, i in (("left", 1, phase, 0), ("right", -1, phase + math.pi, 1)):
            s = side[0]
            thigh = 0.42 * a * math.sin(ph) + o[i]
            # The knee bends most in early swing and stays nearly straight while in stance.
            knee = 0.08 + a * 1.05 * max(0.0, math.cos(ph + 0.4)) ** 2 + max(0.0, o[2 + i])
            hip = (sign * self.hip_half, pelvis_u, 0.0)
            kn = (hip[0] + sign * 0.01, hip[1] - self.thigh * math.cos(thigh), self.thigh * math.sin(thigh))
            shin_angle = thigh - knee
            an = (kn[0], kn[1] - self.shin * math.cos(shin_angle), kn[2] + self.shin * math.sin(shin_angle))
            pts[f"{side}_hip"], pts[f"{side}_knee"], pts[f"{side}_ankle"] = hip, kn, an
            pts[f"toe_{s}"] = (an[0], an[1] - 0.025, an[2] + 0.065)
        top = pelvis_u + self.torso
        upper: dict[str, tuple[float, float, float]] = {"neck_base": (0.0, top, 0.0)}
        for side, sign, ph, i in (("left", 1, phase, 0), ("right", -1, phase + math.pi, 1)):
            s = side[0]
            swing = -0.35 * a * math.sin(ph) + o[4 + i]
            abduct = 0.1 + o[6 + i]
            elbow_flex = 0.15 + 0.3 * a + max(0.0, o[8 + i])
            sh = (sign * self.shoulder_half, top - 0.025, 0.0)
            el = _along(sh, sign, abduct, swing, self.upper_arm)
            wr = _along(el, sign, abduct, swing + elbow_flex, self.forearm)
            upper[f"{side}_shoulder"], upper[f"{side}_elbow"], upper[f"{side}_wrist"] = sh, el, wr
            upper[f"hand_{s}"] = _along(wr, sign, abduct, swing + elbow_flex, self.hand)
        for tag, (half, u_level) in (("shoulder", (self.chest_half, top - 0.01)), ("hip", (self.pelvis_half, pelvis_u - 0.03))):
            sl, sf = silhouette(half, self.body_depth, yaw)
            store = upper if tag == "shoulder" else pts
            store[f"{tag}_out_a"], store[f"{tag}_out_b"] = (sl, u_level, sf), (-sl, u_level, -sf)
        # The head: turning it rotates the face points about the vertical axis.
        hc = (0.0, top + self.neck + self.head_r, 0.012)
        upper["head"] = hc
        turn = o[11]
        face = {
            "nose": (0.0, -0.15, 1.05), "left_eye": (0.38, 0.2, 0.86), "right_eye": (-0.38, 0.2, 0.86),
            "left_ear": (0.98, 0.02, -0.08), "right_ear": (-0.98, 0.02, -0.08), "hair": (0.0, 0.22, -0.3),
        }  # fmt: skip
        normals = np.zeros((self.layout.num_keypoints, 3))
        for name, (fl, fu, ff) in face.items():
            rl, rf = fl * math.cos(turn) + ff * math.sin(turn), -fl * math.sin(turn) + ff * math.cos(turn)
            upper[name] = (hc[0] + rl * self.head_r, hc[1] + fu * self.head_r, hc[2] + rf * self.head_r)
            if name != "hair":
                normals[self.layout.index(name)] = (rl, 0.0, rf)
        # Leaning bends the upper body forward about the pelvis.
        lean, cl, sl_ = o[10], math.cos(o[10]), math.sin(o[10])
        for name, (pl, pu, pf) in upper.items():
            du = pu - pelvis_u
            pts[name] = (pl, pelvis_u + du * cl - pf * sl_, pf * cl + du * sl_) if lean else (pl, pu, pf)
        joints = np.zeros((len(self._j), 3))
        for name, p in pts.items():
            joints[self._j[name]] = p
        ground = min(joints[self._j[n], 1] for n in ("left_ankle", "right_ankle", "toe_l", "toe_r"))
        joints[:, 1] -= ground - 0.025
        return joints, normals


def _along(start: tuple[float, float, float], sign: int, abduct: float, swing: float, length: float) -> tuple[
    float, float, float
]:
    """Point at ``length`` from ``start`` along an arm direction: sideways ``abduct``, forward ``swing``."""
    ca = math.cos(abduct)
    return (
        start[0] + sign * length * math.sin(abduct),
        start[1] - length * ca * math.cos(swing),
        start[2] + length * ca * math.sin(swing),
    )
