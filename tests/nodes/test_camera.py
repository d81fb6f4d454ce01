"""Camera: files, image folders and globs, pacing, clear errors, MJPEG and RTSP streams, reconnects."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

import sources_support as support
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.camera import Camera
from flowpose.nodes.camera_capture import CaptureError
from sources_support import MjpegServer, read_counter

LEVELS = [20, 60, 100, 140, 180, 220]


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    support.SEEN.clear()


RECORD = "{name: sink, type: 'sources_support:Record', inputs: [frames]}"


def run_graph(camera_params: str, *downstream: str) -> tuple[GraphRunner, RunResult]:
    """Run a Camera with ``camera_params`` (a YAML flow mapping) into ``downstream`` nodes."""
    nodes = [f"{{name: camera, type: Camera, outputs: [frames], params: {camera_params}}}", *(downstream or [RECORD])]
    runner = GraphRunner(validate_text("nodes:\n" + "".join(f"  - {n}\n" for n in nodes), "t.yaml"))
    return runner, runner.run(handle_signals=False)


def camera_stats(result: RunResult):
    return next(s for s in result.stats if s.name == "camera")


def levels(name: str = "sink") -> list[int]:
    return [s.level for s in support.SEEN[name]]


def close_to(got: list[int], want: list[int], tol: int = 6) -> bool:
    return len(got) == len(want) and all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


# --- files and images -------------------------------------------------------------------


def test_video_file_gives_every_frame_in_order_then_ends(tmp_path: Path) -> None:
    video = support.write_video(tmp_path / "clip.mp4", LEVELS)
    runner, result = run_graph(f"{{source: '{video}', realtime: false}}")
    assert result.exit_code == 0 and result.failure is None
    assert runner.buffers["frames"].spec.policy == "lossless"  # a file is not live
    seen = support.SEEN["sink"]
    assert [s.frame_id for s in seen] == list(range(len(LEVELS)))
    assert close_to(levels(), LEVELS)
    assert all(s.shape == (48, 64, 3) for s in seen)
    assert [s.meta["pos_ms"] for s in seen] == pytest.approx([1000 * i / 25 for i in range(len(LEVELS))], abs=1)
    assert [s.capture_ns for s in seen] == sorted(s.capture_ns for s in seen)


def _write_images(folder: Path, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, level in zip(names, LEVELS, strict=False):
        cv2.imwrite(str(folder / name), support.level_image(level))


def test_image_folder_in_name_order_skipping_other_files(tmp_path: Path) -> None:
    _write_images(tmp_path / "imgs", ["b_002.png", "a_001.png", "c_003.jpg"])
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    _, result = run_graph(f"{{source: '{tmp_path / 'imgs'}'}}")
    assert result.exit_code == 0
    assert [Path(s.meta["path"]).name for s in support.SEEN["sink"]] == ["a_001.png", "b_002.png", "c_003.jpg"]
    assert close_to(levels(), [LEVELS[1], LEVELS[0], LEVELS[2]])


def test_glob_selects_matching_images(tmp_path: Path) -> None:
    _write_images(tmp_path, ["f1.png", "f2.png", "g.jpg"])
    _, result = run_graph(f"{{source: '{tmp_path}/f*.png'}}")
    assert result.exit_code == 0
    assert [Path(s.meta["path"]).name for s in support.SEEN["sink"]] == ["f1.png", "f2.png"]


class PauseProbe(Camera):
    """A Camera that remembers every pause it asks for."""

    def pause(self, seconds: float) -> bool:
        self.pauses = [*getattr(self, "pauses", []), seconds]
        return super().pause(seconds)


def _read_all(node: Camera) -> list:
    node.setup()
    try:
        return list(node.frames())
    finally:
        node.close()


def test_realtime_paces_a_file_at_its_own_fps(tmp_path: Path) -> None:
    video = support.write_video(tmp_path / "clip.mp4", [10 * i for i in range(10)], fps=50.0)
    paced = PauseProbe("cam", {"source": str(video), "realtime": True})
    frames = _read_all(paced)
    assert len(frames) == 10
    period = 1 / 50
    assert max(paced.pauses) <= period + 1e-6  # it waits for the file's own frame period, never more
    # Pausing can only make it slower, so a lower bound is safe on a loaded machine.
    assert frames[-1].capture_ns - frames[0].capture_ns >= 0.9 * 9 * period * 1e9


def test_fps_overrides_the_file_rate_and_full_speed_never_pauses(tmp_path: Path) -> None:
    video = support.write_video(tmp_path / "clip.mp4", [10 * i for i in range(5)], fps=50.0)
    faster = PauseProbe("cam", {"source": str(video), "realtime": True, "fps": 200})
    assert len(_read_all(faster)) == 5 and max(faster.pauses) <= 1 / 200 + 1e-6
    full = PauseProbe("cam", {"source": str(video)})
    assert len(_read_all(full)) == 5 and getattr(full, "pauses", []) == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.mp4", "no such video file: missing.mp4"),
        ("nowhere/*.png", "no image files"),
        ("photo.png", "no such image file: photo.png"),
    ],
)
def test_missing_input_is_a_validation_problem(source: str, message: str) -> None:
    text = f"nodes:\n  - {{name: camera, type: Camera, outputs: [frames], params: {{source: '{source}'}}}}\n"
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    assert f"node 'camera': params.source: {message}" in str(info.value)


def test_unsupported_url_scheme_is_a_param_error() -> None:
    with pytest.raises(GraphError, match="unsupported URL scheme 'ftp'"):
        validate_text("nodes:\n  - {name: camera, type: Camera, outputs: [f], params: {source: 'ftp://x/y'}}\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device nodes are checked on Linux")
def test_missing_device_says_what_to_check() -> None:
    index = next(i for i in range(9, 64) if not Path(f"/dev/video{i}").exists())
    node = Camera("cam", {"source": index})
    assert node.is_live()
    with pytest.raises(CaptureError) as info:
        node.setup()
    assert f"could not open camera {index}: no such device (/dev/video{index} missing" in str(info.value)
    assert "--set cam.source=" in str(info.value)


# --- network streams --------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_unreachable_url_fails_clearly() -> None:
    url = f"http://127.0.0.1:{support.free_port()}/video"
    runner, result = run_graph(f"{{source: '{url}', open_timeout: 2}}")
    assert runner.buffers["frames"].spec.policy == "latest"  # a stream is live
    assert result.exit_code == 1 and result.failure is not None and result.failure.node == "camera"
    assert f"could not connect to {url}: connection refused" in result.failure.error
    assert "is the phone app" in result.failure.error


@pytest.mark.timeout(60)
def test_wrong_path_on_a_live_server_is_explained() -> None:
    server = MjpegServer()
    try:
        _, result = run_graph(f"{{source: 'http://127.0.0.1:{server.port}/nope', open_timeout: 2}}")
    finally:
        server.close()
    assert result.exit_code == 1 and result.failure is not None
    assert "answered, but no video came" in result.failure.error and "check the path" in result.failure.error


RECORD_OUT = "{name: sink, type: 'sources_support:Record', inputs: [out]}"


def stop_at(frame_id: int) -> str:
    """A node that ends the graph cleanly (exit 0) when frame ``frame_id`` passes, like pressing q."""
    return f"{{name: quit, type: 'testnodes:StopAt', inputs: [frames], outputs: [out], params: {{at: {frame_id}}}}}"


@pytest.mark.timeout(60)
def test_mjpeg_stream_delivers_frames() -> None:
    server = MjpegServer()
    try:
        _, result = run_graph(f"{{source: '{server.url}'}}", stop_at(10), RECORD_OUT)
    finally:
        server.close()
    assert result.exit_code == 0 and result.failure is None
    seen = support.SEEN["sink"]
    assert seen and seen[-1].frame_id >= 5 and seen[0].shape == (48, 64, 3)  # StopAt keeps frame 10 itself
    assert camera_stats(result).counters.get("reconnects", 0) == 0


@pytest.mark.timeout(60)
def test_dropped_stream_reconnects_and_frames_resume() -> None:
    server = MjpegServer(drop_after=15, down_s=0.5)
    params = f"{{source: '{server.url}', reconnect_delay: 0.1, reconnect_max_delay: 0.4, open_timeout: 3}}"
    try:
        _, result = run_graph(params, stop_at(35), RECORD_OUT)
    finally:
        server.close()
    assert result.exit_code == 0 and result.failure is None
    stats = camera_stats(result)
    assert stats.counters["reconnects"] >= 1 and stats.restarts == 0  # the node itself never restarted
    assert server.connections >= 2  # frames came back through a new connection
    ids = [s.frame_id for s in support.SEEN["sink"]]
    assert ids == sorted(ids) and ids[-1] >= 25  # ids keep counting across the drop (15 frames before it)


@pytest.mark.timeout(60)
def test_silent_stream_times_out_and_reconnects() -> None:
    server = MjpegServer(stall_after=5, stall_s=30)
    params = f"{{source: '{server.url}', read_timeout: 0.5, reconnect_delay: 0.1}}"
    try:
        _, result = run_graph(params, stop_at(12), RECORD_OUT)
    finally:
        server.close()
    assert result.exit_code == 0
    assert camera_stats(result).counters["reconnects"] >= 1 and server.connections >= 2


@pytest.mark.timeout(60)
def test_reconnect_attempts_are_bounded() -> None:
    server = MjpegServer(drop_after=5, down_s=60)  # goes away and stays away
    params = f"{{source: '{server.url}', reconnect_attempts: 2, reconnect_delay: 0.05}}"
    try:
        _, result = run_graph(params)
    finally:
        server.close()
    assert result.exit_code == 1 and result.failure is not None
    assert "did not come back after 2 reconnect attempts" in result.failure.error
    assert "connection refused" in result.failure.error


@pytest.mark.timeout(90)
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to publish an RTSP stream")
def test_rtsp_stream_pushed_by_ffmpeg() -> None:
    # ffmpeg cannot serve RTSP to clients, but it can publish to a listening server: here the
    # Camera's FFmpeg listens (rtsp_flags;listen) and the ffmpeg command pushes a test pattern.
    url = f"rtsp://127.0.0.1:{support.free_port()}/live"
    publish = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
        "-i", "testsrc=size=160x120:rate=25", "-frames:v", "40", "-c:v", "mpeg4",
        "-f", "rtsp", "-rtsp_transport", "tcp", url,
    ]  # fmt: skip
    done = threading.Event()

    def publisher() -> None:  # retries until the Camera is listening
        while not done.is_set():
            if subprocess.run(publish, capture_output=True, timeout=60).returncode == 0:
                return
            done.wait(0.2)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    try:
        params = f"{{source: '{url}', ffmpeg_options: 'rtsp_flags;listen', open_timeout: 20, live: false}}"
        _, result = run_graph(params)
    finally:
        done.set()
        thread.join(timeout=30)
    assert result.exit_code == 0, result.failure
    seen = support.SEEN["sink"]
    assert len(seen) >= 30 and seen[0].shape == (120, 160, 3)  # a keyframe or two may be lost at start


# --- live sources hand out the newest frame (grab thread) --------------------------------


def lag_behind_slow_consumer(latest_only: bool, frames: int = 8, sleep_s: float = 0.2) -> tuple[list[int], Camera]:
    """Read a 50 fps stamped MJPEG stream, sleeping ``sleep_s`` per frame (as a slow ``Pose.track`` loop does).

    Returns:
        Per frame received, how many frames the server had sent after it (0 = the newest),
        and the closed Camera (for its counters).
    """
    server = MjpegServer(fps=50.0, stamped=True)
    camera = Camera("cam", {"source": server.url, "latest_only": latest_only})
    lags: list[int] = []
    camera.setup()
    try:
        for frame in camera.frames():
            lags.append(server.newest - read_counter(frame.image))
            if len(lags) == frames:
                break
            time.sleep(sleep_s)
    finally:
        camera.close()
        server.close()
    return lags, camera


@pytest.mark.timeout(60)
def test_slow_consumer_gets_the_newest_frame_of_a_live_stream() -> None:
    lags, camera = lag_behind_slow_consumer(latest_only=True)
    print(f"lag behind newest sent, latest_only=true: {lags}")
    # The grab thread drains the stream: what a slow reader gets is (nearly) the last frame sent.
    assert max(lags) <= 3, lags
    assert camera.counters["grab_dropped"] >= 5 * (len(lags) - 1)  # ~10 replaced per 200 ms sleep at 50 fps


@pytest.mark.timeout(60)
def test_without_the_grab_thread_a_slow_consumer_falls_behind() -> None:
    lags, camera = lag_behind_slow_consumer(latest_only=False)
    print(f"lag behind newest sent, latest_only=false: {lags}")
    # Socket and FFmpeg buffers queue every frame: the lag grows with each slow step.
    assert lags[-1] >= 20 and lags[-1] > lags[1], lags
    assert camera.counters["grab_dropped"] == 0


@pytest.mark.timeout(60)
def test_one_stream_reconnecting_does_not_hold_up_another() -> None:
    dropping = MjpegServer(drop_after=15, down_s=1.0)
    steady = MjpegServer()
    params = "reconnect_delay: 0.1, reconnect_max_delay: 0.4, open_timeout: 3"
    try:
        runner = GraphRunner(
            validate_text(
                "nodes:\n"
                f"  - {{name: a, type: Camera, outputs: [fa], params: {{source: '{dropping.url}', {params}}}}}\n"
                f"  - {{name: b, type: Camera, outputs: [fb], params: {{source: '{steady.url}', {params}}}}}\n"
                "  - {name: quit, type: 'testnodes:StopAt', inputs: [fa], outputs: [out], params: {at: 30}}\n"
                "  - {name: sink_a, type: 'sources_support:Record', inputs: [out]}\n"
                "  - {name: sink_b, type: 'sources_support:Record', inputs: [fb]}\n",
                "t.yaml",
            )
        )
        result = runner.run(handle_signals=False)
    finally:
        dropping.close()
        steady.close()
    assert result.exit_code == 0 and result.failure is None
    stats = {s.name: s for s in result.stats}
    assert stats["a"].counters["reconnects"] >= 1 and stats["b"].counters.get("reconnects", 0) == 0
    a_times = [s.capture_ns for s in support.SEEN["sink_a"]]
    gap = max(itertools.pairwise(a_times), key=lambda pair: pair[1] - pair[0])
    during = [s for s in support.SEEN["sink_b"] if gap[0] < s.capture_ns < gap[1]]
    assert len(during) >= 10  # b kept streaming (50 fps) through a's outage of over a second


# --- real data --------------------------------------------------------------------------


@pytest.mark.realdata
def test_reads_the_real_dance_video_completely(shared_dir: Path) -> None:
    video = shared_dir / "data" / "videos" / "dance.mp4"
    _, result = run_graph(f"{{source: '{video}'}}")
    assert result.exit_code == 0
    seen = support.SEEN["sink"]
    assert [s.frame_id for s in seen] == list(range(450))
    assert {s.shape for s in seen} == {(720, 406, 3)}
