"""The Tracker node: ids per source from one counter, tentative instances, ended tracks in meta."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.tracker import Tracker
from flowpose.tracking import TRACKS_ENDED_KEY

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(i: int, xs: list[float], source: str = "cam", label: str = "person") -> Frame:
    instances = tuple(Instance([x, 10, x + 40, 110], label=label) for x in xs)
    return Frame(i, 10**18 + round(i / 30 * 1e9), source, IMAGE, instances, {"keep": i})


def make(**params: object) -> Tracker:
    node = Tracker("tracker", params)
    node.setup()
    return node


def test_ids_are_written_into_new_instances_and_the_input_is_untouched() -> None:
    node = make(min_hits=2)
    first = frame(0, [100.0])
    out0 = node.process(first)
    out1 = node.process(frame(1, [102.0]))
    assert out0.instances[0].track_id == -1 and out1.instances[0].track_id == 1
    assert first.instances[0].track_id == -1 and out1.meta == {"keep": 1}
    assert out1.image is IMAGE


def test_tentative_instances_can_be_held_back() -> None:
    node = make(min_hits=3, emit_tentative=False)
    counts = [len(node.process(frame(i, [100.0 + i])).instances) for i in range(4)]
    assert counts == [0, 0, 1, 1]


def test_sources_are_tracked_apart_with_ids_unique_across_them() -> None:
    node = make(min_hits=1)
    a = node.process(frame(0, [100.0], source="left"))
    b = node.process(frame(0, [100.0], source="right"))  # same place, other camera: another object
    a2 = node.process(frame(1, [101.0], source="left"))
    assert (a.instances[0].track_id, b.instances[0].track_id, a2.instances[0].track_id) == (1, 2, 1)


def test_ended_tracks_are_listed_in_meta_and_counted() -> None:
    node = make(min_hits=1, max_misses=2)
    node.process(frame(0, [100.0]))
    outs = [node.process(frame(i, [])) for i in range(1, 5)]
    assert [o.meta.get(TRACKS_ENDED_KEY) for o in outs] == [None, None, [1], None]
    assert node.counters["tracks_ended"] == 1 and node.counters["tracks_started"] == 1


def test_frames_clock_and_bad_layout_error_names_the_node() -> None:
    node = make(min_hits=1, metric="oks", timestamp="frames")
    inst = Instance([0, 0, 10, 10], label="person", keypoints=np.zeros((3, 2)), layout="nope")
    bad = Frame(7, 0, "cam", IMAGE, (inst,))
    node.process(bad)
    with pytest.raises(ValueError, match=r"node 'tracker': frame 7 of 'cam'.*'nope'"):
        node.process(bad)


def test_a_bad_timestamp_is_a_validation_problem() -> None:
    text = (
        "nodes:\n"
        "  - {name: scene, type: SyntheticScene, outputs: [f], params: {count: 2, live: false}}\n"
        "  - {name: tracker, type: Tracker, inputs: [f], outputs: [t], params: {timestamp: 'meta:when'}}\n"
        "  - {name: sink, type: NullSink, inputs: [t]}\n"
    )
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    assert "tracker" in str(info.value) and "timestamp" in str(info.value) and "unit" in str(info.value)
