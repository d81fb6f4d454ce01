"""Synthetic scenes: reproducibility, ground-truth consistency, honest occlusion, smooth motion."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np
import pytest

from flowpose.frame import Frame
from flowpose.meta import load_layout
from flowpose.synthetic import SceneConfig, SceneFrame, SyntheticScene, render_sample
from flowpose.synthetic.human import HumanFigure
from flowpose.synthetic.motion import Motion, Stage, pose_figure
from flowpose.synthetic.quadruped import QuadrupedFigure
from flowpose.synthetic.render import Occluder, render_figures

SMALL = SceneConfig(width=320, height=240, num_people=(1, 2), num_animals=(1, 2), num_occluders=(1, 2))
LABEL_LAYOUT = {"person": "coco17", "dog": "ap10k", "cat": "ap10k", "horse": "ap10k"}


def _frames(config: SceneConfig, n: int) -> list[SceneFrame]:
    scene = SyntheticScene(config)
    return [next(scene) for _ in range(n)]


def _same(a: SceneFrame, b: SceneFrame) -> bool:
    if a.image.tobytes() != b.image.tobytes() or len(a.objects) != len(b.objects):
        return False
    return all(
        (x.track_id, x.label) == (y.track_id, y.label)
        and x.bbox.tobytes() == y.bbox.tobytes()
        and x.keypoints.tobytes() == y.keypoints.tobytes()
        and x.visibility.tobytes() == y.visibility.tobytes()
        for x, y in zip(a.objects, b.objects, strict=True)
    )


def test_same_seed_gives_identical_frames() -> None:
    config = dataclasses.replace(SMALL, seed=11)
    for a, b in zip(_frames(config, 8), _frames(config, 8), strict=True):
        assert _same(a, b)


@pytest.mark.parametrize("skipped", [0, 1, 7])
def test_skipping_frames_gives_the_frame_drawing_them_would(skipped: int) -> None:
    config = dataclasses.replace(SMALL, seed=4, fps=10.0)  # 10 fps: lighting keyframes pass too
    drawn = _frames(config, skipped + 2)
    scene = SyntheticScene(config)
    scene.skip(skipped)
    assert scene.index == skipped
    assert _same(next(scene), drawn[skipped]) and _same(next(scene), drawn[skipped + 1])


def test_skip_stops_at_the_end_of_a_finite_scene() -> None:
    scene = SyntheticScene(dataclasses.replace(SMALL, num_frames=3))
    scene.skip(10)
    assert scene.index == 3
    with pytest.raises(StopIteration):
        next(scene)


def test_same_rng_gives_identical_samples() -> None:
    a = render_sample(np.random.default_rng(5), SMALL)
    b = render_sample(np.random.default_rng(5), SMALL)
    assert _same(a, b)


def test_different_seeds_differ() -> None:
    a = _frames(dataclasses.replace(SMALL, seed=1), 1)[0]
    b = _frames(dataclasses.replace(SMALL, seed=2), 1)[0]
    assert a.image.tobytes() != b.image.tobytes()
    assert not _same(render_sample(np.random.default_rng(1), SMALL), render_sample(np.random.default_rng(2), SMALL))


def _check_frame(frame: SceneFrame, config: SceneConfig) -> None:
    assert frame.image.shape == (config.height, config.width, 3) and frame.image.dtype == np.uint8
    w, h = config.width, config.height
    for obj in frame.objects:
        k = load_layout(obj.layout).num_keypoints
        assert obj.layout == LABEL_LAYOUT[obj.label]
        assert obj.keypoints.shape == (k, 2) and obj.keypoints.dtype == np.float32
        assert obj.visibility.shape == (k,) and obj.visibility.dtype == np.uint8
        assert obj.bbox.shape == (4,) and obj.bbox.dtype == np.float32
        x1, y1, x2, y2 = obj.bbox
        assert -0.5 <= x1 < x2 <= w - 0.5 and -0.5 <= y1 < y2 <= h - 0.5
        x, y, v = obj.keypoints[:, 0], obj.keypoints[:, 1], obj.visibility
        inside = (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
        np.testing.assert_array_equal(v > 0, inside, err_msg="visibility 0 exactly for points outside the image")
        seen = v == 2
        assert ((x[seen] >= x1) & (x[seen] <= x2) & (y[seen] >= y1) & (y[seen] <= y2)).all(), (
            "bbox misses a visible point"
        )
    ids = [o.track_id for o in frame.objects]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scene_ground_truth_is_consistent(seed: int) -> None:
    config = dataclasses.replace(SMALL, seed=seed)
    for frame in _frames(config, 20)[::4]:
        _check_frame(frame, config)


@pytest.mark.parametrize("seed", range(8))
def test_sample_ground_truth_is_consistent(seed: int) -> None:
    frame = render_sample(np.random.default_rng(seed), SMALL)
    _check_frame(frame, SMALL)
    assert frame.objects, "a sample should show at least one figure"


def _posed(model: Any, x: float, depth: float, yaw: float = 0.0, track_id: int = 0) -> Any:
    stage = Stage(320, 240, (90.0, 200.0), (130.0, 235.0))
    motion = Motion.random(np.random.default_rng(0), model, stage)
    motion.x, motion.depth, motion.yaw, motion.roll, motion.size = x, depth, yaw, 0.0, 1.0
    motion.offsets[:] = 0.0
    return pose_figure(model, motion, stage, 0.0, track_id, 0.0)


@pytest.mark.parametrize("back_kind", ["person", "dog"])
def test_figure_drawn_over_another_marks_its_keypoints_occluded(back_kind: str) -> None:
    rng = np.random.default_rng(3)
    back_model = HumanFigure(rng) if back_kind == "person" else QuadrupedFigure(rng, "dog")
    back = _posed(back_model, 160.0, 1.0, yaw=0.0 if back_kind == "person" else math.pi / 2)
    front = _posed(HumanFigure(rng), 160.0, 0.0, track_id=1)  # nearer, so drawn later, and bigger
    alone = render_figures(np.zeros((240, 320, 3), np.uint8), [back])[0]
    together = render_figures(np.zeros((240, 320, 3), np.uint8), [back, front])
    front_pixels = np.zeros((240, 320), bool)
    canvas = np.zeros((240, 320, 3), np.uint8)
    render_figures(canvas, [front])
    front_pixels = canvas.any(axis=2)
    kx, ky = np.floor(alone.keypoints + 0.5).astype(int).T
    covered = front_pixels[ky, kx] & (alone.visibility == 2)
    assert covered.any(), "the test scene must put the front figure over some keypoints"
    assert (together[0].visibility[covered] == 1).all()
    np.testing.assert_array_equal(together[0].visibility[~covered], alone.visibility[~covered])
    assert together[0].visible_pixels < alone.visible_pixels


def test_occluder_marks_keypoints_occluded_and_shrinks_bbox() -> None:
    person = _posed(HumanFigure(np.random.default_rng(4)), 160.0, 0.0)
    alone = render_figures(np.zeros((240, 320, 3), np.uint8), [person])[0]
    wall = Occluder(np.array([[0, 0], [160, 0], [160, 240], [0, 240]], np.float32), (90, 90, 90))
    hidden = render_figures(np.zeros((240, 320, 3), np.uint8), [person], [wall])[0]
    # Which pixels the wall covers (its right edge pixel column included), as OpenCV fills it.
    wall_pixels = np.zeros((240, 320, 3), np.uint8)
    render_figures(wall_pixels, [], [wall])
    last_column = int(np.flatnonzero(wall_pixels.any(axis=(0, 2)))[-1])
    kx, ky = np.floor(alone.keypoints + 0.5).astype(int).T
    left_half = wall_pixels[ky, kx].any(axis=1)
    assert left_half.any() and (~left_half).any()
    assert (hidden.visibility[left_half] == 1).all()
    np.testing.assert_array_equal(hidden.visibility[~left_half], alone.visibility[~left_half])
    assert hidden.bbox is not None and alone.bbox is not None
    assert hidden.bbox[0] == last_column + 0.5 > alone.bbox[0]


def test_face_turned_away_is_not_visible() -> None:
    model = HumanFigure(np.random.default_rng(6))
    layout = model.layout
    front = render_figures(np.zeros((240, 320, 3), np.uint8), [_posed(model, 160.0, 0.5, yaw=0.0)])[0]
    back = render_figures(np.zeros((240, 320, 3), np.uint8), [_posed(model, 160.0, 0.5, yaw=math.pi)])[0]
    face = [layout.index(n) for n in ("nose", "left_eye", "right_eye")]
    assert (front.visibility[face] == 2).all()
    assert (back.visibility[face] == 1).all()


def test_motion_is_smooth_and_identities_stable() -> None:
    config = dataclasses.replace(SMALL, seed=7, width=640, height=480, num_occluders=(0, 0))
    frames = _frames(config, 60)
    for prev, cur in itertools.pairwise(frames):
        before = {o.track_id: o for o in prev.objects}
        for obj in cur.objects:
            if obj.track_id not in before:
                continue
            old = before[obj.track_id]
            assert old.label == obj.label
            step = np.linalg.norm(obj.keypoints - old.keypoints, axis=1).max()
            assert step < 0.05 * config.width, f"track {obj.track_id} jumped {step:.1f} px at frame {cur.index}"
    assert frames[-1].timestamp_s == pytest.approx(59 / config.fps)
    moved = np.linalg.norm(frames[-1].objects[0].keypoints - frames[0].objects[0].keypoints, axis=1).max()
    assert moved > 1.0, "figures should move"


def test_num_frames_ends_the_scene_and_frames_convert() -> None:
    frames = list(SyntheticScene(dataclasses.replace(SMALL, num_frames=3)))
    assert [f.index for f in frames] == [0, 1, 2]
    frame = frames[0].to_frame(source="synth", capture_ns=5)
    assert isinstance(frame, Frame) and frame.source == "synth" and frame.image is frames[0].image
    assert [i.label for i in frame.instances] == [o.label for o in frames[0].objects]
    assert all(i.keypoint_scores is not None and i.keypoint_scores.max() <= 2 for i in frame.instances)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width": 8}, "at least 16x16"),
        ({"fps": 0.0}, "fps must be > 0"),
        ({"num_people": (2, 1)}, "num_people must be"),
        ({"num_people": (0, 0), "num_animals": (0, 0)}, "no figure at all"),
        ({"species": ("dragon",)}, "unknown.*dragon"),
        ({"person_height": (0.8, 0.3)}, "person_height"),
        ({"motion_speed": -1.0}, "must be >= 0"),
    ],
)
def test_config_validation(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneConfig(**changes)
