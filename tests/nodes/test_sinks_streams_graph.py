"""The sinks behind a real multi-stream source (SyntheticScene ``streams:``) in a running graph."""

from __future__ import annotations

import json
import logging
import socket
import textwrap
import threading
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import validate_text
from flowpose.nodes.video_writers import h264_encoder
from video_support import probe
from web_support import RunningGraph

STREAMS = ["scene0", "scene1", "scene2"]


@pytest.mark.skipif(h264_encoder() is None, reason="this PyAV has no H.264 encoder")
def test_recorders_keep_every_stream_apart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    graph = f"""\
    nodes:
      - name: scene
        type: SyntheticScene
        outputs: [frames]
        params: {{streams: 3, count: 24, live: false, width: 320, height: 240, emit_instances: true, fps: 20}}
      - {{name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}}
      - {{name: rec, type: VideoRecorder, inputs: [annotated], params: {{path: '{tmp_path}/{{stream}}.mp4'}}}}
      - {{name: poses, type: PoseRecorder, inputs: [frames], params: {{path: '{tmp_path}/poses.jsonl'}}}}
    """
    with caplog.at_level(logging.INFO, logger="flowpose"):
        result = GraphRunner(validate_text(textwrap.dedent(graph), "t.yaml")).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    firsts = {}
    for stream in STREAMS:
        info = probe(tmp_path / f"{stream}.mp4")
        assert (info.codec, info.width, info.height, info.frames) == ("h264", 320, 240, 24), stream
        assert info.fps == pytest.approx(20.0, rel=1e-3)  # each stream's own scene time
        cap = cv2.VideoCapture(str(tmp_path / f"{stream}.mp4"))
        firsts[stream] = cap.read()[1]
        cap.release()
    # Three scenes with their own seeds: three different videos, not one stream split in three.
    for a, b in [("scene0", "scene1"), ("scene1", "scene2")]:
        assert np.abs(firsts[a].astype(int) - firsts[b].astype(int)).mean() > 2, (a, b)
    lines = [json.loads(line) for line in (tmp_path / "poses.jsonl").read_text().splitlines()]
    assert sorted({line["stream"] for line in lines}) == STREAMS
    for stream in STREAMS:
        ids = [line["frame_id"] for line in lines if line["stream"] == stream]
        assert len(ids) == 24 and ids == sorted(ids), stream
    coco = json.loads((tmp_path / "poses.coco.json").read_text())
    assert sorted({r["stream"] for r in coco}) == STREAMS
    wrote = [r.getMessage() for r in caplog.records if r.name == "flowpose.node.rec" and "wrote " in r.getMessage()]
    assert sorted(line.rsplit("(stream ", 1)[1] for line in wrote) == [f"'{s}')" for s in STREAMS]


def test_browser_view_shows_every_stream_of_a_running_graph() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    graph = f"""\
    nodes:
      - name: scene
        type: SyntheticScene
        outputs: [frames]
        params: {{streams: 3, width: 320, height: 240, emit_instances: true, fps: 15}}
      - {{name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}}
      - {{name: view, type: BrowserView, inputs: [annotated], params: {{port: {port}, banner: false}}}}
    """
    url = f"http://127.0.0.1:{port}"
    with RunningGraph(graph):
        streams: list[str] = []
        for _ in range(200):  # until the view listens and every stream has shown a frame
            try:
                with urllib.request.urlopen(url + "/stats.json", timeout=5) as resp:
                    streams = json.loads(resp.read())["streams"]
            except OSError:
                pass
            if streams == STREAMS:
                break
            threading.Event().wait(0.05)
        assert streams == STREAMS
        jpegs = []
        for stream in STREAMS:
            with urllib.request.urlopen(f"{url}/frame.jpg?stream={stream}", timeout=5) as resp:
                jpegs.append(cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR))
        assert all(j.shape == (240, 320, 3) for j in jpegs)
        assert np.abs(jpegs[0].astype(int) - jpegs[1].astype(int)).mean() > 2  # different scenes
