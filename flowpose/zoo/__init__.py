"""The model zoo: named models with a URL, a pin and a card, downloaded into the cache on first use.

Graph files refer to them as ``model: zoo:NAME``. :func:`resolve_model` (what nodes call)
downloads a model that is not cached yet, unless offline (``--offline`` or
``FLOWPOSE_OFFLINE=1``); ``flowpose zoo download NAME`` fetches one ahead of time and
``flowpose zoo verify`` re-hashes the cache. See docs/models.md.

Names are imported on first use (PEP 562), so that ``flowpose.zoo.offline`` and
``flowpose.zoo.skip`` stay cheap for the command-line parser and for graph validation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowpose.zoo.fetch import CACHE_ENV, cache_dir, download, resolve_model
    from flowpose.zoo.offline import OFFLINE_ENV, is_offline, set_offline
    from flowpose.zoo.pins import PINS_FILE
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
    from flowpose.zoo.skip import ModelCheckSkipped, models_unchecked
    from flowpose.zoo.transfer import DownloadInterrupted
    from flowpose.zoo.verify import DigestMismatchError, verify_cache

_WHERE = {
    "CACHE_ENV": "fetch",
    "cache_dir": "fetch",
    "download": "fetch",
    "resolve_model": "fetch",
    "OFFLINE_ENV": "offline",
    "is_offline": "offline",
    "set_offline": "offline",
    "PINS_FILE": "pins",
    "ProgressBar": "progress",
    "BUILTIN_ENTRIES": "registry",
    "INDEX_ENV": "registry",
    "ModelNotFoundError": "registry",
    "ZooEntry": "registry",
    "ZooError": "registry",
    "get_entry": "registry",
    "load_index": "registry",
    "zoo_entries": "registry",
    "ModelCheckSkipped": "skip",
    "models_unchecked": "skip",
    "DownloadInterrupted": "transfer",
    "DigestMismatchError": "verify",
    "verify_cache": "verify",
}

__all__ = [
    "BUILTIN_ENTRIES",
    "CACHE_ENV",
    "INDEX_ENV",
    "OFFLINE_ENV",
    "PINS_FILE",
    "DigestMismatchError",
    "DownloadInterrupted",
    "ModelCheckSkipped",
    "ModelNotFoundError",
    "ProgressBar",
    "ZooEntry",
    "ZooError",
    "cache_dir",
    "download",
    "get_entry",
    "is_offline",
    "load_index",
    "models_unchecked",
    "resolve_model",
    "set_offline",
    "verify_cache",
    "zoo_entries",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'flowpose.zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"flowpose.zoo.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
