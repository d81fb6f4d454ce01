"""SyntheticScene with streams: N independent scenes in one node, fair, paced per stream, controlled while running."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import stream_sinks
from stream_sinks import count, wait_until

import sources_support as support
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.frame import Frame
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.synthetic_scene import SyntheticScene
from flowpose.streams import StreamError, find_control, registered
from flowpose.synthetic import SyntheticScene as SceneGenerator

SMALL = "width: 64, height: 48"


@pytest.fixture(autouse=True)
def _clear() -> None:
    stream_sinks.reset()


def graph(scene_params: str, sink_params: str = "keep: true") -> str:
    scene = f"{{name: scene, type: SyntheticScene, outputs: [frames], params: {{{SMALL}, {scene_params}}}}}"
    return stream_sinks.graph(scene, sink_params)


def run(scene_params: str, sink_params: str = "keep: true") -> RunResult:
    return stream_sinks.run(graph(scene_params, sink_params))


def frames_of(stream: str) -> list[Frame]:
    return [f for f in stream_sinks.FRAMES["sink"] if f.source == stream]


def rendered(seed: int, count: int) -> list[np.ndarray]:
    """What one scene of ``seed`` renders, straight from the generator (the node's defaults, SMALL size)."""
    params = SyntheticScene.Params(width=64, height=48, seed=seed, count=count)
    return [f.image for f in SceneGenerator(SyntheticScene._config(params))]


def test_n_streams_are_n_scenes_with_consecutive_seeds() -> None:
    result = run("live: false, count: 6, seed: 4, streams: 3")
    assert result.exit_code == 0 and result.failure is None
    for i in range(3):
        got = frames_of(f"scene{i}")
        expected = rendered(4 + i, 6)
        assert len(got) == 6 and all(np.array_equal(f.image, e) for f, e in zip(got, expected, strict=True))
        assert [f.frame_id for f in got] == sorted({f.frame_id for f in got})  # increasing within the stream
        assert [f.meta["scene_time_s"] for f in got] == pytest.approx([k / 30 for k in range(6)])
    assert not np.array_equal(frames_of("scene0")[0].image, frames_of("scene1")[0].image)
    assert sorted(stream_sinks.ended("sink")) == ["scene0", "scene1", "scene2"]  # each ended on its own


def test_one_stream_is_named_after_the_node_and_not_controllable() -> None:
    result = run("live: false, count: 3")
    assert result.exit_code == 0
    assert {f.source for f in stream_sinks.FRAMES["sink"]} == {"scene"}
    assert stream_sinks.ended("sink") == []  # a single stream ends with the node, as before


def test_streams_are_interleaved_fairly() -> None:
    result = run("live: false, count: 30, streams: 2", "work_ms: 5")
    assert result.exit_code == 0
    order = [g.stream for g in stream_sinks.arrived("sink")]
    assert len(order) == 60
    runs = [len(list(group)) for _, group in itertools.groupby(order[8:50])]
    assert max(runs) <= 4, order  # queues hold 4: neither scene runs ahead by more
    assert abs(order[:40].count("scene0") - 20) <= 6, order


def test_each_live_stream_is_paced_at_fps() -> None:
    result = run("live: true, fps: 50, count: 10, streams: 2", "keep: true")
    assert result.exit_code == 0
    for stream in ("scene0", "scene1"):
        got = frames_of(stream)
        assert len(got) >= 2
        # Pacing can only make a stream slower, so a lower bound is safe on a loaded machine:
        # each stream keeps its own 50 fps (two streams do not make it 25 each, or 100 together).
        spent_s = (got[-1].capture_ns - got[0].capture_ns) / 1e9
        covered = round((got[-1].meta["scene_time_s"] - got[0].meta["scene_time_s"]) * 50)
        assert spent_s >= 0.9 * covered / 50


def test_streams_param_is_checked() -> None:
    with pytest.raises(GraphError, match=r"params\.streams"):
        validate_text(graph("streams: 0"), "g.yaml")


@pytest.mark.timeout(90)
def test_add_pause_and_remove_streams_while_running(tmp_path: Path) -> None:
    runner = GraphRunner(validate_text(graph("live: true, fps: 40, seed: 7, streams: 2, keep_open: true"), "t.yaml"))
    runner.start()
    try:
        wait_until(lambda: count("scene0") >= 3 and count("scene1") >= 3, "both scenes deliver")
        control = find_control("scene")
        assert [i.id for i in control.list_streams()] == ["scene0", "scene1"]

        # "synthetic" adds a scene with the next seed (7 + 2), paced like the others.
        added = control.add_stream("synthetic")
        assert added.id == "scene2" and added.live
        wait_until(lambda: count("scene2") >= 3, "the added scene delivers")
        first = frames_of("scene2")[0]
        index = round(first.meta["scene_time_s"] * 40)
        params = SyntheticScene.Params(width=64, height=48, seed=9, fps=40, count=index + 1)
        assert np.array_equal(first.image, list(SceneGenerator(SyntheticScene._config(params)))[index].image)

        # The same factory opens camera sources: a video file added to a synthetic node.
        video = support.write_video(tmp_path / "clip.mp4", [40, 80, 120])
        assert control.add_stream(str(video), "clip").live is False
        wait_until(lambda: "clip" in stream_sinks.ended("sink"), "the file ends alone")
        assert count("clip") == 3 and frames_of("clip")[0].image.shape == (48, 64, 3)

        control.pause_stream("scene1", True)
        paused_at, other_at = count("scene1"), count("scene0")
        wait_until(lambda: count("scene0") >= other_at + 10, "scene0 keeps going")
        assert count("scene1") - paused_at <= 5  # only what was on its way
        assert {i.id: i.state for i in control.list_streams()}["scene1"] == "paused"
        control.pause_stream("scene1", False)
        wait_until(lambda: count("scene1") >= paused_at + 5, "scene1 resumes")

        for stream in ("scene0", "scene1", "scene2"):
            control.remove_stream(stream)
        wait_until(lambda: {"scene0", "scene1", "scene2"} <= set(stream_sinks.ended("sink")), "all ends arrive")
        time.sleep(0.3)  # without keep_open the node would have ended by now
        assert not runner.stop_event.is_set()
        assert {i.state for i in control.list_streams()} == {"ended"}
        with pytest.raises(StreamError) as ended:
            control.pause_stream("scene0", True)
        assert ended.value.status == 409
        control.remove_stream("scene0")  # an ended stream is forgotten
        assert "scene0" not in {i.id for i in control.list_streams()}
    finally:
        runner.request_stop(0)
        result = runner.wait()
    assert result.exit_code == 0 and result.failure is None
    assert "scene" not in registered()
