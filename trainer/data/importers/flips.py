"""Left/right flip pairs guessed from keypoint names (``left_ear``/``right_ear``, ``leftear``, ``L_paw``...)."""

from __future__ import annotations

import re

__all__ = ["guess_flip_pairs"]

# (left, right) spellings, tried as a prefix or suffix of the name with an optional separator.
_SIDES = (("left", "right"), ("l", "r"))
_SEP = r"[_\-\s.]?"


def _other_side(name: str) -> str | None:
    """The name with its side swapped, or None when it names no side."""
    for left, right in _SIDES:
        for a, b in ((left, right), (right, left)):
            # Whole words only for the short forms: 'l'/'r' inside 'tail' or 'ear' is no side.
            long = len(a) > 1
            m = re.fullmatch(rf"(?i)({a})({_SEP})(.+)", name)
            if m and (long or m.group(2)):
                return _same_case(m.group(1), b) + m.group(2) + m.group(3)
            m = re.fullmatch(rf"(?i)(.+?)({_SEP})({a})", name)
            if m and (long or m.group(2)):
                return m.group(1) + m.group(2) + _same_case(m.group(3), b)
    return None


def _same_case(like: str, word: str) -> str:
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[0].isupper() else word


def guess_flip_pairs(names: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Pairs of ``names`` that differ only by side, left one first, in keypoint order.

    Example:
        >>> guess_flip_pairs(["snout", "leftear", "rightear", "tailbase"])
        (('leftear', 'rightear'),)
    """
    known = set(names)
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for name in names:
        other = _other_side(name)
        if other is None or other not in known or name in used or other in used or other == name:
            continue
        left_first = re.search(r"(?i)(^l|left|[_\-\s.]l$)", name) is not None
        pairs.append((name, other) if left_first else (other, name))
        used |= {name, other}
    return tuple(pairs)
