"""Visualizer: draws on a copy, in the layout's colours, honours threshold, params and toggles."""

from __future__ import annotations

import logging
import textwrap

import numpy as np
import pytest

import sinks_support
import testnodes
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame, Instance
from flowpose.graph.validate import validate_text
from flowpose.meta import load_layout
from flowpose.nodes.visualizer import LAYER_TOGGLES, LAYERS, Visualizer
from sinks_support import people_frame

BACKGROUND = 64
ONLY_KEYPOINTS = {"boxes": False, "labels": False, "skeleton": False, "overlay": False}
COCO = load_layout("coco17")


@pytest.fixture(autouse=True)
def _no_flips():
    LAYER_TOGGLES.reset()
    yield
    LAYER_TOGGLES.reset()


def visualize(params: dict | None = None, frame: Frame | None = None) -> tuple[Frame, Frame]:
    node = Visualizer("vis", params or {})
    node.setup()
    frame = frame or people_frame(0, people=5)
    out = node.process(frame)
    node.close()
    return frame, out


def pixel(image: np.ndarray, xy: np.ndarray) -> tuple[int, ...]:
    x, y = np.round(xy).astype(int)
    return tuple(int(v) for v in image[y, x])


def test_draws_on_a_copy_and_returns_an_immutable_frame() -> None:
    frame, out = visualize()
    assert out is not frame and out.image is not frame.image
    assert not frame.image.flags.writeable  # sinks_support frames are read-only: drawing in place would raise
    assert (frame.image == BACKGROUND).all()  # the input is untouched
    assert out.image.shape == frame.image.shape and out.image.dtype == np.uint8
    assert not out.image.flags.writeable
    assert (out.image != BACKGROUND).any(axis=2).sum() > 1000
    assert out.instances == frame.instances and out.frame_id == frame.frame_id
    assert out.meta["layers"] == sorted(LAYERS)


def test_keypoints_use_the_layout_colours() -> None:
    frame, out = visualize(ONLY_KEYPOINTS)
    kpts = frame.instances[1].keypoints
    for name in ("nose", "left_wrist", "right_ankle"):
        i = COCO.index(name)
        assert pixel(out.image, kpts[i]) == COCO.keypoint_colors[i], name


def test_skeleton_links_use_the_link_colours() -> None:
    params = {**ONLY_KEYPOINTS, "keypoints": False, "skeleton": True}
    frame, out = visualize(params)
    kpts = frame.instances[2].keypoints
    link = COCO.skeleton.index((COCO.index("left_ankle"), COCO.index("left_knee")))
    middle = kpts[[COCO.index("left_ankle"), COCO.index("left_knee")]].mean(axis=0)
    assert pixel(out.image, middle) == COCO.link_colors[link]


def test_keypoints_below_the_threshold_are_not_drawn() -> None:
    frame, out = visualize(ONLY_KEYPOINTS)
    nose = frame.instances[0].keypoints[COCO.index("nose")]  # score LOW_SCORE in person 0
    assert pixel(out.image, nose) == (BACKGROUND,) * 3
    _, out = visualize({**ONLY_KEYPOINTS, "keypoint_threshold": sinks_support.LOW_SCORE / 2})
    assert pixel(out.image, nose) == COCO.keypoint_colors[COCO.index("nose")]


def test_all_layers_off_leaves_the_image_as_it_is() -> None:
    frame, out = visualize({layer: False for layer in LAYERS})
    assert np.array_equal(out.image, frame.image)
    assert out.meta["layers"] == []


def test_run_time_toggles_flip_the_params() -> None:
    only_boxes = {layer: layer == "boxes" for layer in LAYERS}
    frame, out = visualize(only_boxes)
    x1, y1 = frame.instances[0].bbox[:2]
    assert pixel(out.image, np.array([x1 + 40, y1])) != (BACKGROUND,) * 3  # on the box's top edge
    assert LAYER_TOGGLES.toggle("boxes") is True
    _, out = visualize(only_boxes)
    assert np.array_equal(out.image, frame.image)  # boxes flipped off: nothing left to draw
    assert LAYER_TOGGLES.toggle("overlay") is True  # flipping an off layer turns it on
    _, out = visualize(only_boxes)
    assert out.meta["layers"] == ["overlay"]
    with pytest.raises(ValueError, match="unknown layer 'hats'"):
        LAYER_TOGGLES.toggle("hats")


def test_unknown_layout_is_drawn_as_plain_dots_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    odd = Instance([10, 10, 60, 60], label="blob", keypoints=[[20, 20], [40, 40]], layout="no-such-layout")
    frame = people_frame(0, people=0).with_instances([odd, odd])
    with caplog.at_level(logging.WARNING):
        _, out = visualize(ONLY_KEYPOINTS, frame)
    assert sum("no-such-layout" in r.getMessage() for r in caplog.records) == 1
    assert pixel(out.image, np.array([20, 20])) != (BACKGROUND,) * 3


def test_instances_without_keypoints_and_grey_images() -> None:
    grey = np.full((120, 160), 30, dtype=np.uint8)
    frame = Frame(0, 0, "cam", grey, instances=(Instance([5, 5, 50, 50], label="dog", score=0.8),))
    _, out = visualize({}, frame)
    assert out.image.shape == (120, 160, 3)
    assert (out.image != 30).any()


def test_in_a_graph_every_frame_is_annotated() -> None:
    text = """\
    nodes:
      - {name: cam, type: 'sinks_support:People', outputs: [frames], params: {count: 12}}
      - {name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}
      - {name: sink, type: 'testnodes:Collect', inputs: [annotated]}
    """
    result = GraphRunner(validate_text(textwrap.dedent(text), "t.yaml")).run(handle_signals=False)
    assert result.exit_code == 0
    frames = testnodes.COLLECTED["sink"]
    assert [f.frame_id for f in frames] == list(range(12))
    assert all((f.image != BACKGROUND).any() for f in frames)
    assert [h.node for h in frames[0].trace] == ["cam", "vis"]
