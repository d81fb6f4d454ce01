"""Download zoo models into the cache (hash-checked, atomic) and resolve model references."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import yaml

from flowpose.models.resolve import sidecar_path
from flowpose.zoo.progress import ProgressBar
from flowpose.zoo.registry import ModelNotFoundError, ZooEntry, ZooError, get_entry

__all__ = ["CACHE_ENV", "cache_dir", "download", "resolve_model"]

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
) -> Path:
    """Fetch zoo model ``name`` into :func:`cache_dir` (no-op when it is already there).

    The download streams into a temporary file in the cache directory, is checked against
    the pinned sha256, has its ``member`` extracted for zip archives, and is renamed into
    place only when complete, so a cached model is never partial. The entry's card is
    written beside it as a sidecar.

    Args:
        name: Zoo name (``flowpose zoo list``).
        allow_unverified: Accept an entry without a pinned hash; its hash is logged for pinning.
        progress: Draw a progress bar on stderr.
        entries: Zoo entries to use instead of :func:`flowpose.zoo.zoo_entries`.
        force: Download again even when the model is cached.
        timeout: Seconds to wait for the server at connect and between reads.

    Returns:
        The cached ``.onnx`` file.

    Raises:
        ZooError: Unknown name, unverified entry without the flag, network failure (the message
            says how to work offline), hash mismatch (the download is removed), bad archive.
    """
    entry = get_entry(name, entries)
    if entry.packaged_path is not None:
        return _packaged(entry)
    if not entry.verified and not allow_unverified:
        raise ZooError(
            f"zoo model {name!r} has no pinned sha256, so its download cannot be verified; "
            f"to accept it anyway run: {entry.download_command}"
        )
    target = cache_dir() / entry.filename
    if target.is_file() and not force:
        logger.info("%s is already in the cache: %s", name, target)
        _write_sidecar(entry, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(entry, target, out, progress, timeout)
        if entry.sha256 is not None and digest != entry.sha256:
            raise ZooError(
                f"sha256 mismatch for {name} from {entry.url}: expected {entry.sha256}, got {digest}; "
                "the download was removed (a changed or corrupted file upstream, or a proxy's error page)"
            )
        if entry.sha256 is None:
            logger.warning("%s is unverified; its sha256 is %s (pin it in the zoo entry)", name, digest)
        if entry.member:
            _extract(entry, tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(entry, target)
    logger.info("downloaded %s to %s", name, target)
    return target


def _fetch(entry: ZooEntry, target: Path, out: IO[bytes], progress: bool, timeout: float) -> str:
    """Stream ``entry.url`` into ``out``; returns the sha256 of what was received."""
    sha = hashlib.sha256()
    received, total = 0, None
    request = urllib.request.Request(entry.url, headers={"User-Agent": "flowpose-zoo"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = ProgressBar(entry.name, total) if progress else None
            while chunk := response.read(CHUNK):
                sha.update(chunk)
                out.write(chunk)
                received += len(chunk)
                if bar:
                    bar.update(len(chunk))
            if bar:
                bar.close()
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        # An HTTPError's own text has the status code; a URLError's reason is the socket error.
        reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", None) or exc
        where = f"{target}" + (f" (the '{entry.member}' from inside the zip)" if entry.member else "")
        raise ZooError(
            f"could not download {entry.name} from {entry.url}: {reason}. If this machine is offline, "
            f"fetch that URL elsewhere and place the model at {where}, or point the graph at a local "
            "file instead: `model: /path/to/model.onnx`"
        ) from None
    if total is not None and received != total:
        raise ZooError(f"download of {entry.name} from {entry.url} ended early: {received} of {total} bytes")
    return sha.hexdigest()


def _extract(entry: ZooEntry, archive: Path, target: Path) -> None:
    """Copy ``entry.member`` out of the zip ``archive`` to ``target`` (atomically)."""
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
            part = target.with_name(f".{target.name}.extract")
            try:
                with zf.open(matches[0]) as src, part.open("wb") as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
                os.replace(part, target)
            finally:
                part.unlink(missing_ok=True)
    except zipfile.BadZipFile as exc:
        raise ZooError(f"{entry.url}: not a valid zip archive ({exc})") from None


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


def resolve_model(ref: str | os.PathLike[str], entries: Mapping[str, ZooEntry] | None = None) -> Path:
    """Turn a graph's ``model`` value (``zoo:NAME`` or a path) into an existing file; never downloads.

    Raises:
        ModelNotFoundError: The file does not exist, or the zoo model is unknown or not yet
            downloaded (the message holds the exact ``flowpose zoo download`` command).
    """
    text = os.fspath(ref)
    if text.startswith("zoo:"):
        entry = get_entry(text[4:], entries)
        if entry.packaged_path is not None:
            return _packaged(entry)
        path = cache_dir() / entry.filename
        if not path.is_file():
            raise ModelNotFoundError(
                f"zoo model {entry.name!r} is not downloaded (no {path}); run: {entry.download_command}"
            )
        _write_sidecar(entry, path)
        return path
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
