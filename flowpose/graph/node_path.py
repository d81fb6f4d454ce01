"""Importing ``module:Class`` node types from a graph file's folder, without PYTHONPATH.

A new user writes ``my_nodes.py`` beside ``graph.yaml`` and names ``type: my_nodes:Blur``;
that should just work, also for nodes that run in their own process. The folders are
searched by a finder placed *after* every other one (not on ``sys.path``): a module there
is found only when nothing installed has its name, so a ``queue.py`` or ``zmq.py`` beside a
graph never hides the real one, in this process or in a child (children get PYTHONPATH
entries *before* the standard library, which is why the folders are not on ``sys.path``).

Children of the process runner copy this process's environment; :data:`ENV_VAR` carries
the folders to them, and :func:`folders_from_environment` registers them there.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

ENV_VAR = "FLOWPOSE_NODE_PATH"
"""Folders (``os.pathsep``-separated) that ``module:Class`` node types are also imported from."""


class _FolderFinder(importlib.abc.MetaPathFinder):
    """Finds top-level modules and packages in the registered folders, as a last resort."""

    def __init__(self) -> None:
        self.folders: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if path is not None or not self.folders:  # submodules are found through their package
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, self.folders)


_finder = _FolderFinder()


def add_folder(folder: str | Path) -> None:
    """Let ``module:Class`` types be imported from ``folder`` when nothing installed matches.

    Args:
        folder: Usually a graph file's folder; relative paths are resolved now.
    """
    entry = str(Path(folder).resolve())
    if entry in _finder.folders:
        return
    log.debug("node modules are also imported from %s", entry)
    _finder.folders.append(entry)
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)
    importlib.invalidate_caches()  # a module written since the last import attempt is found
    os.environ[ENV_VAR] = os.pathsep.join(_finder.folders)  # for the processes we start


def folders_from_environment() -> None:
    """Register the folders a parent process passed in :data:`ENV_VAR` (cheap when done)."""
    for folder in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        if folder not in _finder.folders:
            add_folder(folder)
