"""Output files of recorder nodes: can their folder be made, and making it with a clear error.

`flowpose validate` asks :func:`output_path_problem` (nothing is created), and the nodes'
``setup()`` calls :func:`ensure_output_folder`, so a file in the way or a read-only folder
is one line naming the path, at validation or at start, never a traceback from ``mkdir``.
"""

from __future__ import annotations

import os
from pathlib import Path


class OutputPathError(OSError):
    """An output file's folder cannot be created or written; the message names the paths."""


def output_path_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written, found without creating anything (None: it looks fine).

    Args:
        path: The output file, as given in the graph (``~`` is expanded; relative paths are
            relative to the working directory, as when the node runs).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return f"{path} is a folder; name a file in it"
    folder = path.parent
    # The nearest part of the folder's path that exists decides: a file there blocks it, and
    # creating what is missing below it needs write access there.
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        return f"cannot create folder {folder} for {path}: {existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        action = f"write {path}" if existing == folder else f"create folder {folder} for {path}"
        return f"cannot {action}: no permission to write in {existing}"
    return None


def ensure_output_folder(path: str | Path) -> None:
    """Create the folder of output file ``path`` if needed.

    Raises:
        OutputPathError: The folder cannot be created or written, with the paths and why.
    """
    path = Path(path).expanduser()
    if problem := output_path_problem(path):
        raise OutputPathError(problem)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a race, a full disk, a read-only mount the checks above missed
        raise OutputPathError(f"cannot create folder {path.parent} for {path}: {exc.strerror or exc}") from exc
