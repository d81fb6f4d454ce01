"""SyntheticScene: determinism by seed, plain-data ground truth, instances on request, ends at count."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

import testnodes
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.frame import Frame
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.synthetic_scene import SyntheticScene

SMALL = "width: 160, height: 120, live: false"


def run_scene(params: str) -> tuple[RunResult, list[Frame]]:
    text = (
        "nodes:\n"
        f"  - {{name: scene, type: SyntheticScene, outputs: [frames], params: {{{params}}}}}\n"
        "  - {name: sink, type: 'testnodes:Collect', inputs: [frames]}\n"
    )
    result = GraphRunner(validate_text(text, "t.yaml")).run(handle_signals=False)
    return result, testnodes.COLLECTED.pop("sink", [])


def test_count_ends_the_stream() -> None:
    result, frames = run_scene(f"{SMALL}, count: 7")
    assert result.exit_code == 0 and result.failure is None
    assert [f.frame_id for f in frames] == list(range(7))
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)


def test_equal_seeds_give_equal_frames_and_other_seeds_differ() -> None:
    _, first = run_scene(f"{SMALL}, count: 4, seed: 5")
    _, again = run_scene(f"{SMALL}, count: 4, seed: 5")
    _, other = run_scene(f"{SMALL}, count: 4, seed: 6")
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert [f.meta for f in first] == [f.meta for f in again]
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(first, other, strict=True))


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (int, float, str, bool)


def test_ground_truth_rides_in_meta_as_plain_data() -> None:
    _, frames = run_scene(f"{SMALL}, count: 3, people: 2, animals: 1, species: [dog], occluders: 0")
    for frame in frames:
        truth = frame.meta["ground_truth"]
        assert _plain(frame.meta) and msgpack.unpackb(msgpack.packb(frame.meta)) == frame.meta
        assert frame.instances == ()  # instances only when asked
        for obj in truth:
            assert set(obj) == {"track_id", "label", "layout", "bbox", "keypoints", "visibility"}
            assert len(obj["bbox"]) == 4 and len(obj["keypoints"]) == len(obj["visibility"]) == 17
            assert all(len(p) == 2 for p in obj["keypoints"]) and set(obj["visibility"]) <= {0, 1, 2}
        assert {(o["label"], o["layout"]) for o in truth} <= {("person", "coco17"), ("dog", "ap10k")}
    assert any(len(f.meta["ground_truth"]) == 3 for f in frames)


def test_instances_when_asked_mirror_the_ground_truth() -> None:
    _, frames = run_scene(f"{SMALL}, count: 3, emit_instances: true")
    for frame in frames:
        truth = frame.meta["ground_truth"]
        assert len(frame.instances) == len(truth)
        for inst, obj in zip(frame.instances, truth, strict=True):
            assert (inst.label, inst.track_id, inst.layout, inst.score) == (
                obj["label"],
                obj["track_id"],
                obj["layout"],
                1.0,
            )
            np.testing.assert_allclose(inst.keypoints, obj["keypoints"])
            np.testing.assert_allclose(inst.bbox, obj["bbox"])
            # Inside the image (visible or hidden) scores 1.0, outside 0.0.
            np.testing.assert_array_equal(inst.keypoint_scores, np.array(obj["visibility"]) > 0)


class PauseProbe(SyntheticScene):
    """A SyntheticScene that remembers every pause it asks for."""

    def pause(self, seconds: float) -> bool:
        self.pauses = [*getattr(self, "pauses", []), seconds]
        return super().pause(seconds)


@pytest.mark.parametrize(("params", "paced"), [({"live": True}, True), ({"live": False, "realtime": True}, True),
                                               ({"live": False}, False)])  # fmt: skip
def test_pacing_follows_live_and_realtime(params: dict, paced: bool) -> None:
    node = PauseProbe("scene", {"width": 64, "height": 48, "fps": 100, "count": 4, **params})
    assert node.is_live() == params["live"]
    node.setup()
    frames = list(node.frames())
    assert len(frames) == 4
    pauses = getattr(node, "pauses", [])
    assert (len(pauses) == 4 and max(pauses) <= 1 / 100 + 1e-6) if paced else pauses == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ("live: false", "params.count: a file-like scene (live: false) needs count > 0"),
        ("people: [3, 1]", "params.people: needs a count >= 0 or [min, max]"),
        ("species: [dog, unicorn]", "params.species: unknown ['unicorn']"),
        ("people: 0, animals: 0", "no figure at all"),
    ],
)
def test_bad_settings_are_validation_problems(params: str, problem: str) -> None:
    text = f"nodes:\n  - {{name: scene, type: SyntheticScene, outputs: [f], params: {{{params}}}}}\n"
    with pytest.raises(GraphError) as info:
        validate_text(text, "g.yaml")
    assert problem in str(info.value)
