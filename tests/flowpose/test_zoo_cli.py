"""The zoo through real `flowpose` processes: first use, signals, two processes at once, verify, offline."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time

import pytest
from zoo_server import ZooServer

from cli_support import FLOWPOSE, run_cli

pytest.importorskip("onnx")
from onnx_models import EncodedBox, yolox_raw_model

SLOW = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def zoo():
    server = ZooServer().start()
    yield server
    server.stop()


@pytest.fixture
def setup(tmp_path, zoo):
    """An index of test entries served by ``zoo``, a cache, and the environment of a user who is online."""
    det = yolox_raw_model(tmp_path / "det.onnx", [EncodedBox(32, 32, 16, 16, score=0.9)], input_size=(64, 64))
    data = det.read_bytes()
    index = tmp_path / "index.yaml"
    index.write_text(
        f"tiny-det:\n  url: {zoo.add('/det.onnx', data)}\n  sha256: {hashlib.sha256(data).hexdigest()}\n"
        "  filename: tiny_det.onnx\n  card: {preset: yolox, input_size: [64, 64]}\n"
        f"slow:\n  url: {zoo.add('/slow.bin', SLOW, chunk=16 * 1024, delay=0.05)}\n  filename: slow.onnx\n"
    )
    cache = tmp_path / "cache"
    env = {**os.environ, "FLOWPOSE_CACHE": str(cache), "FLOWPOSE_ZOO_INDEX": str(index)}
    env.pop("FLOWPOSE_OFFLINE", None)  # tests/conftest.py sets it for everything else
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        "  - {name: cam, type: TestPattern, outputs: [frames],\n"
        "     params: {count: 3, live: false, width: 64, height: 48}}\n"
        "  - {name: det, type: Detector, inputs: [frames], outputs: [dets], params: {model: 'zoo:tiny-det'}}\n"
        "  - {name: sink, type: NullSink, inputs: [dets]}\n"
    )
    return cache, env, graph


def test_validate_and_run_download_on_first_use(zoo, setup):
    cache, env, graph = setup
    res = run_cli("graph", str(graph), env={**env, "FLOWPOSE_OFFLINE": "1"})  # drawing needs no model
    assert res.returncode == 0, res.stderr
    assert "Detector" in res.stdout and zoo.requests == [] and not (cache / "tiny_det.onnx").exists()
    res = run_cli("validate", str(graph), "--offline", env=env)
    assert res.returncode == 2
    assert f"{zoo.base}/det.onnx and save it as {cache / 'tiny_det.onnx'}" in res.stderr and zoo.requests == []
    res = run_cli("validate", str(graph), env=env)
    assert res.returncode == 0, res.stderr
    assert "tiny-det: 100%" in res.stderr  # the progress bar's last line
    assert (cache / "tiny_det.onnx").is_file() and "OK" in res.stdout
    res = run_cli("run", str(graph), env=env)
    assert res.returncode == 0, res.stderr
    assert len(zoo.gets("/det.onnx")) == 1  # validate fetched it; run found it in the cache


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_download_keeps_the_partial_then_the_next_run_resumes(zoo, setup, signum, code):
    cache, env, _ = setup
    partial = cache / ".slow.onnx.partial"
    proc = subprocess.Popen(
        [*FLOWPOSE, "zoo", "download", "slow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not (partial.exists() and partial.stat().st_size >= 64 * 1024):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1].startswith(f"flowpose: download of slow interrupted by {name}: ")
    assert "Traceback" not in err
    kept = partial.stat().st_size
    assert f"{kept} bytes are kept in {partial}" in err
    assert 0 < kept < len(SLOW) and not (cache / "slow.onnx").exists()
    zoo.files["/slow.bin"].delay = 0.0
    res = run_cli("zoo", "download", "slow", env=env)
    assert res.returncode == 0, res.stderr
    assert (cache / "slow.onnx").read_bytes() == SLOW and not partial.exists()
    assert zoo.gets("/slow.bin")[-1]["range"] == f"bytes={kept}-"


def test_two_processes_download_one_file_once(zoo, setup):
    cache, env, _ = setup
    zoo.files["/slow.bin"].delay = 0.03  # ~2 s: the second process starts while the first downloads
    procs = [
        subprocess.Popen(
            [*FLOWPOSE, "zoo", "download", "slow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    assert [out.strip() for out, _ in results] == [str(cache / "slow.onnx")] * 2
    assert len(zoo.gets("/slow.bin")) == 1 and zoo.sent["/slow.bin"] == len(SLOW)
    assert any("another process is fetching slow; waiting for it" in err for _, err in results)
    assert (cache / "slow.onnx").read_bytes() == SLOW


def test_zoo_verify_reports_and_removes_a_mismatch(zoo, setup):
    cache, env, _ = setup
    zoo.files["/slow.bin"].delay = 0.0
    assert run_cli("zoo", "download", "slow", "--no-progress", env=env).returncode == 0
    assert run_cli("zoo", "download", "tiny-det", "--no-progress", env=env).returncode == 0
    res = run_cli("zoo", "verify", "slow", "tiny-det", env=env)
    assert res.returncode == 0, res.stdout
    assert res.stdout.splitlines()[0].split()[:2] == ["slow", "OK"]
    model = cache / "slow.onnx"
    stat = model.stat()
    model.write_bytes(b"X" + SLOW[1:])
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # invisible to the cheap check
    res = run_cli("zoo", "verify", "slow", "tiny-det", env=env)
    assert res.returncode == 1
    assert res.stdout.splitlines()[0].split()[:2] == ["slow", "MISMATCH"]
    assert "The file was removed; it is downloaded again on next use" in res.stdout
    assert res.stdout.splitlines()[1].split()[:2] == ["tiny-det", "OK"]
    assert not model.exists()
    res = run_cli("zoo", "verify", "slow", env=env)
    assert res.returncode == 0 and res.stdout.split()[:2] == ["slow", "missing"]
