"""End to end: ``flowpose serve`` over a real SyntheticScene (keep_open), streams added and removed by
HTTP and by ``flowpose streams`` while the graph runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_serve_support, as the subprocess imports it

from test_serve_support import FLOWPOSE, env_with_support, start_serve, wait_for, wait_ready

GRAPH = """\
name: scenes
nodes:
  - name: scene
    type: SyntheticScene
    outputs: [frames]
    params: {width: 96, height: 64, fps: 20, people: 1, animals: 0, occluders: 0, keep_open: true}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: count, type: 'test_serve_support:CountStreams', inputs: [out]}
"""


def test_synthetic_streams_come_and_go_while_the_graph_runs(tmp_path: Path) -> None:
    env = env_with_support(dict(os.environ))
    served = start_serve(tmp_path, env, graph=GRAPH)
    try:
        wait_ready(served)
        wait_for("frames of the first scene", lambda: served.counter("count", "seen_scene") > 3, served)

        added = served.call("POST", "/api/streams", {"source": "synthetic"})
        assert added.status == 201, added
        new_id = added.body["id"]
        assert new_id != "scene" and added.body["node"] == "scene"
        wait_for("frames of the added scene", lambda: served.counter("count", f"seen_{new_id}") > 3, served)
        listed = {s["id"]: s for s in served.call("GET", "/api/streams").body}
        assert listed[new_id]["frames"] > 3 and listed["scene"]["state"] == "running"

        # The CLI adds one more, with its own id, and removes it.
        cli_env = {**env, "FLOWPOSE_TOKEN": str(served.token), "FLOWPOSE_URL": served.url}
        run = [*FLOWPOSE, "streams"]
        res = subprocess.run([*run, "add", "synthetic", "--id", "yard"], capture_output=True, text=True, env=cli_env)
        assert res.returncode == 0 and res.stdout.startswith("added stream yard"), res.stderr
        wait_for("frames of yard", lambda: served.counter("count", "seen_yard") > 0, served)
        res = subprocess.run([*run, "rm", "yard"], capture_output=True, text=True, env=cli_env)
        assert res.returncode == 0, res.stderr

        assert served.call("DELETE", f"/api/streams/{new_id}").status == 204
        wait_for("the end of the added scene", lambda: served.counter("count", f"ended_{new_id}") == 1, served)
        wait_for("the end of yard", lambda: served.counter("count", "ended_yard") == 1, served)
        seen_new, seen_first = served.counter("count", f"seen_{new_id}"), served.counter("count", "seen_scene")
        wait_for(
            "more frames of the first scene", lambda: served.counter("count", "seen_scene") > seen_first + 5, served
        )
        assert served.counter("count", f"seen_{new_id}") == seen_new
        assert all(n["restarts"] == 0 for n in served.stats()["nodes"])
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 130, served.stderr()
    assert "Traceback" not in served.stderr()


RECORDING = """\
name: recorded
nodes:
  - name: scene
    type: SyntheticScene
    outputs: [frames]
    params: {width: 96, height: 64, fps: 20, people: 1, animals: 0, occluders: 0, keep_open: true}
  - {name: rec, type: VideoRecorder, inputs: [frames], params: {path: 'out/{stream}.mp4', fps: 20}}
"""


def frames_in(path: Path) -> int:
    """Frames a video file really holds (decoded one by one, not the header's claim)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_removed_streams_and_a_sigterm_leave_complete_recordings(tmp_path: Path) -> None:
    served = start_serve(tmp_path, env_with_support(dict(os.environ)), graph=RECORDING)
    try:
        wait_ready(served)
        assert served.call("POST", "/api/streams", {"source": "synthetic", "id": "yard"}).status == 201
        wait_for("frames of yard", lambda: (served.stream_frames("yard") or 0) > 10, served)
        assert served.call("DELETE", "/api/streams/yard").status == 204
        # The removed stream's file is finished while the graph goes on.
        wait_for("out/yard.mp4", (tmp_path / "out" / "yard.mp4").exists, served)
        assert served.call("GET", "/api/health").body["status"] == "running"
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 143, served.stderr()
    assert frames_in(tmp_path / "out" / "yard.mp4") > 5
    assert frames_in(tmp_path / "out" / "scene.mp4") > 5  # finished by the stop
    assert not list((tmp_path / "out").glob("*.partial.*"))
