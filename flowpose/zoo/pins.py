"""The cache's lock file of digests, ``<cache>/pins.json``.

One record per cached model file: the digest of what was downloaded (the archive, for zips),
the digest, size and mtime of the model file itself, where the pin came from, and when. Entries
without a published digest are pinned here on first download (trust on first use) and checked
against it ever after. Size and mtime make the check on every start cheap: the file is hashed
again only when either changed (``flowpose zoo verify`` always re-hashes).

The file is rewritten atomically (a temporary file renamed over it) under a lock, so two
processes pinning two models at once both land.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowpose.zoo.lock import file_lock, lock_path
from flowpose.zoo.registry import ZooError

__all__ = ["ORIGIN_CACHE", "ORIGIN_DOWNLOAD", "ORIGIN_REGISTRY", "PINS_FILE", "Pin", "PinStore", "sha256_file"]

PINS_FILE = "pins.json"
FORMAT = 1
ORIGIN_REGISTRY = "registry"  # checked against the digest in the zoo entry
ORIGIN_DOWNLOAD = "first download"  # trust on first use: the digest of the first download
ORIGIN_CACHE = "found in cache"  # a file placed by hand (offline): its digest when first seen
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


@dataclass(frozen=True)
class Pin:
    """What is known to be good about one cached model file.

    Attributes:
        name: The zoo entry it belongs to.
        url: Where it was downloaded from (a pin is only used for the same URL).
        sha256: Digest of the cached model file.
        size: Its size in bytes, when it was last hashed.
        mtime_ns: Its modification time then (with ``size``, the cheap "unchanged" check).
        origin: ``registry``, ``first download`` or ``found in cache``.
        download_sha256: Digest of the download (the zip for zips); None when not downloaded here.
        pinned_at: When the pin was first made (UTC, ISO 8601).
    """

    name: str
    url: str
    sha256: str
    size: int
    mtime_ns: int
    origin: str
    download_sha256: str | None = None
    pinned_at: str = ""

    def unchanged(self, path: Path) -> bool:
        """Whether ``path`` still has the size and mtime it had when it was hashed."""
        st = path.stat()
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns

    def restamped(self, path: Path) -> Pin:
        """This pin with ``path``'s current size and mtime (after it hashed to ``sha256`` again)."""
        st = path.stat()
        return dataclasses.replace(self, size=st.st_size, mtime_ns=st.st_mtime_ns)

    @classmethod
    def for_file(cls, name: str, url: str, path: Path, sha256: str, origin: str, download_sha256: str | None) -> Pin:
        """A new pin of ``path`` (already hashed to ``sha256``), dated now."""
        st = path.stat()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return cls(name, url, sha256, st.st_size, st.st_mtime_ns, origin, download_sha256, now)


class PinStore:
    """``pins.json`` of one cache directory."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.path = cache / PINS_FILE

    def load(self) -> dict[str, Pin]:
        """Every pin, by cache file name.

        Raises:
            ZooError: When the file exists but cannot be read (it is never written partially).
        """
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {file: Pin(**fields) for file, fields in data["files"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ZooError(
                f"cannot read the pins file {self.path} ({exc}); it holds the digests of models pinned on first "
                "download: repair it, or delete it to pin them again on their next download"
            ) from None

    def get(self, filename: str) -> Pin | None:
        """The pin of cache file ``filename``, or None."""
        return self.load().get(filename)

    def put(self, filename: str, pin: Pin) -> None:
        """Record ``pin`` for ``filename`` (replacing an older one), atomically."""
        self._update(filename, pin)

    def drop(self, filename: str) -> None:
        """Forget the pin of ``filename`` (its next download is pinned anew)."""
        self._update(filename, None)

    def _update(self, filename: str, pin: Pin | None) -> None:
        with file_lock(lock_path(self.cache, PINS_FILE), PINS_FILE):
            pins = self.load()
            if pin is None:
                pins.pop(filename, None)
            else:
                pins[filename] = pin
            payload: dict[str, Any] = {
                "format": FORMAT,
                "files": {f: dataclasses.asdict(p) for f, p in sorted(pins.items())},
            }
            part = self.path.with_name(f".{PINS_FILE}.tmp")
            part.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            os.replace(part, self.path)
