"""The Smoother node: defaults, untracked input (a warning, once), counters, a bad timestamp."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.smoother import UNTRACKED_WARN_FRAMES, Smoother
from flowpose.smoothing import SmoothingConfig
from flowpose.tracking import TRACKS_ENDED_KEY

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(i: int, instances: list[Instance], meta: dict | None = None) -> Frame:
    return Frame(i, 10**18 + round(i / 30 * 1e9), "cam", IMAGE, tuple(instances), meta or {})


def inst(x: float, track_id: int) -> Instance:
    return Instance([x, 0, x + 10, 10], track_id=track_id, keypoints=[[x, 5.0], [x + 5, 5.0]], label="dog")


def make(**params: object) -> Smoother:
    node = Smoother("smoother", params)
    node.setup()
    return node


def test_node_defaults_are_the_library_defaults() -> None:
    assert Smoother.config_of(Smoother.Params()) == SmoothingConfig()


def test_untracked_input_warns_once_and_passes_through(caplog: pytest.LogCaptureFixture) -> None:
    node = make()
    with caplog.at_level(logging.WARNING, logger="flowpose.node.smoother"):
        for i in range(3 * UNTRACKED_WARN_FRAMES):
            raw = inst(float(i), -1)
            assert node.process(frame(i, [raw])).instances[0] is raw
    warnings = [r for r in caplog.records if "Tracker" in r.getMessage()]
    assert len(warnings) == 1
    assert node.counters["untracked"] == 3 * UNTRACKED_WARN_FRAMES


def test_no_warning_once_track_ids_arrive(caplog: pytest.LogCaptureFixture) -> None:
    node = make()
    with caplog.at_level(logging.WARNING, logger="flowpose.node.smoother"):
        node.process(frame(0, [inst(0.0, 1)]))
        for i in range(1, 2 * UNTRACKED_WARN_FRAMES):
            node.process(frame(i, [inst(0.0, -1)]))  # e.g. only tentative tracks for a while
    assert not caplog.records


def test_resets_are_counted_and_each_filter_kind_runs() -> None:
    for kind in ("one_euro", "ema", "kalman"):
        node = make(filter=kind)
        for i in range(5):
            out = node.process(frame(i, [inst(10.0 * i, 3)]))
        assert 0 < out.instances[0].keypoints[0, 0] < 40.0  # smoothed: behind the last position
        node.process(frame(5, [], {TRACKS_ENDED_KEY: [3]}))
        assert node.counters["resets"] == 1, kind


def test_a_bad_timestamp_is_a_validation_problem() -> None:
    text = (
        "nodes:\n"
        "  - {name: scene, type: SyntheticScene, outputs: [f], params: {count: 2, live: false}}\n"
        "  - {name: smooth, type: Smoother, inputs: [f], outputs: [s], params: {timestamp: 'clock'}}\n"
        "  - {name: sink, type: NullSink, inputs: [s]}\n"
    )
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    assert "smooth" in str(info.value) and "timestamp" in str(info.value)
