"""Class names asked for in a graph file -> the indices of a detector's classes."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["class_indices", "unknown_classes_message"]


def unknown_classes_message(wanted: Sequence[str], classes: Sequence[str]) -> str | None:
    """A readable problem for the names in ``wanted`` that are not in ``classes``, or None.

    Each unknown name gets its close matches, and the message ends with every known class,
    so the fix is on screen (``'persn' (did you mean 'person'?)``).
    """
    unknown = [name for name in wanted if name not in classes]
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, classes, n=3)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    noun = "class" if len(unknown) == 1 else "classes"
    return f"unknown {noun} {', '.join(parts)}; the model's classes: {', '.join(classes)}"


def class_indices(wanted: Sequence[str] | None, classes: Sequence[str]) -> tuple[int, ...] | None:
    """Indices of ``wanted`` in ``classes``; None (keep all) when ``wanted`` is None or empty.

    Raises:
        ValueError: When a name is not one of ``classes`` (see :func:`unknown_classes_message`).
    """
    if not wanted:
        return None
    problem = unknown_classes_message(wanted, classes)
    if problem:
        raise ValueError(problem)
    return tuple(sorted({list(classes).index(name) for name in wanted}))
