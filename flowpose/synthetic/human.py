"""A person figure in the COCO-17 layout: proportions, clothing, walking gait."""

from __future__ import annotations

import math

import numpy as np

from flowpose.meta import load_layout
from flowpose.synthetic.appearance import make_texture
from flowpose.synthetic.figures import make_owner_table, silhouette
from flowpose.synthetic.parts import human_parts

# Pose degrees of freedom, in the order of the ``offsets`` vector (radians).
HUMAN_DOFS = (
    "thigh_l", "thigh_r", "knee_l", "knee_r", "arm_swing_l", "arm_swing_r",
    "arm_abduct_l", "arm_abduct_r", "elbow_l", "elbow_r", "lean", "head_turn",
)  # fmt: skip
_EXTRA_JOINTS = (
    "head", "hair", "neck_base", "hand_l", "hand_r", "toe_l", "toe_r",
    "shoulder_out_a", "shoulder_out_b", "hip_out_a", "hip_out_b",
)  # fmt: skip


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
        self.parts = human_parts(rng, self._j, self.layout, self.head_r, width)
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
        for tag, (half, u_level) in (
            ("shoulder", (self.chest_half, top - 0.01)),
            ("hip", (self.pelvis_half, pelvis_u - 0.03)),
        ):
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


def _along(
    start: tuple[float, float, float], sign: int, abduct: float, swing: float, length: float
) -> tuple[float, float, float]:
    """Point at ``length`` from ``start`` along an arm direction: sideways ``abduct``, forward ``swing``."""
    ca = math.cos(abduct)
    return (
        start[0] + sign * length * math.sin(abduct),
        start[1] - length * ca * math.cos(swing),
        start[2] + length * ca * math.sin(swing),
    )
