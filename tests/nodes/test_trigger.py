"""Trigger: conditions with hysteresis on scripted poses, callback / plugin / ZeroMQ actions, latency."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import msgpack
import numpy as np
import pytest
import trigger_support
import zmq

from flowpose.closedloop import ConditionSpec, Hysteresis
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.trigger import Trigger
from pose_models import build_marker_model, marker_card

IMAGE = np.zeros((48, 64, 3), np.uint8)
#: Nose within 10 px of the tail root switches on; it switches off only beyond 20 px.
NEAR_TAIL = {"kind": "distance", "keypoint": "Nose", "to_keypoint": "Root of tail", "below": 10, "release": 20}


@pytest.fixture(autouse=True)
def _clear() -> None:
    trigger_support.EVENTS.clear()
    trigger_support.WRITTEN.clear()


def pose_frame(i: int, snout, tail=(0.0, 0.0), score: float = 0.9, capture_ns: int | None = None) -> Frame:
    """A frame with one ap10k 'mouse' whose Nose (2) and Root of tail (4) are where the script says."""
    keypoints = np.zeros((17, 2), np.float32)
    scores = np.full(17, score, np.float32)
    keypoints[2], keypoints[4] = snout, tail
    mouse = Instance([0, 0, 60, 40], 0.9, "mouse", keypoints=keypoints, keypoint_scores=scores, layout="ap10k")
    return Frame(i, time.time_ns() if capture_ns is None else capture_ns, "cam", IMAGE, instances=(mouse,))


def run(node: Trigger, frames: list[Frame]) -> list[Frame]:
    node.setup()
    try:
        return [node.process(f) for f in frames]
    finally:
        node.close()


def test_region_fires_exactly_when_the_debounced_state_switches_on() -> None:
    node = Trigger(
        "trig",
        {
            "condition": {"kind": "region", "keypoint": "Nose", "rect": [10, 10, 30, 30]},
            "min_frames_on": 2,
            "min_frames_off": 2,
            "action": "trigger_support:record",
        },
    )
    # in: 0 1 1 0 1 1 1 0 0 1 1 -> on after two frames inside, off after two outside
    inside = [0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1]
    frames = [pose_frame(i, (20, 20) if s else (50, 20)) for i, s in enumerate(inside)]
    out = run(node, frames)
    states = [f.meta["trigger"]["on"] for f in out]
    assert states == [False, False, True, True, True, True, True, True, False, False, True]
    assert [e.frame_id for e in trigger_support.EVENTS] == [2, 10]
    assert all(e.state == "on" and e.switched and e.keypoint == [20.0, 20.0] for e in trigger_support.EVENTS)
    assert node.counters["switched_on"] == 2 and node.counters["switched_off"] == 1 and node.counters["fired"] == 2


def test_polygon_and_distance_to_a_keypoint_with_a_release_band_fire_on_change() -> None:
    square = [[10, 10], [30, 10], [30, 30], [10, 30]]
    assert Hysteresis(ConditionSpec(kind="region", keypoint=0, polygon=square)).step(1.0) == "on"
    node = Trigger(
        "trig",
        {
            "condition": NEAR_TAIL,
            "fire_on": "change",
            "action": "trigger_support:record",
        },
    )
    gaps = [30, 15, 9, 15, 19, 21, 5]  # on under 10, off only past 20
    run(node, [pose_frame(i, (100 + g, 50), tail=(100, 50)) for i, g in enumerate(gaps)])
    assert [(e.frame_id, e.state) for e in trigger_support.EVENTS] == [(2, "on"), (5, "off"), (6, "on")]
    assert trigger_support.EVENTS[0].value == pytest.approx(9)


def test_speed_and_missing_keypoints() -> None:
    node = Trigger(
        "trig",
        {
            "condition": {"kind": "speed", "keypoint": 2, "above": 100, "release": 50},
            "fire_on": "frame",
            "action": "trigger_support:record",
        },
    )
    t0, step = 1_000_000_000, 100_000_000  # 10 fps
    xs = [0, 5, 25, 45, 50, 50]  # px per 0.1 s: 50, 200, 200, 50, 0 px/s
    frames = [pose_frame(i, (x, 0), capture_ns=t0 + i * step) for i, x in enumerate(xs)]
    frames.insert(4, pose_frame(99, (0, 0), score=0.1, capture_ns=t0 + 35 * step // 10))  # nose not confident
    out = run(node, frames)
    values = [f.meta["trigger"]["value"] for f in out]
    assert values[:4] == [None, pytest.approx(50), pytest.approx(200), pytest.approx(200)]
    assert values[4] is None and values[5] is None  # a gap: no speed across it
    assert [f.meta["trigger"]["on"] for f in out] == [False, False, True, True, False, False, False]
    assert [e.frame_id for e in trigger_support.EVENTS] == [2, 3]  # every frame while on
    assert node.counters["missing"] == 1  # the first frame has no speed yet, but its nose was there


def test_latency_is_capture_to_the_actions_return() -> None:
    node = Trigger(
        "trig",
        {"condition": {"kind": "region", "keypoint": 2, "rect": [0, 0, 64, 48]}, "action": "trigger_support:slow"},
    )
    captured = time.time_ns() - 5_000_000  # captured 5 ms ago
    node.setup()
    out = node.process(pose_frame(0, (5, 5), capture_ns=captured))
    summary = node.latency_summary()
    node.close()
    assert 25 <= out.meta["trigger"]["latency_ms"] < 1000  # 5 ms old + a 20 ms action
    assert summary["count"] == 1 and summary["p50"] == pytest.approx(out.meta["trigger"]["latency_ms"])


def test_a_failing_action_is_counted_and_the_frames_flow_on() -> None:
    node = Trigger(
        "trig",
        {
            "condition": {"kind": "region", "keypoint": 2, "rect": [0, 0, 64, 48]},
            "fire_on": "frame",
            "action": "trigger_support:broken",
        },
    )
    out = run(node, [pose_frame(i, (5, 5)) for i in range(3)])
    assert len(out) == 3 and node.counters["action_errors"] == 3 and node.counters["fired"] == 0
    assert out[0].meta["trigger"]["latency_ms"] is None


def test_plugin_class_gets_action_params_and_is_closed() -> None:
    node = Trigger(
        "trig",
        {
            "condition": {"kind": "region", "keypoint": 2, "rect": [10, 10, 30, 30]},
            "fire_on": "change",
            "action": "trigger_support:FakeSerial",
            "action_params": {"port": "/dev/ttyACM0", "on": "H", "off": "L"},
        },
    )
    run(node, [pose_frame(i, p) for i, p in enumerate([(50, 50), (20, 20), (20, 20), (50, 50)])])
    assert trigger_support.WRITTEN == [b"H", b"L"]
    assert node._action.port == "/dev/ttyACM0" and node._action.closed


def test_zmq_subscriber_receives_the_events() -> None:
    node = Trigger(
        "trig",
        {
            "condition": {"kind": "region", "keypoint": "Nose", "rect": [0, 0, 64, 48]},
            "fire_on": "frame",
            "action": "zmq",
            "endpoint": "tcp://127.0.0.1:*",
            "topic": "lab",
        },
    )
    node.setup()
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"lab")
    sub.connect(node.endpoint)
    try:
        received = None
        for i in range(200):  # PUB drops until the subscription has reached it (slow joiner)
            node.process(pose_frame(i, (7, 9)))
            if sub.poll(20):
                received = sub.recv_multipart()
                break
        assert received is not None, "no event reached the subscriber"
        topic, payload = received
        event = msgpack.unpackb(payload)
        assert topic == b"lab" and event["node"] == "trig" and event["state"] == "on"
        assert event["keypoint"] == [7.0, 9.0] and event["value"] == 1.0 and event["source"] == "cam"
        assert event["capture_ns"] <= time.time_ns() and isinstance(event["frame_id"], int)
    finally:
        sub.close()
        node.close()


def graph(action: str, extra: str = "", condition: str = "{kind: region, keypoint: 0, rect: [0, 0, 10, 10]}") -> str:
    return textwrap.dedent(f"""\
        nodes:
          - {{name: cam, type: TestPattern, outputs: [frames], params: {{count: 2}}}}
          - {{name: trig, type: Trigger, inputs: [frames], outputs: [out],
              params: {{condition: {condition}, action: '{action}'{extra}}}}}
          - {{name: sink, type: NullSink, inputs: [out]}}
        """)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (graph("nosuchmodule_xyz:f"), "cannot import module 'nosuchmodule_xyz'"),
        (graph("trigger_support:EVENTS"), "not a function or a class"),
        (graph("serial"), "use log, zmq or package.module:name"),
        (graph("log", ", action_params: {a: 1}"), "only an action class takes action_params"),
        (graph("log", condition="{kind: region, keypoint: 0}"), "exactly one of rect"),
        (graph("log", condition="{kind: distance, keypoint: 0, to_point: [1, 2]}"), "exactly one of below or above"),
        (graph("log", condition="{kind: speed, keypoint: 0, above: 5, release: 9}"), "must be <= above"),
    ],
)
def test_validation_reports_bad_actions_and_conditions(text, message) -> None:
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    assert message in str(info.value)


def test_in_a_graph_after_a_whole_frame_pose_estimator(tmp_path: Path) -> None:
    card = marker_card("simcc", layout="ap10k", labels=("mouse",))
    model = build_marker_model(tmp_path / "m.onnx", "simcc", layout="ap10k", card=card)
    text = textwrap.dedent(f"""\
        nodes:
          - {{name: cam, type: TestPattern, outputs: [frames], params: {{count: 5, fps: 0, live: false}}}}
          - {{name: pose, type: TopdownPoseEstimator, inputs: [frames], outputs: [poses],
              params: {{model: '{model}', box: frame, intra_op_threads: 1}}}}
          - {{name: trig, type: Trigger, inputs: [poses], outputs: [out],
              params: {{condition: {{kind: region, keypoint: Nose, rect: [-1, -1, 641, 481]}}, min_score: -1.0e9,
                        fire_on: frame, action: 'trigger_support:record'}}}}
          - {{name: sink, type: NullSink, inputs: [out]}}
        """)
    result = GraphRunner(validate_text(text, "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0
    assert [e.frame_id for e in trigger_support.EVENTS] == [0, 1, 2, 3, 4]
    assert all(e.source == "cam" for e in trigger_support.EVENTS)
