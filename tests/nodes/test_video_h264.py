"""VideoRecorder writes H.264 that browsers play: yuv420p, even sides, the index first (faststart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowpose.graph.validate import validate_text
from flowpose.nodes.video_writers import H264Writer, h264_encoder
from video_support import bar_image, ffprobe, probe, record, top_level_boxes

needs_h264 = pytest.mark.skipif(h264_encoder() is None, reason="this PyAV has no H.264 encoder")


@needs_h264
def test_default_mp4_is_h264_yuv420p_with_every_frame(tmp_path: Path) -> None:
    info = probe(record(tmp_path / "out.mp4", 45, fps=25.0))
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.frames) == (640, 480, 45)
    assert info.fps == pytest.approx(25.0, rel=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # the partial file was renamed


@needs_h264
def test_ffprobe_agrees(tmp_path: Path) -> None:
    stream = ffprobe(record(tmp_path / "out.mp4", 20, fps=12.5))
    if stream is None:
        pytest.skip("ffprobe is not installed (PyAV's own probe is checked above)")
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert int(stream["nb_read_frames"]) == 20
    assert stream["avg_frame_rate"] == "25/2"


@needs_h264
def test_index_comes_before_the_media_data(tmp_path: Path) -> None:
    # faststart: a browser reads moov (the index) first and can play while mdat still downloads.
    boxes = top_level_boxes(record(tmp_path / "out.mp4", 30))
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


@needs_h264
def test_odd_sides_are_cropped_to_even(tmp_path: Path) -> None:
    info = probe(record(tmp_path / "out.mp4", 10, size=(641, 479)))
    assert (info.codec, info.width, info.height, info.frames) == ("h264", 640, 478, 10)


@needs_h264
def test_avc1_means_h264_too(tmp_path: Path) -> None:
    assert probe(record(tmp_path / "out.mp4", 5, codec="avc1")).codec == "h264"


def test_h264_in_webm_is_a_validation_error(tmp_path: Path) -> None:
    graph = f"""\
    nodes:
      - {{name: cam, type: 'sinks_support:People', outputs: [frames], params: {{count: 3}}}}
      - {{name: rec, type: VideoRecorder, inputs: [frames], params: {{path: '{tmp_path / "out.webm"}'}}}}
    """
    with pytest.raises(Exception, match=r"WebM holds VP8/VP9/AV1, not H\.264"):
        validate_text(textwrap.dedent(graph), "t.yaml")


def test_mp4v_stays_selectable(tmp_path: Path) -> None:
    info = probe(record(tmp_path / "out.mp4", 12, codec="mp4v"))
    assert (info.codec, info.frames) == ("mpeg4", 12)


def test_without_pyav_it_falls_back_to_mp4v_and_says_so(tmp_path: Path) -> None:
    # A fresh interpreter where `import av` fails, as on a platform without PyAV's wheel.
    out = tmp_path / "out.mp4"
    script = textwrap.dedent(f"""\
        import logging, sys
        sys.modules["av"] = None  # makes `import av` raise ImportError
        logging.basicConfig(level=logging.INFO)
        import numpy as np
        from flowpose.frame import Frame
        from flowpose.nodes.video_recorder import VideoRecorder

        node = VideoRecorder("rec", {{"path": {str(out)!r}}})
        node.setup()
        for i in range(6):
            image = np.full((120, 160, 3), 30 * i, np.uint8)
            node.process(Frame(frame_id=i, capture_ns=i * 40_000_000, source="cam", image=image))
        node.close()
        """)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "no H.264 encoder" in done.stderr and "writing mp4v" in done.stderr
    assert "mp4v (OpenCV)" in done.stderr  # the "recording ..." line names the encoding
    info = probe(out)
    assert (info.codec, info.frames) == ("mpeg4", 6)


def blocked_signals(tid: int) -> set[int]:
    """The signals blocked in thread ``tid`` of this process, from /proc."""
    status = Path(f"/proc/self/task/{tid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
    return {sig for sig in range(1, 65) if mask >> (sig - 1) & 1}


@needs_h264
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread signal masks from Linux /proc")
def test_encoder_threads_never_take_stop_signals(tmp_path: Path) -> None:
    # A SIGTERM given to a libx264 thread was never handled: the graph did not stop (1 run in ~5).
    before = {int(t) for t in os.listdir("/proc/self/task")}
    writer = H264Writer(tmp_path / "out.mp4", 25.0, (640, 480), h264_encoder() or "")
    try:
        for i in range(20):
            writer.write(bar_image(i))
        started = {int(t) for t in os.listdir("/proc/self/task")} - before
        assert started, "libx264 started no threads: nothing to check"
        for tid in started:
            assert {signal.SIGINT, signal.SIGTERM} <= blocked_signals(tid), tid
        assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # restored here
    finally:
        writer.close()
