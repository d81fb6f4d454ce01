"""TopdownPoseEstimator without a detector: whole frame, fixed ROI, dynamic crop (DeepLabCut-Live style)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text
from flowpose.nodes.pose_estimator import TopdownPoseEstimator
from flowpose.pose.region import DynamicCrop, tile_grid
from pose_models import build_marker_model, marker_card, marker_scene

SPOTS = [(0.2, 0.3), (0.7, 0.4), (0.5, 0.8)]
SIZE = (640, 480)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pose") / "mouse.onnx"
    card = marker_card("simcc", labels=("mouse", "rat"), input_size=(256, 192))
    return build_marker_model(path, "simcc", input_size=(256, 192), card=card)


def make_node(model: Path, **params) -> TopdownPoseEstimator:
    node = TopdownPoseEstimator("pose", {"model": str(model), "intra_op_threads": 1, **params})
    node.setup()
    return node


def animal_at(x: float, y: float, frame_id: int = 0) -> tuple[Frame, np.ndarray]:
    """A frame with the three markers of one 100x90 'animal' whose box starts at (x, y)."""
    image, _, expected = marker_scene(SIZE, [[x, y, x + 100, y + 90]], [SPOTS])
    return Frame(frame_id, 0, "cam", image), expected[0]


def test_whole_frame_finds_the_keypoints_and_makes_a_labelled_instance(model) -> None:
    frame, expected = animal_at(200, 150)
    frame = frame.replace(instances=(Instance([0, 0, 5, 5], label="cage"),))
    out = make_node(model, box="frame").process(frame)
    cage, mouse = out.instances
    assert cage is frame.instances[0]  # instances already there pass through
    assert mouse.label == "mouse" and mouse.layout == "coco17"  # the card's first label
    assert mouse.track_id == 0  # one animal, one track (a Smoother needs no Tracker)
    np.testing.assert_allclose(mouse.keypoints, expected, atol=1.5)
    x1, y1, x2, y2 = mouse.bbox  # the found keypoints' bounds plus the margin, not the frame
    assert x1 < expected[:, 0].min() < expected[:, 0].max() < x2 and y1 < expected[:, 1].min()
    assert (x2 - x1) * (y2 - y1) < 0.1 * SIZE[0] * SIZE[1]
    assert 0 < mouse.score <= 1
    assert out.meta["pose_region"] == {"node": "pose", "mode": "frame", "box": [0.0, 0.0, 640.0, 480.0]}


def test_roi_runs_on_the_roi_only(model) -> None:
    frame, expected = animal_at(380, 260)
    node = make_node(model, box="roi", roi=[320, 240, 640, 480], labels=["rat"])
    out = node.process(frame)
    (rat,) = out.instances
    assert rat.label == "rat" and out.meta["pose_region"]["box"] == [320.0, 240.0, 640.0, 480.0]
    np.testing.assert_allclose(rat.keypoints, expected, atol=1.5)
    # The same animal outside the ROI is not seen: every keypoint lands inside the ROI.
    elsewhere, truth = animal_at(40, 40)
    missed = node.process(elsewhere).instances[0].keypoints
    assert (missed[:, 0] >= 320).all() and (missed[:, 1] >= 240).all()
    assert np.abs(missed - truth).max() > 100


def test_dynamic_crop_follows_a_moving_animal_and_falls_back_when_it_is_lost(model) -> None:
    node = make_node(model, box="frame", dynamic_crop=True, crop_margin=20, crop_threshold=1.0)
    modes, areas = [], []
    for i in range(8):  # 15 px a frame to the right and 5 down: inside last frame's margin
        frame, expected = animal_at(100 + 15 * i, 100 + 5 * i, i)
        out = node.process(frame)
        (mouse,) = out.instances
        np.testing.assert_allclose(mouse.keypoints, expected, atol=1.5)
        x1, y1, x2, y2 = out.meta["pose_region"]["box"]
        modes.append(out.meta["pose_region"]["mode"])
        areas.append((x2 - x1) * (y2 - y1))
        assert x1 <= expected[:, 0].min() and expected[:, 0].max() <= x2  # the crop held the animal
    assert modes == ["frame"] + ["crop"] * 7
    assert max(areas[1:]) < 0.1 * areas[0]  # the crop shrank from the whole frame to the animal
    assert node.counters["whole"] == 1 and node.counters["cropped"] == 7 and node.counters["crop_lost"] == 0
    blank = Frame(8, 0, "cam", np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
    low = node.process(blank).instances[0]
    assert low.keypoint_scores.mean() < 1.0  # confidence dropped under crop_threshold
    assert node.counters["crop_lost"] == 1
    frame, expected = animal_at(400, 300, 9)  # it reappears far away: found on the whole frame
    out = node.process(frame)
    assert out.meta["pose_region"]["mode"] == "frame"
    np.testing.assert_allclose(out.instances[0].keypoints, expected, atol=1.5)
    assert node.process(animal_at(405, 300, 10)[0]).meta["pose_region"]["mode"] == "crop"


def test_dynamic_crop_counts_too_few_confident_keypoints_as_lost() -> None:
    crop = DynamicCrop(np.array([0, 0, 640, 480]), margin=10, threshold=0.5, min_keypoints=2)
    assert crop.update(np.array([[100, 100], [300, 300]]), np.array([0.9, 0.9])) == "follow"
    assert crop.box().tolist() == [90.0, 90.0, 310.0, 310.0]
    assert crop.update(np.array([[100, 100], [np.nan, 0]]), np.array([0.9, 0.9])) == "lost"
    assert crop.box().tolist() == [0.0, 0.0, 640.0, 480.0]
    assert crop.update(np.array([[100, 100], [110, 100]]), np.array([0.9, 0.05])) == "lost"  # mean 0.475


def test_tile_grid_covers_the_region_with_half_overlapping_tiles() -> None:
    tiles = tile_grid(np.array([0, 0, 640, 480]), 240)
    assert len(tiles) == 15 and (tiles[:, 2] - tiles[:, 0] == 240).all() and (tiles[:, 3] - tiles[:, 1] == 240).all()
    assert tiles[:, :2].min(axis=0).tolist() == [0, 0] and tiles[:, 2:].max(axis=0).tolist() == [640, 480]
    assert np.diff(np.unique(tiles[:, 0])).max() <= 120  # steps of at most half a tile
    narrow = tile_grid(np.array([10, 10, 100, 400]), 240)  # a side shorter than a tile: one tile across
    assert narrow[:, 0].tolist() == [10, 10, 10] and narrow[:, 2].tolist() == [100, 100, 100]


def test_search_tile_finds_the_animal_in_one_batch_then_the_crop_takes_over(model) -> None:
    node = make_node(model, box="frame", dynamic_crop=True, search_tile=200, crop_threshold=1.0)
    frame, expected = animal_at(420, 300)
    out = node.process(frame)
    (mouse,) = out.instances
    np.testing.assert_allclose(mouse.keypoints, expected, atol=1.5)
    region = out.meta["pose_region"]
    x1, y1, x2, y2 = region["box"]
    assert region["mode"] == "search" and (x2 - x1, y2 - y1) == pytest.approx((200, 200))
    assert x1 <= expected[:, 0].min() and expected[:, 0].max() <= x2 and y1 <= expected[:, 1].min()
    assert node.counters["searches"] == 1 and node.counters["crops"] == len(tile_grid(np.array([0, 0, 640, 480]), 200))
    assert node.counters["runs"] == 1  # all tiles in one session.run
    assert node.process(animal_at(425, 300, 1)[0]).meta["pose_region"]["mode"] == "crop"


def graph(model: Path, params: str) -> str:
    return textwrap.dedent(f"""\
        nodes:
          - {{name: cam, type: TestPattern, outputs: [frames], params: {{count: 1}}}}
          - {{name: pose, type: TopdownPoseEstimator, inputs: [frames], outputs: [poses],
              params: {{model: '{model}', {params}}}}}
          - {{name: sink, type: NullSink, inputs: [poses]}}
        """)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("box: roi", "box: roi needs roi"),
        ("roi: [0, 0, 10, 10]", "roi is only used with box: roi"),
        ("box: roi, roi: [10, 0, 5, 10]", "x2 > x1"),
        ("dynamic_crop: true", "dynamic_crop needs box: frame or box: roi"),
        ("search_tile: 200", "search_tile needs box: frame or box: roi"),
        ("box: whole", "params.box"),
    ],
)
def test_region_params_are_checked_at_validation(model, params, message) -> None:
    with pytest.raises(GraphError) as info:
        validate_text(graph(model, params), "g.yaml")
    assert message in str(info.value)
    validate_text(graph(model, "box: frame, dynamic_crop: true"), "g.yaml")
