"""First-use downloads through resolve_model from a local HTTP server: progress, pins, resume, truncation, offline."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from zoo_server import Served, ZooServer

from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.zoo import (
    INDEX_ENV,
    OFFLINE_ENV,
    ModelCheckSkipped,
    ModelNotFoundError,
    ProgressBar,
    ZooEntry,
    models_unchecked,
    resolve_model,
    verify_cache,
)

MODEL = np.random.default_rng(0).bytes(300_000)  # content does not matter: only bytes are checked here


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(INDEX_ENV, raising=False)
    monkeypatch.delenv(OFFLINE_ENV, raising=False)  # tests/conftest.py turns downloads off; here a local server
    return tmp_path / "cache"


@pytest.fixture
def zoo():
    server = ZooServer().start()
    yield server
    server.stop()


def entry(name: str, url: str, sha: str | None = None, **kw) -> dict[str, ZooEntry]:
    return {name: ZooEntry(name=name, url=url, sha256=sha, filename=f"{name}.onnx", **kw)}


def hidden(cache: Path) -> list[str]:
    """Partials and temporaries left in the cache (lock files aside)."""
    return sorted(p.name for p in cache.iterdir() if p.name.startswith(".") and p.name != ".locks")


def pins(cache: Path) -> dict:
    path = cache / "pins.json"
    return json.loads(path.read_text())["files"] if path.exists() else {}


# ---------------------------------------------------------------- first use, progress


def test_first_use_downloads_with_a_progress_bar_then_uses_the_cache(zoo, cache, capsys):
    # A tenth of the file every 50 ms: the client sees it arrive in parts even on a loaded machine
    # (a fast host may hand over several tenths in one read: how many lines is not fixed).
    entries = entry("m", zoo.add("/m.onnx", MODEL, chunk=30_000, delay=0.05), sha256(MODEL))
    path = resolve_model("zoo:m", entries=entries)
    assert path == cache / "m.onnx" and path.read_bytes() == MODEL
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("m: ")]
    # stderr is not a terminal here: a plain line each time a 10 % step is passed, then the final one
    # (test_progress_bar_plain_lines_per_ten_percent checks every step)
    percents = [int(line.split()[1].rstrip("%")) for line in lines]
    assert percents[-1] == 100 and len(lines) >= 2 and percents == sorted(set(percents))
    assert "/0.3 MB" in lines[0] and "MB/s ETA" in lines[0] and " in " in lines[-1]
    assert resolve_model("zoo:m", entries=entries) == path
    assert len(zoo.gets("/m.onnx")) == 1  # second use: the cache, no request
    assert hidden(cache) == []
    assert pins(cache)["m.onnx"]["origin"] == "registry"


def test_progress_bar_plain_lines_per_ten_percent():
    out = io.StringIO()  # not a terminal
    bar = ProgressBar("x", 1_000_000, stream=out)
    for _ in range(100):
        bar.update(10_000)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [f"{p}%" for p in range(10, 101, 10)]
    assert lines[0].startswith("x:  10% 0.1/1.0 MB ") and "ETA" in lines[0] and "ETA" not in lines[-1]


def test_progress_bar_on_a_terminal_and_without_total():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    bar = ProgressBar("x", 2_000_000, stream=out, interval=0.0)
    bar.update(1_000_000)
    bar.close()
    assert out.getvalue().startswith("x:  50% 1.0/2.0 MB ") and "\r" in out.getvalue()
    plain = io.StringIO()
    bar = ProgressBar("y", None, stream=plain, start=5_000_000)  # resumed, length unknown: a line per 10 MB
    for _ in range(24):
        bar.update(1_000_000)
    bar.close()
    assert [line.split()[1] for line in plain.getvalue().splitlines()] == ["10.0", "20.0", "29.0"]


# ---------------------------------------------------------------- pins


def test_trust_on_first_use_pin_then_tampering_and_a_changed_upstream_are_caught(zoo, cache, caplog):
    url = zoo.add("/t.onnx", MODEL)
    entries = entry("t", url)
    with caplog.at_level(logging.WARNING, logger="flowpose.zoo"):
        path = resolve_model("zoo:t", entries=entries, progress=False)
    assert f"pinned t on first download (no digest is published for it): sha256 {sha256(MODEL)} of {url}" in caplog.text
    record = pins(cache)["t.onnx"]
    assert (record["origin"], record["download_sha256"], record["sha256"], record["size"]) == (
        "first download",
        sha256(MODEL),
        sha256(MODEL),
        len(MODEL),
    )
    path.write_bytes(b"evil" + MODEL[4:])  # same size, new mtime: the cheap check re-hashes
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("zoo:t", entries=entries, progress=False)
    text = str(info.value)
    assert f"has sha256 {sha256(b'evil' + MODEL[4:])}, but it is pinned to {sha256(MODEL)}" in text
    assert "The file was removed" in text and "flowpose zoo download t" in text
    assert not path.exists()
    zoo.files["/t.onnx"] = Served(b"a different model" * 1000)  # upstream now serves other bytes
    with pytest.raises(ModelNotFoundError, match=r"sha256 mismatch for t .* \(pinned by its first download"):
        resolve_model("zoo:t", entries=entries, progress=False)
    assert not path.exists() and hidden(cache) == []
    zoo.files["/t.onnx"] = Served(MODEL)
    assert resolve_model("zoo:t", entries=entries, progress=False).read_bytes() == MODEL


def test_verify_rehashes_what_the_cheap_check_does_not_see(zoo, cache):
    entries = entry("t", zoo.add("/t.onnx", MODEL))
    path = resolve_model("zoo:t", entries=entries, progress=False)
    stat = path.stat()
    path.write_bytes(MODEL[:-1] + b"!")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime: only a full hash sees it
    assert resolve_model("zoo:t", entries=entries, progress=False) == path  # the documented limit of the cheap check
    (result,) = verify_cache(entries, cache)
    assert result.state == "MISMATCH" and "The file was removed" in result.detail
    assert not path.exists()
    assert [r.state for r in verify_cache(entries, cache)] == ["missing"]


def test_a_file_placed_by_hand_is_checked_against_a_registry_pin(cache):
    entries = entry("p", "https://example.invalid/p.onnx", sha256(MODEL))
    cache.mkdir()
    (cache / "p.onnx").write_bytes(b"not it")
    with pytest.raises(ModelNotFoundError, match=f"pinned to {sha256(MODEL)} \\(the zoo entry's sha256"):
        resolve_model("zoo:p", entries=entries, offline=True)
    assert not (cache / "p.onnx").exists()
    (cache / "p.onnx").write_bytes(MODEL)
    assert resolve_model("zoo:p", entries=entries, offline=True) == cache / "p.onnx"


# ---------------------------------------------------------------- truncation without Content-Length


def test_a_pinned_download_cut_short_without_length_fails_its_digest(zoo, cache):
    entries = entry("p", zoo.add("/p.onnx", MODEL, length=False, cut=100_000), sha256(MODEL))
    with pytest.raises(ModelNotFoundError, match="sha256 mismatch for p"):
        resolve_model("zoo:p", entries=entries, progress=False)
    assert not (cache / "p.onnx").exists() and hidden(cache) == []


def test_an_unpinned_download_without_length_is_refused_unless_a_size_proves_it(zoo, cache):
    url = zoo.add("/u.onnx", MODEL, length=False, cut=100_000)
    with pytest.raises(ModelNotFoundError, match=r"sent no Content-Length .* cannot be told from one cut short"):
        resolve_model("zoo:u", entries=entry("u", url), progress=False)
    assert not (cache / "u.onnx").exists() and hidden(cache) == [] and pins(cache) == {}
    sized = entry("u", url, size=len(MODEL))
    with pytest.raises(ModelNotFoundError, match="has 100000 bytes, but the zoo entry says 300000"):
        resolve_model("zoo:u", entries=sized, progress=False)
    zoo.files["/u.onnx"].cut = None
    assert resolve_model("zoo:u", entries=sized, progress=False).read_bytes() == MODEL


def test_an_unpinned_zip_without_length_is_accepted_only_whole(zoo, cache):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("2023/end2end.onnx", MODEL)  # stored: a cut archive is short of its directory
    archive = buf.getvalue()
    entries = entry("z", zoo.add("/z.zip", archive, length=False, cut=len(archive) - 50), member="end2end.onnx")
    with pytest.raises(ModelNotFoundError, match="not a valid zip archive"):
        resolve_model("zoo:z", entries=entries, progress=False)
    assert not (cache / "z.onnx").exists() and hidden(cache) == [] and pins(cache) == {}
    zoo.files["/z.zip"].cut = None
    assert resolve_model("zoo:z", entries=entries, progress=False).read_bytes() == MODEL
    assert pins(cache)["z.onnx"]["download_sha256"] == sha256(archive)


# ---------------------------------------------------------------- resume


def test_a_broken_download_resumes_with_a_range_request(zoo, cache):
    entries = entry("r", zoo.add("/r.onnx", MODEL, cut=120_000), sha256(MODEL))
    with pytest.raises(ModelNotFoundError, match="ended early: 120000 of 300000 bytes; they are kept in"):
        resolve_model("zoo:r", entries=entries, progress=False)
    partial = cache / ".r.onnx.partial"
    assert partial.stat().st_size == 120_000 and not (cache / "r.onnx").exists()
    zoo.files["/r.onnx"].cut = None
    assert resolve_model("zoo:r", entries=entries, progress=False).read_bytes() == MODEL
    first, second = zoo.gets("/r.onnx")
    assert "range" not in first
    assert second["range"] == "bytes=120000-" and second["if-range"] == zoo.files["/r.onnx"].etag
    assert zoo.sent["/r.onnx"] == len(MODEL)  # 120000, then only the rest
    assert hidden(cache) == []


def test_a_server_without_range_support_starts_over(zoo, cache):
    entries = entry("r", zoo.add("/r.onnx", MODEL, cut=120_000, ranges=False), sha256(MODEL))
    with pytest.raises(ModelNotFoundError, match="ended early"):
        resolve_model("zoo:r", entries=entries, progress=False)
    zoo.files["/r.onnx"].cut = None
    assert resolve_model("zoo:r", entries=entries, progress=False).read_bytes() == MODEL
    assert zoo.gets("/r.onnx")[1]["range"] == "bytes=120000-"
    assert zoo.sent["/r.onnx"] == 120_000 + len(MODEL)  # answered 200: everything again, nothing spliced


def test_a_file_changed_upstream_between_tries_is_not_spliced(zoo, cache):
    entries = entry("c", zoo.add("/c.onnx", MODEL, cut=120_000))  # unpinned: If-Range guards the resume
    with pytest.raises(ModelNotFoundError, match="ended early"):
        resolve_model("zoo:c", entries=entries, progress=False)
    new = MODEL[::-1]
    zoo.files["/c.onnx"] = Served(new)  # another ETag: the server answers 200 with the whole new file
    assert resolve_model("zoo:c", entries=entries, progress=False).read_bytes() == new
    assert pins(cache)["c.onnx"]["download_sha256"] == sha256(new)


# ---------------------------------------------------------------- offline, graph


def test_offline_opens_no_socket_and_names_url_and_path(zoo, cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened while offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    url = zoo.add("/o.zip", b"zip bytes")
    entries = entry("o", url, member="end2end.onnx")
    monkeypatch.setenv(OFFLINE_ENV, "1")
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("zoo:o", entries=entries)
    assert str(info.value) == (
        "zoo model 'o' is not downloaded and downloads are off (--offline or FLOWPOSE_OFFLINE=1): "
        f"download {url}, extract 'end2end.onnx' from the zip (at any depth) and save it as {cache / 'o.onnx'}"
    )
    monkeypatch.delenv(OFFLINE_ENV)
    with pytest.raises(ModelNotFoundError, match="downloads are off"):
        resolve_model("zoo:o", entries=entries, offline=True)  # the API's own switch
    assert zoo.requests == []


def test_checking_a_graph_without_its_models(cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    text = (
        "nodes:\n"
        "  - {name: cam, type: TestPattern, outputs: [frames], params: {count: 1, live: false}}\n"
        "  - {name: det, type: Detector, inputs: [frames], outputs: [dets], params: {model: 'zoo:yolox-nano'}}\n"
        "  - {name: sink, type: NullSink, inputs: [dets]}\n"
    )
    with pytest.raises(GraphError, match="downloads are off"):
        validate_text(text, "g.yaml")
    with models_unchecked():
        with pytest.raises(ModelCheckSkipped):
            resolve_model("zoo:yolox-nano")
        graph = validate_text(text, "g.yaml")  # structure only: no model looked at, nothing to download
        with pytest.raises(GraphError, match="unknown param 'modle'"):
            validate_text(text.replace("{model:", "{modle:"), "g.yaml")  # params are still checked
    assert list(graph.classes) == ["cam", "det", "sink"]
    assert not cache.exists()
