"""Stream ids: what a multi-stream source's ``sources`` entries name, and which ids are allowed.

A stream id becomes ``Frame.source`` and, through the recorders, part of output file names,
so it must be a safe file-name part: letters, digits, ``_``, ``-`` and ``.``, not starting
with a dot, at most 64 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STREAM_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
"""A safe file-name part (see the module docstring)."""


@dataclass(frozen=True)
class StreamEntry:
    """One entry of a ``sources`` list: the stream's id (None = the default) and what it reads."""

    id: str | None
    source: Any


def id_problem(stream_id: Any) -> str | None:
    """Why ``stream_id`` cannot be a stream id (None when it can)."""
    if not isinstance(stream_id, str):
        return f"a stream id must be a string, got {stream_id!r}"
    if not STREAM_ID_PATTERN.match(stream_id):
        return (
            f"stream id {stream_id!r} is not a safe file-name part (it names recording files): use letters, "
            "digits, '_', '-' and '.', not starting with '.', at most 64 characters"
        )
    return None


def check_id(stream_id: Any) -> str:
    """``stream_id`` if it is a valid stream id; raises ValueError with the reason otherwise."""
    if problem := id_problem(stream_id):
        raise ValueError(problem)
    return stream_id


def parse_entry(entry: Any) -> StreamEntry:
    """One ``sources`` entry: a plain source value, or a mapping ``{id: NAME, source: ...}``.

    Raises:
        ValueError: A mapping without ``source``, with other keys, or with a bad id.
    """
    if not isinstance(entry, Mapping):
        return StreamEntry(None, entry)
    if unknown := sorted(set(entry) - {"id", "source"}):
        raise ValueError(f"a sources entry takes only 'id' and 'source'; unknown {unknown}")
    if "source" not in entry:
        raise ValueError(f"a sources entry given as a mapping needs 'source': {dict(entry)}")
    stream_id = entry.get("id")
    return StreamEntry(None if stream_id is None else check_id(stream_id), entry["source"])


def assign_ids(node: str, entries: list[StreamEntry]) -> list[tuple[str, Any]]:
    """``(id, source)`` per entry: given ids kept, the others ``{node}{i}`` (i = the entry's index).

    Raises:
        ValueError: Two entries end up with the same id, or a default id is not a safe name.
    """
    pairs = [(e.id if e.id is not None else f"{node}{i}", e.source) for i, e in enumerate(entries)]
    seen: set[str] = set()
    for stream_id, _ in pairs:
        check_id(stream_id)
        if stream_id in seen:
            raise ValueError(f"stream id {stream_id!r} is used twice; give each stream its own id")
        seen.add(stream_id)
    return pairs
