"""VideoRecorder with many streams: one H.264 file per stream, each finished on its own end."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from flowpose.frame import Frame
from flowpose.nodes.video_recorder import VideoRecorder, safe_stream_name, stream_path
from flowpose.nodes.video_writers import h264_encoder
from video_support import probe, top_level_boxes

needs_h264 = pytest.mark.skipif(h264_encoder() is None, reason="this PyAV has no H.264 encoder")

#: Each stream's background colour (BGR), its size and its rate: what its file must show.
STREAMS = {
    "cam-a": ((200, 40, 40), (320, 240), 25.0),
    "cam-b": ((40, 200, 40), (256, 192), 10.0),
    "cam-c": ((40, 40, 200), (160, 128), 20.0),
}


def stream_frame(stream: str, i: int) -> Frame:
    """Frame ``i`` of ``stream``: its own colour and size, a moving dark bar, ``1/fps`` apart."""
    colour, (width, height), fps = STREAMS[stream]
    image = np.empty((height, width, 3), np.uint8)
    image[:] = colour
    x = (i * 8) % (width - 16)
    image[:, x : x + 16] = 20
    return Frame(frame_id=i, capture_ns=10**12 + round(i * 1e9 / fps), source=stream, image=image)


def feed(node: VideoRecorder, counts: dict[str, int], start: dict[str, int] | None = None) -> None:
    """Interleave ``counts[stream]`` frames of each stream, as a multi-stream source delivers them."""
    start = start or {}
    longest = max(counts.values())
    for i in range(longest):
        for stream, count in counts.items():
            if i < count:
                node.process(stream_frame(stream, start.get(stream, 0) + i))


def mean_colour(path: Path) -> np.ndarray:
    """The mean BGR colour of the file's first decoded frame."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="bgr24").reshape(-1, 3).mean(axis=0)


def started(path: str, **params: object) -> VideoRecorder:
    node = VideoRecorder("rec", {"path": path, **params})
    node.setup()
    return node


@needs_h264
def test_one_h264_file_per_stream_with_its_own_frames_rate_and_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowpose.node.rec")
    node = started(str(tmp_path / "out.mp4"))
    counts = {"cam-a": 40, "cam-b": 35, "cam-c": 12}
    feed(node, counts)
    node.close()
    # The first stream keeps the path; the others get NAME-STREAM.EXT beside it, logged.
    files = {"cam-a": tmp_path / "out.mp4", "cam-b": tmp_path / "out-cam-b.mp4", "cam-c": tmp_path / "out-cam-c.mp4"}
    assert sorted(tmp_path.iterdir()) == sorted(files.values())  # no partial file left
    for stream, path in files.items():
        colour, size, fps = STREAMS[stream]
        info = probe(path)
        assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
        assert (info.width, info.height, info.frames) == (*size, counts[stream])
        assert info.fps == pytest.approx(fps, rel=1e-3), stream  # measured on its own timestamps
        assert np.abs(mean_colour(path) - colour).max() < 40, f"{path} shows another stream's frames"
    assert "stream 'cam-b' records to " + str(files["cam-b"]) in caplog.text
    assert {(f.stream, f.path, f.frames) for f in node.finished} == {(s, files[s], counts[s]) for s in counts}


@needs_h264
def test_stream_placeholder_in_path_names_every_file(tmp_path: Path) -> None:
    node = started(str(tmp_path / "{stream}" / "rec.mp4"), measure_frames=5)
    feed(node, {"cam-b": 6, "cam-a": 7})
    node.close()
    assert probe(tmp_path / "cam-a" / "rec.mp4").frames == 7
    assert probe(tmp_path / "cam-b" / "rec.mp4").frames == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam-a", "cam-b"]


def test_stream_ids_become_safe_file_names() -> None:
    assert safe_stream_name("rtsp://10.0.0.5:554/live") == "rtsp_10.0.0.5_554_live"
    assert safe_stream_name("../up") == "_up"
    assert safe_stream_name("") == "stream"
    template = Path("out/run.mp4")
    assert stream_path(template, "cam 1", first=True) == template
    assert stream_path(template, "cam 1", first=False) == Path("out/run-cam_1.mp4")
    assert stream_path(Path("out/{stream}.mkv"), "/dev/video0", first=True) == Path("out/_dev_video0.mkv")


@needs_h264
def test_end_stream_finishes_that_file_while_the_others_keep_recording(tmp_path: Path) -> None:
    node = started(str(tmp_path / "{stream}.mp4"))
    feed(node, {"cam-a": 40, "cam-b": 40})
    node.end_stream("cam-a")
    # cam-a's file is final and playable now, index first; cam-b is still being written.
    done = tmp_path / "cam-a.mp4"
    assert probe(done).frames == 40
    assert top_level_boxes(done).index("moov") < top_level_boxes(done).index("mdat")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam-a.mp4", "cam-b.partial.mp4"]
    feed(node, {"cam-b": 10}, start={"cam-b": 40})
    node.end_stream("nobody")  # a stream that never reached the recorder: nothing to do
    node.close()
    assert probe(tmp_path / "cam-b.mp4").frames == 50
    assert probe(done).frames == 40  # untouched by close()


@needs_h264
def test_a_stream_that_comes_back_never_overwrites_its_first_file(tmp_path: Path) -> None:
    node = started(str(tmp_path / "out.mp4"), measure_frames=5)
    feed(node, {"cam-a": 8})
    node.end_stream("cam-a")
    feed(node, {"cam-a": 3, "cam-b": 4})
    node.end_stream("cam-a")
    feed(node, {"cam-a": 2})
    node.close()
    assert probe(tmp_path / "out.mp4").frames == 8
    assert probe(tmp_path / "out-cam-a.mp4").frames == 3  # cam-a again, no longer the first stream
    assert probe(tmp_path / "out-cam-a-2.mp4").frames == 2  # and again: numbered, nothing overwritten
    assert probe(tmp_path / "out-cam-b.mp4").frames == 4


@needs_h264
def test_a_short_stream_ended_before_its_rate_was_measured(tmp_path: Path) -> None:
    node = started(str(tmp_path / "{stream}.mp4"))
    feed(node, {"cam-a": 3, "cam-b": 30})
    node.end_stream("cam-a")  # 3 frames buffered, no writer yet: measured over what there is
    info = probe(tmp_path / "cam-a.mp4")
    assert (info.frames, info.fps) == (3, pytest.approx(25.0, rel=1e-3))
    node.close()
    assert probe(tmp_path / "cam-b.mp4").frames == 30
