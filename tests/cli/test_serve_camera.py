"""``flowpose serve`` over a real Camera (``sources: []``, ``keep_open``): a video file added by HTTP
plays to its end, which ends that stream alone; a file that is not there is a 400."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import env_with_support, start_serve, wait_for, wait_ready

GRAPH = """\
name: cameras
nodes:
  - {name: cams, type: Camera, outputs: [frames], params: {sources: [], keep_open: true}}
  - {name: count, type: 'test_serve_support:CountStreams', inputs: [frames]}
"""
FRAMES = 12


def write_clip(path: Path) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()


def test_a_video_file_added_to_a_camera_plays_and_ends_alone(tmp_path: Path) -> None:
    write_clip(tmp_path / "clip.avi")
    served = start_serve(tmp_path, env_with_support(dict(os.environ)), graph=GRAPH)
    try:
        wait_ready(served)
        assert served.call("GET", "/api/streams").body == []
        missing = served.call("POST", "/api/streams", {"source": "gone.avi", "id": "gone"})
        assert missing.status == 400 and "gone.avi" in missing.body["error"]

        added = served.call("POST", "/api/streams", {"source": "clip.avi", "id": "clip"})  # relative to the cwd
        assert added.status == 201, added
        assert added.body["live"] is False
        wait_for("the end of the clip", lambda: served.counter("count", "ended_clip") == 1, served)
        assert 0 < served.counter("count", "seen_clip") <= FRAMES
        assert served.stream_frames("clip") == FRAMES  # the source read every frame of the file
        assert served.call("GET", "/api/health").body["status"] == "running"  # keep_open: the graph goes on
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 143, served.stderr()
    assert "Traceback" not in served.stderr()
