"""The model zoo: named models with a URL, a pinned sha256 and a card, cached on first download.

Graph files refer to them as ``model: zoo:NAME``; ``flowpose zoo download NAME`` fetches one.
Nodes call :func:`resolve_model`, which never downloads: a running graph should not stall on
the network, and the error says which command to run.
"""

from flowpose.zoo.fetch import CACHE_ENV, cache_dir, download, resolve_model
from flowpose.zoo.progress import ProgressBar
from flowpose.zoo.registry import (
    BUILTIN_ENTRIES,
    INDEX_ENV,
    ModelNotFoundError,
    ZooEntry,
    ZooError,
    get_entry,
    load_index,
    zoo_entries,
)

__all__ = [
    "BUILTIN_ENTRIES",
    "CACHE_ENV",
    "INDEX_ENV",
    "ModelNotFoundError",
    "ProgressBar",
    "ZooEntry",
    "ZooError",
    "cache_dir",
    "download",
    "get_entry",
    "load_index",
    "resolve_model",
    "zoo_entries",
]
