"""VideoRecorder: every frame in the file, at the measured rate, complete after stops and crashes."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2
import pytest

from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.graph.validate import validate_text
from flowpose.nodes.video_recorder import VideoRecorder
from sinks_support import people_frame


def run(text: str) -> RunResult:
    return GraphRunner(validate_text(textwrap.dedent(text), "t.yaml")).run(handle_signals=False)


def read_video(path: Path) -> tuple[int, float, tuple[int, int]]:
    """Frames actually decodable (not the container's claim), fps, and (width, height)."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    return frames, fps, size


def wrote(log: list[str], node: str) -> int:
    """N from the node's closing "wrote N frames" log line."""
    marker = f"flowpose.node.{node}: wrote "
    (line,) = [line for line in log if marker in line and " frames" in line]
    return int(line.split(marker)[1].split(" frames")[0])


def recorder_graph(path: Path, count: int, fps: float = 25.0, rec_params: str = "") -> str:
    return f"""\
    nodes:
      - {{name: cam, type: 'sinks_support:People', outputs: [frames], params: {{count: {count}, fps: {fps}}}}}
      - {{name: rec, type: VideoRecorder, inputs: [frames], params: {{path: '{path}'{rec_params}}}}}
    """


@pytest.mark.parametrize(("count", "fps"), [(45, 25.0), (5, 12.5)])  # 5 frames: fewer than it buffers
def test_every_frame_is_written_at_the_measured_rate(tmp_path: Path, count: int, fps: float) -> None:
    out = tmp_path / "videos" / "out.mp4"
    result = run(recorder_graph(out, count, fps))
    assert result.exit_code == 0
    frames, file_fps, size = read_video(out)
    assert frames == count
    assert file_fps == pytest.approx(fps, rel=1e-3)
    assert size == (640, 480)
    assert list(out.parent.iterdir()) == [out]  # no partial file left behind


def test_fps_param_overrides_the_measurement(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert run(recorder_graph(out, 10, 25.0, ", fps: 10")).exit_code == 0
    assert read_video(out)[:2] == (10, pytest.approx(10.0, rel=1e-3))


def test_file_is_complete_after_an_upstream_crash(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = run(f"""\
    nodes:
      - {{name: cam, type: 'sinks_support:People', outputs: [frames], params: {{count: 100}}}}
      - {{name: boom, type: 'testnodes:Fail', inputs: [frames], outputs: [ok], params: {{fail_at: 12}}}}
      - {{name: rec, type: VideoRecorder, inputs: [ok], params: {{path: '{out}'}}}}
    """)
    assert result.exit_code == 1 and result.failure is not None and result.failure.node == "boom"
    # The stop discards what was still queued for the recorder; everything it took is in the file.
    taken = next(s for s in result.stats if s.name == "rec").frames
    assert 1 <= taken <= 12
    assert read_video(out)[:2] == (taken, pytest.approx(25.0, rel=1e-3))


def test_media_time_beats_capture_time_for_a_file_read_fast(tmp_path: Path) -> None:
    # A 10 fps file read as fast as possible: capture times 1 ms apart, positions 100 ms apart.
    node = VideoRecorder("rec", {"path": str(tmp_path / "out.mp4")})
    node.setup()
    for i in range(8):
        node.process(people_frame(i, capture_ns=i * 1_000_000).replace(meta={"pos_ms": 100.0 * i}))
    node.close()
    assert read_video(tmp_path / "out.mp4")[:2] == (8, pytest.approx(10.0, rel=1e-3))


def test_codec_without_an_encoder_falls_back_to_mp4v(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert run(recorder_graph(out, 3, 25.0, ", codec: zzzz")).exit_code == 0
    assert read_video(out)[0] == 3


def test_path_without_extension_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no extension"):
        validate_text(textwrap.dedent(recorder_graph(tmp_path / "out", 3)), "t.yaml")


def test_sigterm_mid_run_leaves_a_playable_video_and_complete_json_lines(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    video, poses = tmp_path / "out.mp4", tmp_path / "poses.jsonl"
    graph = tmp_path / "g.yaml"
    graph.write_text(
        textwrap.dedent(f"""\
        defaults: {{buffer: {{policy: lossless}}}}
        nodes:
          - name: cam
            type: 'sinks_support:People'
            outputs: [frames]
            params: {{count: 0, fps: 25, pace: true, live: true}}
          - {{name: rec, type: VideoRecorder, inputs: [frames], params: {{path: '{video}'}}}}
          - {{name: poses, type: PoseRecorder, inputs: [frames], params: {{path: '{poses}'}}}}
        """)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowpose.cli.main", "run", str(graph)],
        env=subprocess_env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    log: list[str] = []
    try:
        # Wait until the recorder has measured the rate and opened its file (after 30 frames).
        deadline = time.monotonic() + 60
        while not any("recording 640x480" in line for line in log):
            log.append(lines.get(timeout=max(deadline - time.monotonic(), 0.01)))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
    time.sleep(0.1)  # let the reader thread drain the closed pipe
    while not lines.empty():
        log.append(lines.get())
    frames, fps, _ = read_video(video)
    assert frames == wrote(log, "rec") >= 30  # it had opened the file: 30 frames measured
    assert fps == pytest.approx(25.0, rel=1e-3)
    records = [json.loads(line) for line in poses.read_text().splitlines()]  # every line is complete
    # Each sink gets what it took before the stop (what was still queued is dropped).
    assert len(records) == wrote(log, "poses") >= 1
    assert [r["frame_id"] for r in records] == list(range(len(records)))
    coco = json.loads((tmp_path / "poses.coco.json").read_text())
    assert len(coco) == 5 * len(records)
