"""Which keypoints of an annotation file a model predicts, matched by name, and their OKS sigmas.

Annotation files spell the same keypoint differently (AP-10K's own files say
``left_front_paw`` where MMPose's meta says ``L_F_Paw``), and datasets define different sets
(Animal-Pose's 20 against AP-10K's 17). Names are therefore compared after normalising the
usual spellings, and an evaluation covers the keypoints both sides define.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flowpose.meta import KeypointLayout, available_layouts, load_layout

__all__ = ["KeypointMatch", "match_keypoints", "normalise_keypoint_name", "recognise_layout"]

logger = logging.getLogger(__name__)

# Different names for the same anatomical point. Only true synonyms: AP-10K's "elbow"/"knee"
# and Animal-Pose's "F_Elbow"/"F_Knee" are different joints, so they are not aliased.
_ALIASES = {"tailbase": "root_of_tail", "tail_base": "root_of_tail"}
_SIDE = {"l": "left", "r": "right"}
_LIMB = {"f": "front", "b": "back"}


def normalise_keypoint_name(name: str) -> str:
    """A spelling-independent key: ``"L_F_Paw"``, ``"left_front_paw"`` and ``"Left Front Paw"`` agree.

    Lower case, words joined by ``_``, a leading ``l``/``r`` read as left/right, a following
    ``f``/``b`` as front/back, and the synonyms in ``_ALIASES`` folded together.
    """
    key = _spelling(name)
    return _ALIASES.get(key, key)


def _spelling(name: str) -> str:
    """The normalised spelling of ``name``, before synonyms are folded together."""
    words = [w for w in re.split(r"[\s_\-]+", name.strip().lower()) if w]
    if len(words) > 1 and words[0] in _SIDE:
        words[0] = _SIDE[words[0]]
        if len(words) > 2 and words[1] in _LIMB:
            words[1] = _LIMB[words[1]]
    return "_".join(words)


def recognise_layout(keypoint_names: Sequence[str]) -> KeypointLayout | None:
    """The built-in layout with these keypoints in this order (by normalised name), or None."""
    wanted = [normalise_keypoint_name(n) for n in keypoint_names]
    for name in available_layouts():
        layout = load_layout(name)
        if [normalise_keypoint_name(n) for n in layout.keypoint_names] == wanted:
            return layout
    return None


@dataclass(frozen=True)
class KeypointMatch:
    """The keypoints one model and one annotation category have in common.

    Attributes:
        model_layout: The model's layout name.
        annotation_layout: The built-in layout the annotation's keypoints are, or None.
        model_index: (M,) model keypoint of each common keypoint.
        annotation_index: (M,) annotation keypoint of each common keypoint.
        names: (M,) the annotation's names of the common keypoints.
        sigmas: (M,) OKS sigmas of the common keypoints.
        sigma_source: Where the sigmas come from, in words.
        annotation_count: How many keypoints the annotation defines.
        by_position: Names did not match at all and both have K keypoints: matched by position.
        synonyms: ``"annotation name = model name"`` for pairs matched through a synonym.
    """

    model_layout: str
    annotation_layout: str | None
    model_index: tuple[int, ...]
    annotation_index: tuple[int, ...]
    names: tuple[str, ...]
    sigmas: tuple[float, ...]
    sigma_source: str
    annotation_count: int
    by_position: bool = False
    synonyms: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every annotated keypoint is scored."""
        return len(self.annotation_index) == self.annotation_count

    @property
    def sigmas_array(self) -> np.ndarray:
        """The sigmas as float64 (M,)."""
        return np.asarray(self.sigmas, dtype=np.float64)

    def note(self, model_count: int) -> str | None:
        """One sentence for the report when not all keypoints are compared by the same name, else None."""
        if self.by_position:
            return (
                f"the annotation's keypoint names match none of the model's ({self.model_layout}); both have "
                f"{model_count} keypoints, so they are compared by position"
            )
        if self.complete:
            return None
        return (
            f"the annotation has {self.annotation_count} keypoints ({self.annotation_layout or 'unknown layout'}), "
            f"the model {model_count} ({self.model_layout}): evaluated on the {len(self.names)} keypoints both "
            f"define by name: {', '.join(self.names)}" + (f" ({'; '.join(self.synonyms)})" if self.synonyms else "")
        )


def match_keypoints(annotation_names: Sequence[str], model_layout: KeypointLayout) -> KeypointMatch:
    """Match an annotation category's keypoints to a model's layout by name.

    Sigmas are the annotation dataset's (it defines the ground truth) when its keypoints are a
    built-in layout (COCO-17, AP-10K, Animal-Pose), else the model layout's for the common keypoints.

    Raises:
        ValueError: No keypoint in common and different counts (nothing can be scored).
    """
    recognised = recognise_layout(annotation_names)
    model_keys = [normalise_keypoint_name(n) for n in model_layout.keypoint_names]
    pairs = [
        (model_keys.index(key), i)
        for i, key in enumerate(normalise_keypoint_name(n) for n in annotation_names)
        if key in model_keys
    ]
    by_position = False
    if not pairs:
        if len(annotation_names) != model_layout.num_keypoints:
            raise ValueError(
                f"no keypoint of the annotation ({', '.join(annotation_names)}) is one of the model's "
                f"({model_layout.name}: {', '.join(model_layout.keypoint_names)}); nothing to compare"
            )
        pairs = [(i, i) for i in range(len(annotation_names))]
        by_position = True
    synonyms = tuple(
        f"{annotation_names[a]} = {model_layout.keypoint_names[m]}"
        for m, a in pairs
        if not by_position and _spelling(annotation_names[a]) != _spelling(model_layout.keypoint_names[m])
    )
    model_index = tuple(m for m, _ in pairs)
    annotation_index = tuple(a for _, a in pairs)
    if recognised is not None:
        sigmas = tuple(recognised.sigmas[a] for a in annotation_index)
        source = f"{recognised.name} (the annotation's layout)"
    else:
        sigmas = tuple(model_layout.sigmas[m] for m in model_index)
        source = f"{model_layout.name} (the model's layout; the annotation's keypoints are not a built-in layout)"
    return KeypointMatch(
        model_layout=model_layout.name,
        annotation_layout=recognised.name if recognised else None,
        model_index=model_index,
        annotation_index=annotation_index,
        names=tuple(annotation_names[a] for a in annotation_index),
        sigmas=sigmas,
        sigma_source=source,
        annotation_count=len(annotation_names),
        by_position=by_position,
        synonyms=synonyms,
    )
