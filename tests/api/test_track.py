"""``pose.track(source)`` over a synthetic video and an image folder: track ids, smoothing, frame times."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from api_support import SCENE

from flowpose.nodes.camera_capture import CaptureError


def person_rows(results) -> list[int]:
    """Index of the (single) person in each result."""
    rows = []
    for result in results:
        people = [i for i, label in enumerate(result.labels) if label == "person"]
        assert len(people) == 1, f"frame {result.frame_index}: {result.labels}"
        rows.append(people[0])
    return rows


@pytest.fixture(scope="module")
def tracked(pose, scene_video):
    return list(pose.track(scene_video))


def test_every_frame_comes_with_its_image_index_and_time(tracked, scene):
    assert len(tracked) == len(scene)
    assert [r.frame_index for r in tracked] == list(range(len(scene)))
    np.testing.assert_allclose([r.time_s for r in tracked], np.arange(len(scene)) / SCENE.fps, atol=1e-6)
    assert all(r.image.shape == scene[0].image.shape for r in tracked)


def test_the_person_keeps_one_track_id(tracked):
    rows = person_rows(tracked)
    ids = [int(r.track_ids[i]) for r, i in zip(tracked, rows, strict=True)]
    # A track is confirmed on its third frame (the Tracker's min_hits); from then on one id.
    assert ids[:2] == [-1, -1]
    assert len(set(ids[2:])) == 1 and ids[2] >= 1
    others = {int(t) for r in tracked[2:] for t, lab in zip(r.track_ids, r.labels, strict=True) if lab != "person"}
    assert ids[2] not in others


def test_keypoints_are_smoothed_along_the_track(pose, tracked):
    rows = person_rows(tracked)
    raw = [pose(r.image) for r in tracked]  # the same frames through the same models, untracked
    raw_rows = person_rows(raw)
    smoothed = np.stack([r.keypoints[i] for r, i in zip(tracked, rows, strict=True)])
    plain = np.stack([r.keypoints[i] for r, i in zip(raw, raw_rows, strict=True)])
    # Tentative frames pass unsmoothed; the smoothed ones differ, but stay on the figure.
    np.testing.assert_array_equal(smoothed[:2], plain[:2])
    difference = np.abs(smoothed[3:] - plain[3:])
    assert difference.max() > 0.5 and np.median(difference) < 5
    # Less jitter: the frame-to-frame acceleration of the keypoints shrinks.
    jitter = lambda k: np.abs(np.diff(k[2:], n=2, axis=0)).mean()  # noqa: E731
    assert jitter(smoothed) < 0.8 * jitter(plain)


def test_without_smoothing_the_keypoints_are_the_models(pose, scene_video, tracked):
    unsmoothed = list(pose.track(scene_video, smooth=False, max_frames=6))
    assert len(unsmoothed) == 6
    for result in unsmoothed:
        np.testing.assert_array_equal(result.keypoints, pose(result.image).keypoints)
    np.testing.assert_array_equal(unsmoothed[5].track_ids, tracked[5].track_ids)


def test_node_params_pass_through(pose, scene_video):
    first = next(iter(pose.track(scene_video, tracker_params={"min_hits": 1}, smoother_params={"filter": "ema"})))
    assert (first.track_ids >= 1).all()
    with pytest.raises(ValueError, match="min_hits"):
        next(iter(pose.track(scene_video, tracker_params={"min_hits": 0})))


def test_an_image_folder_is_a_source(pose, scene, tmp_path: Path):
    for i, frame in enumerate(scene[:8]):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), frame.image)
    results = list(pose.track(tmp_path, camera_params={"fps": 10}))
    assert [r.frame_index for r in results] == list(range(8))
    np.testing.assert_allclose([r.time_s for r in results], np.arange(8) / 10)
    np.testing.assert_array_equal(results[0].image, scene[0].image)  # png: lossless
    ids = [int(r.track_ids[i]) for r, i in zip(results, person_rows(results), strict=True)]
    assert len(set(ids[2:])) == 1 and ids[2] >= 1


def test_a_missing_source_says_so(pose, tmp_path: Path):
    with pytest.raises(CaptureError, match="no such video file"):
        next(iter(pose.track(tmp_path / "missing.mp4")))
