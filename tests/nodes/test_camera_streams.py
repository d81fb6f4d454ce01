"""Camera with sources: streams read side by side, fair and lossless, ending alone, controlled while running."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
import stream_sinks
from stream_sinks import count, wait_until

import sources_support as support
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.streams import StreamControl, StreamError, find_control, registered
from sources_support import MjpegServer


@pytest.fixture(autouse=True)
def _clear() -> None:
    stream_sinks.reset()


def stamped_video(path: Path, frames: int) -> Path:
    """An MJPEG .avi whose frame i carries the number i (read back exactly with read_counter)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
    for i in range(frames):
        writer.write(support.counter_image(i))
    writer.release()
    return path


def graph(camera_params: str, sink_params: str = "stamped: true") -> str:
    camera = f"{{name: camera, type: Camera, outputs: [frames], params: {{{camera_params}}}}}"
    return stream_sinks.graph(camera, sink_params)


def run(camera_params: str, sink_params: str = "stamped: true") -> RunResult:
    return stream_sinks.run(graph(camera_params, sink_params))


def numbers(stream: str) -> list[int]:
    return [g.number for g in stream_sinks.arrived("sink", stream)]


def longest_run(streams: list[str]) -> int:
    """The most frames of one stream in a row in ``streams``."""
    return max(len(list(group)) for _, group in itertools.groupby(streams))


# --- files: lossless, fair, each ends alone --------------------------------------------


def test_files_are_read_side_by_side_losslessly_and_each_ends_alone(tmp_path: Path) -> None:
    short = stamped_video(tmp_path / "short.avi", 12)
    long = stamped_video(tmp_path / "long.avi", 40)
    result = run(f"sources: [{{id: left, source: '{short}'}}, '{long}']")
    assert result.exit_code == 0 and result.failure is None
    assert numbers("left") == list(range(12))  # every frame, in order: nothing dropped
    assert numbers("camera1") == list(range(40))  # the default id: node name + index
    for stream in ("left", "camera1"):
        ids = [g.frame_id for g in stream_sinks.arrived("sink", stream)]
        assert ids == sorted(set(ids))  # one counter for the node, increasing within each stream
    # The short file ended alone: its end came first, and the long one's frames kept coming after it.
    assert stream_sinks.ended("sink") == ["left", "camera1"]
    after = stream_sinks.arrived("sink")[stream_sinks.end_position("sink", "left") :]
    assert {g.stream for g in after} == {"camera1"} and len(after) >= 20


@pytest.mark.timeout(60)
def test_streams_in_a_process_node(tmp_path: Path) -> None:
    first = stamped_video(tmp_path / "a.avi", 5)
    second = stamped_video(tmp_path / "b.avi", 9)
    text = graph(f"sources: ['{first}', '{second}']").replace("type: Camera,", "type: Camera, runner: process,")
    result = GraphRunner(validate_text(text, "t.yaml")).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    assert numbers("camera0") == list(range(5)) and numbers("camera1") == list(range(9))
    assert sorted(stream_sinks.ended("sink")) == ["camera0", "camera1"]  # the ends crossed the process boundary


def test_merge_is_fair_between_streams(tmp_path: Path) -> None:
    first = stamped_video(tmp_path / "a.avi", 40)
    second = stamped_video(tmp_path / "b.avi", 40)
    # A slow sink keeps both streams' queues full, so the merge always has both to choose from.
    result = run(f"sources: ['{first}', '{second}']", "stamped: true, work_ms: 5")
    assert result.exit_code == 0
    order = [g.stream for g in stream_sinks.arrived("sink")]
    assert sorted(set(order)) == ["camera0", "camera1"] and len(order) == 80
    # Round-robin: once both are open (the first one opens earlier and may fill its queue of 4
    # before the second's first frame decodes), neither runs ahead of the other.
    assert longest_run(order[8:60]) <= 4, order
    assert abs(order[:60].count("camera0") - 30) <= 6, order


# --- live streams ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_stream_gone_for_good_ends_alone_while_the_other_keeps_flowing() -> None:
    dying = MjpegServer(drop_after=5, down_s=60)  # drops after 5 parts and stays away
    steady = MjpegServer()
    params = (
        f"sources: ['{dying.url}', {{id: steady, source: '{steady.url}'}}], reconnect_attempts: 2, "
        "reconnect_delay: 0.05, open_timeout: 3"
    )
    try:
        result = run(params, "stop_after_ends: [camera0], then: 20")
    finally:
        dying.close()
        steady.close()
    # The graph went on after camera0 was gone: the sink ended it (exit 0), not a failure.
    assert result.exit_code == 0 and result.failure is None
    stats = next(s for s in result.stats if s.name == "camera")
    assert stats.restarts == 0
    assert stream_sinks.ended("sink") == ["camera0"]
    after = stream_sinks.arrived("sink")[stream_sinks.end_position("sink", "camera0") :]
    assert {g.stream for g in after} == {"steady"} and len(after) >= 20
    assert 1 <= len(stream_sinks.arrived("sink", "camera0")) <= 5


@pytest.mark.timeout(60)
def test_a_first_open_that_fails_names_the_stream(tmp_path: Path) -> None:
    video = stamped_video(tmp_path / "a.avi", 5)
    url = f"http://127.0.0.1:{support.free_port()}/video"
    result = run(f"sources: ['{video}', {{id: door, source: '{url}'}}], open_timeout: 2")
    assert result.exit_code == 1 and result.failure is not None and result.failure.node == "camera"
    assert f"stream 'door' ({url}): could not connect to {url}: connection refused" in result.failure.error


# --- params ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("source: 0, sources: [1]", "params.sources: give either source (one stream) or sources"),
        ("sources: [{id: '../up', source: 0}]", "stream id '../up' is not a safe file-name part"),
        ("sources: [{id: a, source: 0}, {id: a, source: 1}]", "stream id(s) ['a'] used twice"),
        ("sources: [{id: a}]", "needs 'source'"),
        ("sources: [{source: 0, fps: 3}]", "takes only 'id' and 'source'; unknown ['fps']"),
        ("sources: []", "params.sources: is empty"),
        ("sources: [0, 'ftp://x/y']", "entry 1 (ftp://x/y): unsupported URL scheme 'ftp'"),
        ("sources: [0, missing.mp4]", "params.sources: entry 1 (missing.mp4): no such video file: missing.mp4"),
        ("keep_open: true", "params.keep_open: keep_open applies to a Camera with sources:"),
    ],
)
def test_bad_sources_are_named_at_validation(params: str, message: str) -> None:
    with pytest.raises(GraphError) as info:
        validate_text(graph(params), "g.yaml")
    assert message in str(info.value)


def test_buffer_policy_follows_the_streams(tmp_path: Path) -> None:
    video = str(stamped_video(tmp_path / "a.avi", 3))
    policy = {}
    for name, sources in {"files": f"['{video}', '{video}']", "live": "[0, 'http://x/video']"}.items():
        runner = GraphRunner(validate_text(graph(f"sources: {sources}"), "t.yaml"))
        policy[name] = runner.buffers["frames"].spec.policy
    assert policy == {"files": "lossless", "live": "latest"}


def test_the_docs_example_is_a_valid_graph() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "nodes.md").read_text()
    section = doc.split("## Streams in one source node", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    graph = validate_text(example, "nodes.md")
    assert graph.params["camera"].sources[1] == {"id": "door", "source": "http://192.168.1.20:4747/video"}
    assert graph.params["scenes"].streams == 4


# --- control while running ---------------------------------------------------------------


@dataclass
class Running:
    runner: GraphRunner
    result: RunResult | None = None


@contextmanager
def running(text: str) -> Iterator[Running]:
    """Start the graph in the background; stop it (exit 0) when the block ends."""
    run = Running(GraphRunner(validate_text(text, "t.yaml")))
    run.runner.start()
    try:
        yield run
    finally:
        run.runner.request_stop(0)
        run.result = run.runner.wait()


@pytest.mark.timeout(90)
def test_add_pause_resume_and_remove_streams_while_running(tmp_path: Path) -> None:
    first, second = MjpegServer(), MjpegServer()
    video = stamped_video(tmp_path / "clip.avi", 15)
    try:
        # Behind live streams buffers default to `latest`, which may drop a file's frames at a slow
        # reader like any other's; a graph that wants every frame of a file it adds says lossless
        # (its live streams stay fresh: their readers keep only their newest frame).
        text = graph(f"sources: ['{first.url}'], keep_open: true", "") + "defaults: {buffer: {policy: lossless}}\n"
        with running(text) as run:
            wait_until(lambda: count("camera0") >= 5, "camera0 delivers")
            control = find_control("camera")
            assert isinstance(control, StreamControl)

            info = control.add_stream(second.url, "door")
            assert (info.id, info.source, info.live) == ("door", second.url, True)
            wait_until(lambda: count("door") >= 5, "the added stream delivers")
            assert count("camera0") >= 5  # the first stream was never interrupted by the add

            # A file added while running: every frame comes, then it ends alone.
            assert control.add_stream(str(video)).id == "camera2"
            wait_until(lambda: "camera2" in stream_sinks.ended("sink"), "the added file ends")
            assert len(stream_sinks.arrived("sink", "camera2")) == 15

            paused = control.pause_stream("camera0", True)
            assert paused.state == "paused"
            at_pause, door_at_pause = count("camera0"), count("door")
            wait_until(lambda: count("door") >= door_at_pause + 15, "door keeps delivering")
            assert count("camera0") - at_pause <= 5  # at most what was already on its way
            control.pause_stream("camera0", False)
            wait_until(lambda: count("camera0") >= at_pause + 10, "camera0 resumes")

            states = {i.id: i for i in control.list_streams()}
            assert states["camera0"].state == "running" and states["camera0"].frames >= at_pause + 10
            assert states["door"].fps > 0 and states["camera2"].state == "ended"

            control.remove_stream("door")
            wait_until(lambda: "door" in stream_sinks.ended("sink"), "door's end reaches the sink")
            end = stream_sinks.end_position("sink", "door")
            wait_until(lambda: count("camera0") >= at_pause + 20, "camera0 goes on")
            assert all(g.stream != "door" for g in stream_sinks.arrived("sink")[end:])  # nothing after its end
            gone = {i.id: i for i in control.list_streams()}["door"]
            assert gone.state == "ended" and gone.extra["ended_by"] == "removed"
            assert run.runner.stop_event.is_set() is False  # the graph runs on

            with pytest.raises(StreamError) as bad:
                control.add_stream(0, "bad/id")
            assert bad.value.status == 400
            with pytest.raises(StreamError) as taken:
                control.add_stream(first.url, "camera0")
            assert taken.value.status == 409
            with pytest.raises(StreamError) as unknown:
                control.remove_stream("nope")
            assert unknown.value.status == 404
            refused = f"http://127.0.0.1:{support.free_port()}/video"
            with pytest.raises(StreamError, match="connection refused") as closed:
                control.add_stream(refused)
            assert closed.value.status == 400
    finally:
        first.close()
        second.close()
    assert run.result is not None and run.result.exit_code == 0 and run.result.failure is None
    assert "camera" not in registered()  # close() unregistered it


@pytest.mark.timeout(60)
def test_keep_open_waits_for_streams_after_all_ended(tmp_path: Path) -> None:
    video = stamped_video(tmp_path / "clip.avi", 6)
    with running(graph(f"sources: ['{video}'], keep_open: true")) as run:
        wait_until(lambda: stream_sinks.ended("sink") == ["camera0"], "the file ends")
        time.sleep(0.3)  # the node would have returned by now without keep_open
        assert not run.runner.stop_event.is_set() and "camera" in registered()
        find_control("camera").add_stream(str(video), "again")
        wait_until(lambda: "again" in stream_sinks.ended("sink"), "the second file ends")
    assert numbers("camera0") == numbers("again") == list(range(6))
    assert run.result is not None and run.result.exit_code == 0


def test_without_keep_open_the_node_ends_with_its_last_stream(tmp_path: Path) -> None:
    video = stamped_video(tmp_path / "clip.avi", 4)
    result = run(f"sources: ['{video}', '{video}']")
    assert result.exit_code == 0 and sorted(stream_sinks.ended("sink")) == ["camera0", "camera1"]
