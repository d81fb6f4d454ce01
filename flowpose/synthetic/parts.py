"""What synthetic figures are drawn with: the part tables of people and animals.

Each part names the joints it spans, its thickness, its colour and the keypoints it may
cover while they still count as visible (see :class:`~flowpose.synthetic.figures.Part`).
"""

from __future__ import annotations

import numpy as np

from flowpose.meta import KeypointLayout
from flowpose.synthetic.appearance import HAIR, SKIN, random_color, shade
from flowpose.synthetic.figures import Part
from flowpose.synthetic.species import Species


def human_parts(
    rng: np.random.Generator, j: dict[str, int], layout: KeypointLayout, head_r: float, width: float
) -> tuple[Part, ...]:
    """Drawable parts of a person with random clothes: ``j`` maps joint names to indices."""
    k = layout.index
    skin = SKIN[int(rng.integers(len(SKIN)))]
    shirt, pants = random_color(rng), random_color(rng, 20, 170)
    shoes, hair = random_color(rng, 10, 90), HAIR[int(rng.integers(len(HAIR)))]
    sleeves = shirt if rng.random() < 0.5 else skin
    legs = pants if rng.random() < 0.8 else skin
    r = width
    parts = [
        Part(
            (j["shoulder_out_a"], j["hip_out_a"], j["hip_out_b"], j["shoulder_out_b"]),
            color=shirt,
            owners=(k("left_shoulder"), k("right_shoulder"), k("left_hip"), k("right_hip")),
            textured=True,
        ),
        Part((j["neck_base"], j["head"]), (0.028 * r, 0.028 * r), skin, depth_bias=-0.01),
        Part(
            (j["hair"], j["hair"]),
            (head_r * 1.02,) * 2,
            hair,  # type: ignore[arg-type]
            owners=(k("left_ear"), k("right_ear")),
        ),
        Part(
            (j["head"], j["head"]),
            (head_r,) * 2,
            skin,  # type: ignore[arg-type]
            owners=tuple(k(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")),
            depth_bias=-0.02,
        ),
        Part(
            (j["nose"], j["nose"]),
            (0.011, 0.011),
            shade(skin, 0.8),
            owners=(k("nose"),),
            depth_bias=-0.03,
        ),
    ]
    for side, sign in (("left", 1), ("right", -1)):
        s = side[0]
        far = 1.0 if sign > 0 else 0.93  # a touch of shading tells the two sides apart
        parts += [
            Part(
                (j[f"{side}_eye"], j[f"{side}_eye"]),
                (0.009, 0.009),
                (40, 30, 30),
                owners=(k(f"{side}_eye"),),
                depth_bias=-0.03,
            ),
            Part(
                (j[f"{side}_shoulder"], j[f"{side}_elbow"]),
                (0.042 * r, 0.033 * r),
                shade(shirt, far),
                owners=(k(f"{side}_shoulder"), k(f"{side}_elbow")),
                textured=sleeves == shirt,
            ),
            Part(
                (j[f"{side}_elbow"], j[f"{side}_wrist"]),
                (0.032 * r, 0.026),
                shade(sleeves, far),
                owners=(k(f"{side}_elbow"), k(f"{side}_wrist")),
                textured=sleeves == shirt,
            ),
            Part(
                (j[f"{side}_wrist"], j[f"hand_{s}"]),
                (0.025, 0.022),
                shade(skin, far),
                owners=(k(f"{side}_wrist"),),
            ),
            Part(
                (j[f"{side}_hip"], j[f"{side}_knee"]),
                (0.062 * r, 0.045),
                shade(pants, far),
                owners=(k(f"{side}_hip"), k(f"{side}_knee")),
                depth_bias=0.01,
            ),
            Part(
                (j[f"{side}_knee"], j[f"{side}_ankle"]),
                (0.043, 0.032),
                shade(legs, far),
                owners=(k(f"{side}_knee"), k(f"{side}_ankle")),
            ),
            Part((j[f"{side}_ankle"], j[f"toe_{s}"]), (0.03, 0.024), shoes, owners=(k(f"{side}_ankle"),)),
        ]
    return tuple(parts)


def quadruped_parts(
    rng: np.random.Generator, j: dict[str, int], layout: KeypointLayout, sp: Species, girth: float
) -> tuple[Part, ...]:
    """Drawable parts of an animal with a random coat: ``j`` maps joint names to indices."""
    k = layout.index
    base = sp.coats[int(rng.integers(len(sp.coats)))]
    coat = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in base)
    dark = tuple(int(c * 0.55) for c in coat)
    far = tuple(int(c * 0.8) for c in coat)
    r, g = sp.leg_radius * girth, girth
    parts = [
        Part(
            (j["body_front"], j["body_back"]),
            (sp.body_radius * g, sp.body_radius * g * 0.93),
            coat,
            owners=tuple(k(n) for n in ("Neck", "Root of tail", "L_Shoulder", "R_Shoulder", "L_Hip", "R_Hip")),
            textured=True,
        ),
        Part(
            (j["Neck"], j["skull"]),
            (sp.body_radius * 0.6 * g, sp.skull_radius * 0.85),
            coat,
            owners=(k("Neck"),),
            textured=True,
            depth_bias=-0.02,
        ),
        Part(
            (j["skull"], j["Nose"]),
            (sp.skull_radius, sp.muzzle_radius),
            coat,
            owners=(k("L_Eye"), k("R_Eye"), k("Nose")),
            depth_bias=-0.04,
        ),
        Part(
            (j["Nose"], j["Nose"]),
            (sp.muzzle_radius * 0.55,) * 2,
            (30, 30, 40),  # type: ignore[arg-type]
            owners=(k("Nose"),),
            depth_bias=-0.05,
        ),
        Part(
            (j["Root of tail"], j["tail_mid"]),
            (sp.tail_radius * 1.2, sp.tail_radius),
            coat,
            owners=(k("Root of tail"),),
            depth_bias=0.01,
        ),
        Part((j["tail_mid"], j["tail_tip"]), (sp.tail_radius, sp.tail_radius * 0.7), dark),
    ]
    for side in ("L", "R"):
        s = side.lower()
        parts.append(Part((j[f"ear_{s}_a"], j[f"ear_{s}_tip"], j[f"ear_{s}_b"]), color=dark, depth_bias=-0.03))
        parts.append(
            Part(
                (j[f"{side}_Eye"],) * 2,
                (sp.skull_radius * 0.22,) * 2,
                (20, 20, 20),  # type: ignore[arg-type]
                owners=(k(f"{side}_Eye"),),
                depth_bias=-0.05,
            )
        )
        for end, top, mid in (("F", "Shoulder", "Elbow"), ("B", "Hip", "Knee")):
            color = coat if side == "L" else far  # shade one side so the legs read apart
            paw, upper, joint = k(f"{side}_{end}_Paw"), k(f"{side}_{top}"), k(f"{side}_{mid}")
            parts += [
                Part(
                    (j[f"{side}_{top}"], j[f"{side}_{mid}"]),
                    (r * 1.25, r * 0.8),
                    color,
                    owners=(upper, joint),
                    textured=True,
                ),
                Part(
                    (j[f"{side}_{mid}"], j[f"{side}_{end}_Paw"]),
                    (r * 0.8, r * 0.6),
                    color,
                    owners=(joint, paw),
                ),
                Part((j[f"{side}_{end}_Paw"],) * 2, (r * 0.75,) * 2, dark, owners=(paw,)),  # type: ignore[arg-type]
            ]
    return tuple(parts)
