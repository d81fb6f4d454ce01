"""Getting zoo models into the cache on first use (locked, resumable, checked, pinned) and resolving references.

A model reference is resolved by :func:`resolve_model`: a cached model is checked against its
pin (cheaply: size and mtime, unless they changed) and returned; a missing one is downloaded
first, unless offline (``--offline`` / ``FLOWPOSE_OFFLINE=1``), when the error names the URL and
where to put the file. A download is only ever renamed into place after its size and digest
checks; until then it is a hidden ``.NAME.partial`` that a later try resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from flowpose.models.resolve import sidecar_path
from flowpose.zoo.lock import file_lock, lock_path
from flowpose.zoo.offline import is_offline, missing_model_message
from flowpose.zoo.pins import ORIGIN_DOWNLOAD, ORIGIN_REGISTRY, Pin, PinStore, sha256_file
from flowpose.zoo.registry import ModelNotFoundError, ZooEntry, ZooError, get_entry
from flowpose.zoo.skip import ModelCheckSkipped, models_are_unchecked
from flowpose.zoo.transfer import Transfer, discard_partial, fetch_to_partial
from flowpose.zoo.verify import DigestMismatchError, check_cached, current_pin

__all__ = ["CACHE_ENV", "cache_dir", "download", "fetch_entry", "resolve_model"]

logger = logging.getLogger(__name__)

CACHE_ENV = "FLOWPOSE_CACHE"
CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where zoo models live: ``$FLOWPOSE_CACHE``, else ``~/.cache/flowpose/models``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "flowpose" / "models"


def download(
    name: str,
    allow_unverified: bool = False,
    progress: bool = True,
    entries: Mapping[str, ZooEntry] | None = None,
    force: bool = False,
    timeout: float = 30.0,
    offline: bool | None = None,
) -> Path:
    """Fetch zoo model ``name`` into :func:`cache_dir` ahead of time (a no-op when it is cached and intact).

    Args:
        name: Zoo name (``flowpose zoo list``).
        allow_unverified: Accepted for compatibility and ignored: entries without a published
            digest are pinned on first download instead.
        progress: Draw a progress bar on stderr.
        entries: Zoo entries to use instead of :func:`flowpose.zoo.zoo_entries`.
        force: Download again even when the model is cached.
        timeout: Seconds to wait for the server at connect and between reads.
        offline: Refuse to download (default: ``$FLOWPOSE_OFFLINE``).

    Returns:
        The cached ``.onnx`` file.

    Raises:
        ModelNotFoundError: Unknown name, or offline and not cached (naming URL and path).
        ZooError: Network failure (the message says how to work offline), digest mismatch
            (the download is removed), a download that cannot be shown complete, bad archive.
        DownloadInterrupted: Ctrl-C or SIGTERM (a KeyboardInterrupt); the partial is kept.
    """
    del allow_unverified  # every entry is pinned, by the registry or on first download
    entry = get_entry(name, entries)
    if entry.packaged_path is not None:
        return _packaged(entry)
    return fetch_entry(entry, progress=progress, force=force, timeout=timeout, offline=offline)


def fetch_entry(
    entry: ZooEntry, progress: bool = True, force: bool = False, timeout: float = 30.0, offline: bool | None = None
) -> Path:
    """The cached model of ``entry``, checked against its pin, downloaded first when missing.

    See :func:`download` for the arguments and errors.
    """
    offline = is_offline() if offline is None else offline
    cache = cache_dir()
    target = cache / entry.filename
    if target.is_file() and not force:  # the common case: no lock, no network
        check_cached(entry, target)
        _write_sidecar(entry, target)
        return target
    if offline:
        raise ModelNotFoundError(missing_model_message(entry, target))
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(lock_path(cache, entry.filename), entry.name):
        # Another process may have finished this very download while we waited for the lock.
        if target.is_file() and not force:
            logger.info("%s was downloaded by another process meanwhile: %s", entry.name, target)
            check_cached(entry, target)
        else:
            _download_locked(entry, cache, target, progress, timeout)
    _write_sidecar(entry, target)
    return target


def _failure_hint(entry: ZooEntry, target: Path) -> str:
    extract = f", extract '{entry.member}' from the zip" if entry.member else ""
    return (
        f"If this machine is offline, download that URL elsewhere{extract} and save it as {target} "
        "(it is checked and used from there; --offline lists every missing file), or point the graph at a local "
        "file instead: `model: /path/to/model.onnx`"
    )


def _download_locked(entry: ZooEntry, cache: Path, target: Path, progress: bool, timeout: float) -> None:
    """Download, check, extract, pin and rename into place; the caller holds the entry's lock."""
    store = PinStore(cache)
    pin = current_pin(entry, store)
    expected = entry.digests or ((pin.download_sha256,) if pin is not None and pin.download_sha256 else ())
    done = fetch_to_partial(
        entry, cache, _failure_hint(entry, target), progress=progress, timeout=timeout, pinned=bool(expected)
    )
    extracted = target.with_name(f".{target.name}.extract")
    try:
        _check_download(entry, done, expected, store)
        if entry.member:
            ready, file_sha = extracted, _extract(entry, done.path, extracted)
        else:
            ready, file_sha = done.path, done.sha256
        if pin is not None and pin.download_sha256 is None and file_sha != pin.sha256:  # pinned as found in cache
            raise DigestMismatchError(
                f"zoo model {entry.name}: the model extracted from {entry.url} has sha256 {file_sha}, but the file "
                f"first found in the cache was pinned to {pin.sha256} ({store.path}); the download was removed. If "
                "that earlier file was the wrong one, delete its record from the pins file and run again"
            )
        origin = ORIGIN_REGISTRY if entry.digests else pin.origin if pin is not None else ORIGIN_DOWNLOAD
        record = Pin.for_file(entry.name, entry.url, ready, file_sha, origin, done.sha256)  # a rename keeps the mtime
        if pin is not None and pin.pinned_at:
            record = dataclasses.replace(record, pinned_at=pin.pinned_at)
        # The pin lands before the model: a process that sees the model (without the lock) finds its pin.
        store.put(entry.filename, record)
        os.replace(ready, target)
    finally:
        discard_partial(cache, entry.filename)  # used, or no good: a resume must start over
        extracted.unlink(missing_ok=True)
    if not expected:
        logger.warning(
            "pinned %s on first download (no digest is published for it): sha256 %s of %s, recorded in %s; "
            "every later use and download is checked against it",
            entry.name,
            done.sha256,
            entry.url,
            store.path,
        )
    logger.info("downloaded %s to %s", entry.name, target)


def _check_download(entry: ZooEntry, done: Transfer, expected: tuple[str, ...], store: PinStore) -> None:
    """Refuse a download that is not the pinned file, or that cannot be shown to be complete."""
    if expected:
        if done.sha256 not in expected:
            where = "the zoo entry" if entry.digests else f"its first download, in {store.path}"
            repin = "" if entry.digests else "; if upstream really replaced the file, delete its record there"
            raise DigestMismatchError(
                f"sha256 mismatch for {entry.name} from {entry.url}: expected {' or '.join(expected)} "
                f"(pinned by {where}), got {done.sha256}; the download was removed (a changed or corrupted file "
                f"upstream, or a proxy's error page){repin}"
            )
        return
    if entry.size is not None and done.size != entry.size:
        raise ZooError(
            f"download of {entry.name} from {entry.url} has {done.size} bytes, but the zoo entry says {entry.size}; "
            "it was removed"
        )
    if done.length_known or entry.size is not None:
        return
    # Nothing says how long the file is, and no digest: a connection closed early looks exactly
    # like the end. A zip proves itself (its directory is at the very end and every member has
    # a CRC, checked while extracting); any other file is refused rather than pinned truncated.
    if entry.member:
        logger.info("%s: no Content-Length from the server; accepted only if the zip reads back whole", entry.name)
        return
    raise ZooError(
        f"download of {entry.name} from {entry.url}: the server sent no Content-Length and the zoo entry has no "
        "sha256 or size, so a complete download cannot be told from one cut short; it was not stored. Add `size` "
        "or `sha256` to the entry, or fetch the file yourself and save it as "
        f"{cache_dir() / entry.filename}"
    )


def _extract(entry: ZooEntry, archive: Path, out: Path) -> str:
    """Copy ``entry.member`` out of the zip ``archive`` into ``out``; returns its sha256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            matches = [n for n in names if n == entry.member] or [
                n for n in names if n.rsplit("/", 1)[-1] == entry.member
            ]
            if len(matches) != 1:
                found = "none" if not matches else f"{len(matches)}: {matches}"
                raise ZooError(
                    f"{entry.url}: expected one '{entry.member}' in the zip, found {found}; it holds {names}"
                )
            with zf.open(matches[0]) as src, out.open("wb") as dst:
                while chunk := src.read(CHUNK):  # reading to the end checks the member's CRC
                    dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ZooError(f"{entry.url}: not a valid zip archive ({exc}); the download was removed") from None
    return sha256_file(out)


def _write_sidecar(entry: ZooEntry, model: Path) -> None:
    """Keep the entry's card beside the cached model, so that ``resolve_card`` finds it."""
    if not entry.card:
        return
    path = sidecar_path(model)
    text = yaml.safe_dump(entry.card, sort_keys=False)
    try:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            part = path.with_name(f".{path.name}.tmp")
            part.write_text(text, encoding="utf-8")
            os.replace(part, path)
    except OSError as exc:  # a read-only cache still serves the model; the card can come from a preset
        logger.warning("cannot write the card of %s to %s: %s", entry.name, path, exc)


def resolve_model(
    ref: str | os.PathLike[str],
    entries: Mapping[str, ZooEntry] | None = None,
    progress: bool = True,
    offline: bool | None = None,
) -> Path:
    """Turn a graph's ``model`` value (``zoo:NAME`` or a path) into an existing, checked file.

    A zoo model not in the cache yet is downloaded here, with a progress bar, unless offline.

    Args:
        ref: ``zoo:NAME`` or a path.
        entries: Zoo entries to use instead of :func:`flowpose.zoo.zoo_entries`.
        progress: Draw a progress bar while downloading.
        offline: Never download (default: ``$FLOWPOSE_OFFLINE``).

    Raises:
        ModelNotFoundError: The file does not exist; the zoo model is unknown; offline and not
            cached (the message names the URL and where to save the file); or the download
            or the pin check failed (the message says why and what to do).
        DownloadInterrupted: Ctrl-C or SIGTERM during a download (a KeyboardInterrupt).
        ModelCheckSkipped: Inside :func:`flowpose.zoo.models_unchecked` (``flowpose graph``).
    """
    text = os.fspath(ref)
    if models_are_unchecked():
        raise ModelCheckSkipped(f"model {text!r} not checked (model checks are off)")
    if text.startswith("zoo:"):
        entry = get_entry(text[4:], entries)
        if entry.packaged_path is not None:
            return _packaged(entry)
        try:
            return fetch_entry(entry, progress=progress, offline=offline)
        except ModelNotFoundError:
            raise
        except ZooError as exc:  # one error type for callers: the model cannot be had, and why
            raise ModelNotFoundError(str(exc)) from None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"model file not found: {path}")
    return path


def _packaged(entry: ZooEntry) -> Path:
    """The file a ``package://`` entry ships with; nothing to download."""
    path = entry.packaged_path
    assert path is not None
    if not path.is_file():
        raise ModelNotFoundError(
            f"zoo model {entry.name!r} ships inside flowpose, but {path} is missing: reinstall flowpose "
            "(a build without package data?)"
        )
    return path
