"""Tests for flowpose.zoo against a real HTTP server on 127.0.0.1, and the zoo/model CLI commands."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import http.server
import io
import json
import logging
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from flowpose.cli import zoo_commands
from flowpose.models import card_from_spec, create_session, find_card, resolve_card
from flowpose.zoo import (
    BUILTIN_ENTRIES,
    INDEX_ENV,
    OFFLINE_ENV,
    ModelNotFoundError,
    ZooEntry,
    ZooError,
    cache_dir,
    download,
    resolve_model,
    zoo_entries,
)
from flowpose.zoo.lock import LOCK_DIR

MODEL_BYTES = b"pretend this is an onnx model" * 1000
ZIP_MEMBER = "20230831/rtmpose_onnx/rtmpose-m_x/end2end.onnx"  # nested, as upstream zips are


def make_model(path: Path, size_wh=(192, 256), outputs=("simcc_x", "simcc_y")) -> Path:
    """A tiny valid ONNX model with an mmdeploy-like input name; outputs are Identities."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w, h = size_wh
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    nodes = [helper.make_node("Identity", ["input"], [n]) for n in outputs]
    graph = helper.make_graph(nodes, "t", [inp], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www over HTTP; yields (base URL, folder, list of requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):  # http.server calls it by this name
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):  # keep test output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(INDEX_ENV, raising=False)
    monkeypatch.delenv(OFFLINE_ENV, raising=False)  # tests/conftest.py turns downloads off; these use a local server
    return tmp_path / "cache"


def entry(name: str, url: str, sha: str | None, **kw) -> dict[str, ZooEntry]:
    fields = {"filename": f"{name}.onnx", "card": {"preset": "rtmpose_simcc"}, **kw}
    return {name: ZooEntry(name=name, url=url, sha256=sha, **fields)}


def leftovers(folder: Path) -> list[str]:
    """Hidden files left in the cache (partials, temporaries), lock files aside: they stay by design."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != LOCK_DIR)


def test_download_plain_file(server, cache, capsys):
    base, root, requests = server
    (root / "m.onnx").write_bytes(MODEL_BYTES)
    entries = entry("plain", f"{base}/m.onnx", sha256(MODEL_BYTES))
    path = download("plain", entries=entries)
    assert path == cache / "plain.onnx" and path.read_bytes() == MODEL_BYTES
    assert (cache / "plain.card.yaml").read_text() == "preset: rtmpose_simcc\n"
    assert leftovers(cache) == []
    assert "plain: 100% 0.0/0.0 MB" in capsys.readouterr().err  # the progress bar's last line
    assert download("plain", entries=entries, progress=False) == path  # cached: no second request
    assert requests == ["/m.onnx"]
    assert resolve_model("zoo:plain", entries=entries) == path


def test_a_zip_without_published_digest_is_pinned_on_first_download(server, cache, caplog):
    base, root, _ = server
    archive = make_zip({ZIP_MEMBER: MODEL_BYTES, "20230831/rtmpose_onnx/rtmpose-m_x/deploy.json": b"{}"})
    (root / "m.zip").write_bytes(archive)
    entries = entry("zipped", f"{base}/m.zip", None, member="end2end.onnx")
    with caplog.at_level(logging.WARNING, logger="flowpose.zoo"):
        path = download("zipped", entries=entries, progress=False)  # no flag needed any more
    assert path.read_bytes() == MODEL_BYTES
    assert "pinned zipped on first download" in caplog.text
    assert sha256(archive) in caplog.text and f"{base}/m.zip" in caplog.text
    pin = json.loads((cache / "pins.json").read_text())["files"]["zipped.onnx"]
    assert (pin["download_sha256"], pin["sha256"], pin["origin"]) == (
        sha256(archive),
        sha256(MODEL_BYTES),
        "first download",
    )
    assert leftovers(cache) == []
    assert download("zipped", entries=entries, allow_unverified=True, progress=False) == path  # still accepted


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (
            {"a/model.onnx": b"x"},
            "expected one 'end2end.onnx' in the zip, found none; it holds ['a/model.onnx']",
        ),
        ({"a/end2end.onnx": b"x", "b/end2end.onnx": b"y"}, "found 2"),
    ],
)
def test_zip_without_a_single_member(server, cache, members, message):
    base, root, _ = server
    (root / "m.zip").write_bytes(make_zip(members))
    entries = entry("zipped", f"{base}/m.zip", None, member="end2end.onnx")
    with pytest.raises(ZooError) as info:
        download("zipped", entries=entries, progress=False)
    assert message in str(info.value)
    assert not (cache / "zipped.onnx").exists() and leftovers(cache) == []


def test_not_a_zip(server, cache):
    base, root, _ = server
    (root / "m.zip").write_bytes(b"<html>captive portal</html>")
    entries = entry("zipped", f"{base}/m.zip", None, member="end2end.onnx")
    with pytest.raises(ZooError, match="not a valid zip archive"):
        download("zipped", entries=entries, progress=False)
    assert leftovers(cache) == []


def test_hash_mismatch_removes_the_download(server, cache):
    base, root, _ = server
    (root / "m.onnx").write_bytes(MODEL_BYTES)
    wrong = "0" * 64
    with pytest.raises(ZooError) as info:
        download("plain", entries=entry("plain", f"{base}/m.onnx", wrong), progress=False)
    text = str(info.value)
    assert f"expected {wrong} (pinned by the zoo entry), got {sha256(MODEL_BYTES)}" in text and "removed" in text
    assert not (cache / "plain.onnx").exists() and leftovers(cache) == [] and not (cache / "pins.json").exists()


def test_offline_says_what_failed_and_what_to_do(cache):
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/m.onnx"
    with pytest.raises(ZooError) as info:
        download("plain", entries=entry("plain", url, "a" * 64), progress=False, timeout=5)
    text = str(info.value)
    assert f"could not download plain from {url}" in text
    assert "refused" in text.lower()
    assert "`model: /path/to/model.onnx`" in text and str(cache / "plain.onnx") in text
    assert leftovers(cache) == []


def test_http_error(server):
    base, _, _ = server
    with pytest.raises(ZooError, match="HTTP Error 404"):
        download("gone", entries=entry("gone", f"{base}/gone.onnx", "a" * 64), progress=False)


def test_resolve_model_offline_names_the_url_and_the_path(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    entries = {
        **entry("pinned", "https://example.invalid/m.onnx", "a" * 64),
        **entry("loose", "https://example.invalid/m.zip", None, member="end2end.onnx"),
    }
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("zoo:pinned", entries=entries)
    assert str(info.value) == (
        "zoo model 'pinned' is not downloaded and downloads are off (--offline or FLOWPOSE_OFFLINE=1): "
        f"download https://example.invalid/m.onnx and save it as {cache / 'pinned.onnx'}"
    )
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("zoo:loose", entries=entries)
    assert str(info.value).endswith(
        f"download https://example.invalid/m.zip, extract 'end2end.onnx' from the zip (at any depth) and save it as "
        f"{cache / 'loose.onnx'}"
    )
    with pytest.raises(ModelNotFoundError, match=r"unknown zoo model 'pinnd' \(did you mean 'pinned'\?\)"):
        resolve_model("zoo:pinnd", entries=entries)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        resolve_model(tmp_path / "nope.onnx")
    local = tmp_path / "mine.onnx"
    local.write_bytes(b"x")
    assert resolve_model(str(local)) == local


def test_a_model_placed_in_the_cache_by_hand_gets_its_card(cache):
    entries = entry(
        "byhand",
        "https://example.invalid/m.zip",
        None,
        member="end2end.onnx",
        card={"preset": "rtmpose_simcc", "keypoint_layout": "ap10k", "labels": ["dog"]},
    )
    cache.mkdir()
    make_model(cache / "byhand.onnx")
    found = find_card(resolve_model("zoo:byhand", entries=entries))
    assert (found.source, found.card.keypoint_layout, found.card.labels) == ("sidecar", "ap10k", ("dog",))


def test_index_file_adds_entries(server, cache, tmp_path, monkeypatch):
    base, root, _ = server
    (root / "m.onnx").write_bytes(MODEL_BYTES)
    index = tmp_path / "index.yaml"
    index.write_text(
        f"extra:\n  url: {base}/m.onnx\n  sha256: {sha256(MODEL_BYTES)}\n  filename: extra.onnx\n"
        "  card: {preset: yolox}\n  description: from an index\n"
    )
    monkeypatch.setenv(INDEX_ENV, str(index))
    assert set(BUILTIN_ENTRIES) < set(zoo_entries())
    assert download("extra", progress=False) == cache / "extra.onnx"
    index.write_text("extra:\n  url: https://x/y.onnx\n  filename: x.onnx\n  size: 10\n  ap: 70.1\n  alt_sha256: []\n")
    assert zoo_entries()["extra"].size == 10 and zoo_entries()["extra"].ap == 70.1
    index.write_text("extra:\n  url: ftp://nowhere/m.onnx\n  filename: x.onnx\n")
    with pytest.raises(ZooError, match=r"index\.yaml: entry 'extra': .*url must start with"):
        zoo_entries()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "bad name"}, "zoo name must be"),
        ({"sha256": "abc"}, "sha256 must be 64 hex digits"),
        ({"filename": "../x.onnx"}, "filename must be a plain file name"),
        ({"card": {"preset": "nope"}}, "unknown preset 'nope'"),
        ({"url": "ftp://x/y"}, "url must start with"),
        ({"alt_sha256": ("a" * 64,)}, "alt_sha256 needs a sha256 too"),
        ({"sha256": "a" * 64, "alt_sha256": ("xyz",)}, "alt_sha256: sha256 must be 64 hex digits"),
        ({"size": 0}, "size must be a positive number of bytes"),
        ({"ap": "high"}, "ap must be a non-negative number"),
        ({"cpu_ms": -1.0}, "cpu_ms must be a non-negative number"),
    ],
)
def test_entry_validation(fields, message):
    base = {"name": "ok", "url": "https://x/y.onnx", "sha256": None, "filename": "y.onnx"}
    with pytest.raises(ValueError, match=message):
        ZooEntry(**{**base, **fields})


def test_builtin_entries():
    assert list(BUILTIN_ENTRIES) == [
        "yolox-nano",
        "yolox-tiny",
        "yolox-s",
        "rtmdet-nano",
        "rtmdet-m",
        "rtmpose-t-body7",
        "rtmpose-s-body7",
        "rtmpose-m-body7",
        "rtmpose-l-body7",
        "rtmpose-m-ap10k",
    ]
    assert BUILTIN_ENTRIES["yolox-nano"].verified and BUILTIN_ENTRIES["yolox-nano"].card["preset"] == "yolox"
    assert len(BUILTIN_ENTRIES["yolox-nano"].digests) == 2
    for e in BUILTIN_ENTRIES.values():
        assert e.url.startswith("https://") and e.source.startswith("https://github.com/")
        assert e.ap is not None and e.ap_dataset, e.name  # every real model shows upstream's accuracy
        card = card_from_spec(e.card)  # every card fits its preset
        assert card.input_size == tuple(e.card.get("input_size", card.input_size))
        assert e.download_command == f"flowpose zoo download {e.name}"  # no --allow-unverified any more
    assert BUILTIN_ENTRIES["rtmpose-m-ap10k"].card["keypoint_layout"] == "ap10k"
    assert card_from_spec(BUILTIN_ENTRIES["yolox-s"].card).input_size == (640, 640)
    assert card_from_spec(BUILTIN_ENTRIES["rtmdet-nano"].card).classes == ("person",)
    assert card_from_spec(BUILTIN_ENTRIES["rtmdet-nano"].card).input_size == (320, 320)
    # Upstream's figures, as published (RTMPose README Body8 / Animal tables, YOLOX README).
    figures = {n: (e.ap, e.cpu_ms) for n, e in BUILTIN_ENTRIES.items()}
    assert figures["rtmpose-t-body7"] == (65.9, 3.20) and figures["rtmpose-l-body7"] == (76.7, 18.85)
    assert figures["rtmpose-m-ap10k"] == (72.2, 14.157) and figures["yolox-nano"] == (25.8, None)


# ---------------------------------------------------------------- CLI


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="flowpose")
    zoo_commands.add_parsers(parser.add_subparsers(dest="command", required=True))
    return zoo_commands.dispatch(parser.parse_args(argv))


def test_cli_list_download_and_info(server, cache, tmp_path, monkeypatch, capsys):
    base, root, _ = server
    (root / "m.onnx").write_bytes(MODEL_BYTES)
    index = tmp_path / "index.yaml"
    index.write_text(f"extra:\n  url: {base}/m.onnx\n  filename: extra.onnx\n  description: test entry\n")
    monkeypatch.setenv(INDEX_ENV, str(index))
    assert run_cli("zoo", "list") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "TASK", "INPUT", "AP", "CPU", "ms", "STATE", "PIN", "DESCRIPTION"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert rows["rtmpose-m-body7"][1:8] == ["pose", "192x256", "74.9", "COCO", "11.06", "-", "1st-use"]
    assert rows["yolox-nano"][1:8] == ["detection", "416x416", "25.8", "COCO", "box", "-", "-"]
    assert rows["extra"][-3:] == ["test", "entry"] or "test entry" in out
    assert f"cache: {cache}" in out
    assert run_cli("zoo", "download", "extra", "--no-progress") == 0  # no --allow-unverified needed
    assert capsys.readouterr().out.strip() == str(cache / "extra.onnx")
    assert run_cli("zoo", "download", "extra", "--allow-unverified", "--no-progress") == 0  # still accepted
    assert capsys.readouterr().out.strip() == str(cache / "extra.onnx")
    assert run_cli("zoo", "list") == 0
    assert "cached    pinned" in capsys.readouterr().out
    assert run_cli("zoo", "download", "nope") == 2
    assert run_cli("model", "info", "zoo:yolox-nano", "--offline") == 2
    err = capsys.readouterr().err
    assert "downloads are off" in err and "yolox_nano.onnx" in err


def test_cli_model_info(tmp_path, capsys):
    model = make_model(tmp_path / "m.onnx")
    assert run_cli("model", "info", str(model)) == 2
    assert "no model card applies" in capsys.readouterr().err
    assert run_cli("model", "info", str(model), "--preset", "rtmpose_simcc") == 0
    out = capsys.readouterr().out
    assert "card:   preset (rtmpose_simcc)" in out and "input:  input [1, 3, 256, 192]" in out
    assert "keypoint_layout:coco17" in out.replace(" ", "")
    assert run_cli("model", "info", str(model), "--preset", "rtmpose_simcc", "--json") == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["source"] == "preset" and payload["card"]["codec"]["type"] == "simcc"


# ---------------------------------------------------------------- the real YOLOX-nano


@pytest.mark.realdata
def test_real_yolox_nano(shared_dir, server, cache):
    real = shared_dir / "models" / "yolox_nano.onnx"
    pinned = BUILTIN_ENTRIES["yolox-nano"]
    assert hashlib.sha256(real.read_bytes()).hexdigest() == pinned.sha256  # the copy the pin was computed from
    card = resolve_card(real, preset="yolox")
    assert (card.decoder, card.input_size, card.color_order, card.input_name) == (
        "yolox",
        (416, 416),
        "bgr",
        "images",
    )
    # The real entry, served locally: the pinned hash checks the real bytes, the sidecar gives the card.
    base, root, _ = server
    (root / "yolox_nano.onnx").symlink_to(real)
    entries = {"yolox-nano": dataclasses.replace(pinned, url=f"{base}/yolox_nano.onnx")}
    path = download("yolox-nano", entries=entries, progress=False)
    assert path == cache_dir() / "yolox_nano.onnx"
    found = find_card(resolve_model("zoo:yolox-nano", entries=entries))
    assert found.source == "sidecar" and found.card.classes[15:17] == ("cat", "dog")
    session = create_session(path, intra_op_threads=1)
    (out,) = session.run(None, {"images": np.zeros((1, 3, 416, 416), np.float32)})
    assert out.shape == (1, 3549, 85)
