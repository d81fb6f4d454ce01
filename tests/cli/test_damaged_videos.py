"""Damaged video files through the CLI: a broken header, a cut file, random bytes.

Validation opens the file and decodes its first frame (a broken header is a problem before
anything runs); a file-like source that gives no frame fails the run; a file cut short ends
with a warning naming the frames read against the frames its header promises. Each case is
built from a small mp4 made here (no ../shared needed) and, in `realdata` tests, from the
real dance video.
"""

from __future__ import annotations

import os
import struct
import textwrap
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from cli_support import run_cli

FRAMES = 40
GRAPH = """\
nodes:
  - {name: camera, type: Camera, outputs: [frames], params: {source: input.mp4, realtime: false}}
  - {name: sink, type: NullSink, inputs: [frames]}
"""
# Boxes an mp4 keeps its chunk offsets in, down to the chunk-offset table itself.
CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each mp4 box between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        assert size >= 8, "64-bit and open-ended boxes are not expected from cv2.VideoWriter"
        yield kind, pos, pos + size
        pos += size


def _shift_chunk_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, pos, stop in _boxes(moov, start, end):
        if kind in CONTAINER_BOXES:
            _shift_chunk_offsets(moov, pos + 8, stop, delta)
        elif kind == b"stco":
            (count,) = struct.unpack_from(">I", moov, pos + 12)
            for k in range(count):
                at = pos + 16 + 4 * k
                struct.pack_into(">I", moov, at, struct.unpack_from(">I", moov, at)[0] + delta)


def faststart(data: bytes) -> bytes:
    """The same mp4 with its index (moov) before the media data, as cameras and web videos have it.

    OpenCV writes the index last; only with it first does a cut file keep a readable header
    (and play up to the cut), which is the damage these tests are about.
    """
    boxes = list(_boxes(data, 0, len(data)))
    (ftyp,) = [b for b in boxes if b[0] == b"ftyp"]
    (moov_box,) = [b for b in boxes if b[0] == b"moov"]
    moov = bytearray(data[moov_box[1] : moov_box[2]])
    _shift_chunk_offsets(moov, 0, len(moov), len(moov))  # everything after ftyp moves by len(moov)
    rest = b"".join(data[s:e] for kind, s, e in boxes if kind not in (b"ftyp", b"moov"))
    return data[ftyp[1] : ftyp[2]] + bytes(moov) + rest


def make_mp4(path: Path, frames: int = FRAMES) -> bytes:
    """A small valid mp4 (64x48, 25 fps, index first) written with cv2.VideoWriter; its bytes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(frames):  # noise: every frame is a sizeable part of the file
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    data = faststart(path.read_bytes())
    path.write_bytes(data)
    return data


def flowpose(tmp_path: Path, *args: str) -> tuple[int, str]:
    """``flowpose ARGS`` on the graph in ``tmp_path`` (Camera -> NullSink)."""
    graph = tmp_path / "g.yaml"
    if not graph.exists():
        graph.write_text(textwrap.dedent(GRAPH))
    res = run_cli(*args, cwd=tmp_path, timeout=120)
    return res.returncode, res.stderr + res.stdout


def check_unreadable(tmp_path: Path, name: str, reason: str) -> None:
    """``validate`` and ``run`` both refuse ``name`` clearly: exit 2, the path and why, no traceback."""
    for command in ("validate", "run"):
        rc, out = flowpose(tmp_path, command, "g.yaml", "--set", f"camera.source={name}")
        assert rc == 2, out
        assert f"node 'camera': params.source: cannot read video file {name}: {reason}" in out
        assert "Traceback" not in out


def test_a_valid_file_is_read_completely_without_warnings(tmp_path: Path) -> None:
    make_mp4(tmp_path / "input.mp4")
    rc, out = flowpose(tmp_path, "run", "g.yaml")
    assert rc == 0, out
    assert f"video file input.mp4 ended after {FRAMES} frames" in out
    assert "WARNING" not in out


def test_header_without_frames_fails_validation(tmp_path: Path) -> None:
    data = make_mp4(tmp_path / "good.mp4")
    (tmp_path / "broken.mp4").write_bytes(data[: data.index(b"mdat") + 4])  # the header, no media
    check_unreadable(tmp_path, "broken.mp4", "it opens but its first frame does not decode")


def test_random_bytes_fail_validation(tmp_path: Path) -> None:
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(1).bytes(50_000))
    check_unreadable(tmp_path, "random.mp4", "OpenCV's FFmpeg backend cannot open it")


def test_file_without_its_index_fails_validation(tmp_path: Path) -> None:
    # OpenCV's own mp4s keep the index at the end: cut short, nothing in them can be found.
    writer = cv2.VideoWriter(str(tmp_path / "v.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for level in range(0, 250, 10):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    data = (tmp_path / "v.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    check_unreadable(tmp_path, "cut.mp4", "OpenCV's FFmpeg backend cannot open it")


def test_cut_file_warns_with_frames_read_and_expected(tmp_path: Path) -> None:
    data = make_mp4(tmp_path / "good.mp4")
    (tmp_path / "input.mp4").write_bytes(data[: len(data) // 2])
    rc, out = flowpose(tmp_path, "run", "g.yaml")
    assert rc == 0, out  # what could be read was processed
    (line,) = [ln for ln in out.splitlines() if "WARNING" in ln]
    assert "video file input.mp4 ended after " in line and f" of the {FRAMES} frames its header promises" in line
    read = int(line.split("ended after ")[1].split()[0])
    assert 0 < read < FRAMES


def test_images_that_give_no_frame_fail_the_run(tmp_path: Path) -> None:
    # Validation only lists an image folder; when none of it decodes, the run must not "succeed".
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"not a png")
    rc, out = flowpose(tmp_path, "-q", "run", "g.yaml", "--set", "camera.source=imgs")
    assert rc == 1, out
    assert "error: node 'camera' (Camera) failed: CaptureError: images imgs gave no frames" in out
    assert "Traceback" not in out


# --- the real dance video -----------------------------------------------------------------------


@pytest.fixture
def dance(shared_dir: Path) -> bytes:
    return (shared_dir / "data" / "videos" / "dance.mp4").read_bytes()


@pytest.mark.realdata
def test_real_video_first_2kb_fails_clearly(tmp_path: Path, dance: bytes) -> None:
    (tmp_path / "broken.mp4").write_bytes(dance[:2048])  # head -c 2048 dance.mp4
    check_unreadable(tmp_path, "broken.mp4", "it opens but its first frame does not decode")


@pytest.mark.realdata
def test_real_video_cut_in_half_warns(tmp_path: Path, dance: bytes) -> None:
    (tmp_path / "input.mp4").write_bytes(dance[: len(dance) // 2])
    rc, out = flowpose(tmp_path, "run", "g.yaml")
    assert rc == 0, out
    assert "video file input.mp4 ended after 208 of the 450 frames its header promises" in out


@pytest.mark.realdata
def test_real_video_random_bytes_of_the_same_size(tmp_path: Path, dance: bytes) -> None:
    (tmp_path / "random.mp4").write_bytes(os.urandom(len(dance)))
    check_unreadable(tmp_path, "random.mp4", "OpenCV's FFmpeg backend cannot open it")
