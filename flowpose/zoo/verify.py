"""Checking cached models against their pins: cheaply on every use, fully for ``zoo verify``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flowpose.models.resolve import sidecar_path
from flowpose.zoo.pins import ORIGIN_CACHE, ORIGIN_REGISTRY, Pin, PinStore, sha256_file
from flowpose.zoo.registry import ZooEntry, ZooError

__all__ = ["DigestMismatchError", "VerifyResult", "check_cached", "current_pin", "verify_cache"]

logger = logging.getLogger(__name__)

OK, PINNED, MISMATCH, MISSING = "OK", "pinned now", "MISMATCH", "missing"


class DigestMismatchError(ZooError):
    """A model's bytes do not match its pin; the file has been removed."""


@dataclass(frozen=True)
class VerifyResult:
    """One line of ``flowpose zoo verify``.

    Attributes:
        name: The zoo entry.
        path: Its cache file.
        state: ``OK``, ``pinned now``, ``MISMATCH`` (the file was removed) or ``missing``.
        detail: The digest, or what went wrong and what to do.
    """

    name: str
    path: Path
    state: str
    detail: str


def current_pin(entry: ZooEntry, store: PinStore) -> Pin | None:
    """The pin of ``entry``'s cache file, if it was made for the entry's current URL."""
    pin = store.get(entry.filename)
    return pin if pin is not None and pin.url == entry.url else None


def _expected(entry: ZooEntry, pin: Pin | None) -> tuple[tuple[str, ...], str]:
    """The digests the cached file may have, and where they come from."""
    if entry.digests and not entry.member:  # the file is what was downloaded: the registry decides
        return entry.digests, "the zoo entry's sha256"
    if pin is not None:
        return (pin.sha256,), f"{pin.origin} {pin.pinned_at}".strip()
    return (), ""


def check_cached(entry: ZooEntry, path: Path, rehash: bool = False) -> str:
    """Check a cached model against its pin; pin it when nothing is known about it yet.

    Args:
        entry: The zoo entry the file belongs to.
        path: The cached model (it exists).
        rehash: Hash it even when size and mtime are those recorded when it was last hashed.

    Returns:
        ``OK``, or ``pinned now`` for a file nothing was known about (put there by hand).

    Raises:
        DigestMismatchError: The file differs from its pin; it (and its card sidecar) was removed.
    """
    store = PinStore(path.parent)
    pin = current_pin(entry, store)
    expected, origin = _expected(entry, pin)
    if pin is not None and not rehash and pin.sha256 in expected and pin.unchanged(path):
        return OK
    digest = sha256_file(path)
    if expected and digest not in expected:
        path.unlink(missing_ok=True)
        sidecar_path(path).unlink(missing_ok=True)
        raise DigestMismatchError(
            f"{path} (zoo model {entry.name!r}) has sha256 {digest}, but it is pinned to {expected[0]} "
            f"({origin}, see {store.path}): it changed after it was checked (a disk error, or it was replaced). "
            f"The file was removed; it is downloaded again on next use, or now with: {entry.download_command}"
        )
    if expected:
        fresh = pin.restamped(path) if pin is not None and pin.sha256 == digest else None
        fresh = fresh or Pin.for_file(entry.name, entry.url, path, digest, ORIGIN_REGISTRY, digest)
        _save(store, entry.filename, fresh)
        return OK
    _save(store, entry.filename, Pin.for_file(entry.name, entry.url, path, digest, ORIGIN_CACHE, None))
    logger.warning(
        "pinned %s as found in the cache: sha256 %s of %s (not downloaded here, so nothing to check it against; "
        "recorded in %s, every later use is checked against it)",
        entry.name,
        digest,
        path,
        store.path,
    )
    return PINNED


def _save(store: PinStore, filename: str, pin: Pin) -> None:
    try:
        store.put(filename, pin)
    except OSError as exc:  # a read-only cache still serves its models; the check repeats next time
        logger.warning("cannot record the pin of %s in %s: %s", filename, store.path, exc)


def verify_cache(entries: Mapping[str, ZooEntry], cache: Path) -> list[VerifyResult]:
    """Re-hash every cached model of ``entries`` (packaged ones are skipped) against its pin."""
    results = []
    for name, entry in entries.items():
        if entry.packaged_path is not None:
            continue
        path = cache / entry.filename
        if not path.is_file():
            results.append(VerifyResult(name, path, MISSING, "not downloaded (fetched on first use)"))
            continue
        try:
            state = check_cached(entry, path, rehash=True)
        except DigestMismatchError as exc:
            results.append(VerifyResult(name, path, MISMATCH, str(exc)))
            continue
        pin = current_pin(entry, PinStore(cache))
        results.append(VerifyResult(name, path, state, f"sha256 {pin.sha256 if pin else '?'}"))
    return results
