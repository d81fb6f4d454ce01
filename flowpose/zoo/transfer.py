"""Streaming one URL into a resumable partial file in the cache.

The partial is ``<cache>/.<filename>.partial`` (a hidden name no resolve ever returns), beside
``.<filename>.partial.json`` with the URL, the server's validator (ETag or Last-Modified) and
the total size. A later try sends ``Range: bytes=N-`` (with ``If-Range``) and appends when the
server answers 206; any other answer starts over. Ctrl-C and SIGTERM keep the partial and raise
:class:`DownloadInterrupted`, which the CLI prints as one line with exit code 130 / 143.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import re
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowpose.zoo.progress import ProgressBar
from flowpose.zoo.registry import ZooEntry, ZooError

__all__ = ["DownloadInterrupted", "Transfer", "fetch_to_partial", "partial_path"]

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024


class DownloadInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a download; the partial file is kept for the next try.

    A KeyboardInterrupt, so code that stops on Ctrl-C stops on it too, and node ``check()``
    methods (which catch ordinary exceptions) never turn it into a validation problem.

    Attributes:
        signum: The signal (SIGINT or SIGTERM).
        exit_code: 128 + signum, what a command line should exit with (130 / 143).
    """

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.message, self.signum, self.exit_code = message, signum, 128 + signum

    def __str__(self) -> str:
        return self.message


class _Terminated(KeyboardInterrupt):
    """Raised by the temporary SIGTERM handler, so one ``except`` handles both signals."""


@dataclass(frozen=True)
class Transfer:
    """A finished transfer into the partial file.

    Attributes:
        path: The partial file, now holding the whole download.
        sha256: Its digest.
        size: Its size in bytes.
        length_known: Whether the server said how long the file is (and all of it arrived).
        resumed_from: Bytes that were already there from an earlier try (0: a fresh download).
    """

    path: Path
    sha256: str
    size: int
    length_known: bool
    resumed_from: int


def partial_path(cache: Path, filename: str) -> Path:
    """The resumable partial download of cache file ``filename``."""
    return cache / f".{filename}.partial"


def _meta_path(partial: Path) -> Path:
    return partial.with_name(partial.name + ".json")


def discard_partial(cache: Path, filename: str) -> None:
    """Remove a partial download and its notes (after it was used, or when it is no good)."""
    partial = partial_path(cache, filename)
    partial.unlink(missing_ok=True)
    _meta_path(partial).unlink(missing_ok=True)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into an exception for the block, so the partial is flushed and kept.

    Only where it is safe and ours to do: in the main thread, and when nobody installed a
    handler of their own (the graph runner and applications keep theirs).
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read_meta(partial: Path) -> dict[str, Any]:
    try:
        data = json.loads(_meta_path(partial).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def fetch_to_partial(
    entry: ZooEntry, cache: Path, failure_hint: str, progress: bool = True, timeout: float = 30.0, pinned: bool = False
) -> Transfer:
    """Download ``entry.url`` into its partial file, resuming an earlier try when possible.

    Args:
        entry: What to fetch.
        cache: The cache directory.
        failure_hint: Appended to a network error: how to get the file some other way.
        progress: Draw a progress bar on stderr.
        timeout: Seconds to wait for the server at connect and between reads.
        pinned: Whether the result will be checked against a digest. A partial from an earlier
            try is only resumed when it is, or when the server gave a validator for ``If-Range``:
            otherwise a file changed upstream between two tries could be spliced and pinned.

    Returns:
        The complete transfer (not yet checked against any digest).

    Raises:
        DownloadInterrupted: Ctrl-C or SIGTERM; the partial is kept.
        ZooError: Network or HTTP failure, or the connection closed early (the partial is kept).
    """
    partial = partial_path(cache, entry.filename)
    meta = _read_meta(partial) if partial.is_file() else {}
    offset = 0
    if meta.get("url") == entry.url and (pinned or meta.get("validator")):
        offset = partial.stat().st_size
    elif partial.exists() or _meta_path(partial).exists():
        discard_partial(cache, entry.filename)  # another URL's bytes, or nothing to prove it unchanged
    with _sigterm_interrupts():
        try:
            return _transfer(entry, partial, offset, meta.get("validator"), failure_hint, progress, timeout)
        except _Terminated:
            raise _interrupted(entry, partial, signal.SIGTERM) from None
        except DownloadInterrupted:
            raise
        except KeyboardInterrupt:
            raise _interrupted(entry, partial, signal.SIGINT) from None


def _interrupted(entry: ZooEntry, partial: Path, signum: int) -> DownloadInterrupted:
    name = signal.Signals(signum).name
    if partial.is_file() and partial.stat().st_size:
        kept = f"{partial.stat().st_size} bytes are kept in {partial} and the next download resumes from there"
    else:
        kept = "nothing was stored"
    return DownloadInterrupted(f"download of {entry.name} interrupted by {name}: {kept}", signum)


def _open(entry: ZooEntry, offset: int, validator: str | None, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": "flowpose-zoo", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator  # a changed file comes back whole (200), never spliced
    return urllib.request.urlopen(urllib.request.Request(entry.url, headers=headers), timeout=timeout)


def _transfer(
    entry: ZooEntry,
    partial: Path,
    offset: int,
    validator: str | None,
    failure_hint: str,
    progress: bool,
    timeout: float,
) -> Transfer:
    try:
        try:
            response = _open(entry, offset, validator, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code != 416 or not offset:
                raise
            offset = 0  # "range not satisfiable": the partial is no prefix of what is there now
            response = _open(entry, 0, None, timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        # An HTTPError's own text has the status code; a URLError's reason is the socket error.
        reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", None) or exc
        raise ZooError(f"could not download {entry.name} from {entry.url}: {reason}. {failure_hint}") from None
    with response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        total = None
        status = getattr(response, "status", None)
        content_range = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range") or "")
        if offset and status == 206 and content_range and int(content_range.group(1)) == offset:
            mode, sha = "ab", _hash_prefix(partial)
            total = int(content_range.group(2)) if content_range.group(2).isdigit() else None
            logger.info("%s: resuming at byte %d of %s", entry.name, offset, total or "?")
        else:
            if offset:
                logger.info("%s: the server cannot resume (HTTP %s); starting over", entry.name, status)
            offset, mode, sha, total = 0, "wb", hashlib.sha256(), length
        new_validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        meta = {"url": entry.url, "validator": new_validator if mode == "wb" else validator, "total": total}
        _meta_path(partial).write_text(json.dumps(meta), encoding="utf-8")  # before any byte: resumable
        bar = ProgressBar(entry.name, total, start=offset) if progress else None
        received = 0
        read = getattr(response, "read1", response.read)  # read1: as bytes arrive, not per full chunk
        with partial.open(mode) as out:
            try:
                while chunk := read(CHUNK):
                    out.write(chunk)
                    sha.update(chunk)
                    received += len(chunk)
                    if bar:
                        bar.update(len(chunk))
            except (http.client.HTTPException, OSError) as exc:  # reset, timeout mid-body
                out.flush()
                raise ZooError(
                    f"download of {entry.name} from {entry.url} broke off after {offset + received} bytes "
                    f"({exc}); they are kept in {partial} and the next download resumes from there"
                ) from None
    if bar:
        bar.close()
    size = offset + received
    expected = total if total is not None else (offset + length if length is not None else None)
    if expected is not None and size != expected:
        raise ZooError(
            f"download of {entry.name} from {entry.url} ended early: {size} of {expected} bytes; they are kept "
            f"in {partial} and the next download resumes from there"
        )
    return Transfer(partial, sha.hexdigest(), size, expected is not None, offset)


def _hash_prefix(partial: Path) -> Any:
    """A sha256 object fed with what the partial already holds (the digest covers the whole file)."""
    sha = hashlib.sha256()
    with partial.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha
