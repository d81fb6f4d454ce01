"""Track lifecycle and identities on hand-made sequences with known identities."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.frame import Instance
from flowpose.meta import load_layout
from flowpose.tracking import Tracker, TrackerConfig

DT = 1 / 30
COCO = load_layout("coco17")
# A standing figure in a 40 x 100 box: keypoints spread over it, in COCO order (roughly).
POSE = np.array(
    [[20, 8], [17, 6], [23, 6], [14, 8], [26, 8], [10, 25], [30, 25], [6, 45], [34, 45], [5, 62], [35, 62],
     [13, 55], [27, 55], [13, 77], [27, 77], [13, 98], [27, 98]], dtype=np.float64,
)  # fmt: skip


def figure(x: float, y: float = 100.0, label: str = "person", pose: np.ndarray = POSE) -> Instance:
    return Instance(
        bbox=[x, y, x + 40, y + 100],
        label=label,
        keypoints=pose + np.array([x, y]),
        keypoint_scores=np.ones(len(pose)),
        layout="coco17" if label == "person" else "",
        track_id=99,  # whatever came in is overwritten
    )


def run(tracker: Tracker, frames: list[list[Instance]]) -> list[list[int]]:
    return [tracker.update(insts, i * DT).track_ids for i, insts in enumerate(frames)]


def switches(ids_per_frame: list[list[int]], truth_per_frame: list[list[int]]) -> tuple[int, int]:
    """(identity switches, tracker ids covering more than one true identity)."""
    last: dict[int, int] = {}
    owners: dict[int, set[int]] = {}
    count = 0
    for ids, truth in zip(ids_per_frame, truth_per_frame, strict=True):
        for tid, gt in zip(ids, truth, strict=True):
            if tid < 0:
                continue
            count += gt in last and last[gt] != tid
            last[gt] = tid
            owners.setdefault(tid, set()).add(gt)
    return count, sum(len(v) > 1 for v in owners.values())


def test_birth_after_min_hits_and_ids_from_one() -> None:
    ids = run(Tracker(TrackerConfig(min_hits=3)), [[figure(100.0 + 2 * i)] for i in range(5)])
    assert ids == [[-1], [-1], [1], [1], [1]]
    assert run(Tracker(TrackerConfig(min_hits=1)), [[figure(100.0)]]) == [[1]]


def test_tentative_tracks_that_miss_die_without_using_an_id() -> None:
    tracker = Tracker(TrackerConfig(min_hits=3))
    frames = [[figure(100.0)], [figure(102.0)], [], [figure(300.0)], [figure(302.0)], [figure(304.0)]]
    assert run(tracker, frames)[-1] == [1]


def test_confirmed_track_survives_short_occlusion_on_its_predicted_path() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=15))
    frames = [[figure(100.0 + 5 * i)] if not 10 <= i < 20 else [] for i in range(30)]
    ids = run(tracker, frames)
    assert {tuple(x) for x in ids[1:10] + ids[20:]} == {(1,)}  # 10 frames hidden, 50 px further: same id


def test_track_ends_after_max_misses_and_ids_are_never_reused() -> None:
    tracker = Tracker(TrackerConfig(min_hits=1, max_misses=3))
    seen: list[int] = []
    ended: list[int] = []
    for i in range(40):
        # A figure shows for 5 frames, hides for 5 (> max_misses), and comes back at the same place.
        insts = [figure(100.0)] if i % 10 < 5 else []
        update = tracker.update(insts, i * DT)
        seen += update.track_ids
        ended += update.ended
        if i % 10 == 8:  # the 4th miss in a row: ended at this frame
            assert update.ended == [seen[-1]]
    distinct = list(dict.fromkeys(seen))
    assert distinct == [1, 2, 3, 4] and ended == [1, 2, 3, 4]


def test_crossing_with_full_overlap_and_a_hidden_frame_keeps_identities() -> None:
    frames, truth = [], []
    for i in range(40):
        left, right = 100.0 + 6 * i, 340.0 - 6 * i  # they meet at frame 20
        insts, gts = [figure(left), figure(right)], [0, 1]
        if 19 <= i <= 21:  # the one behind is not detected while they overlap
            insts, gts = insts[:1], gts[:1]
        frames.append(insts)
        truth.append(gts)
    for metric in ("iou", "oks", "both"):
        ids = run(Tracker(TrackerConfig(metric=metric, min_hits=2)), frames)
        assert ids[-1] == [1, 2] or ids[-1] == [2, 1]
        assert switches(ids, truth) == (0, 0), metric


def test_a_dog_never_continues_a_person_track() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=10))
    person_ids = run(tracker, [[figure(100.0)] for _ in range(5)])
    later = [tracker.update([figure(100.0, label="dog")], (5 + i) * DT) for i in range(3)]
    assert person_ids[-1] == [1]
    assert [u.track_ids for u in later] == [[-1], [2], [2]]
    # Side by side, exactly overlapping: each keeps its own id.
    tracker = Tracker(TrackerConfig(min_hits=1))
    for i in range(5):
        ids = tracker.update([figure(100.0 + i), figure(100.0 + i, label="dog")], i * DT).track_ids
        assert ids == [1, 2]


def test_oks_tells_apart_two_poses_in_the_same_box() -> None:
    crouch = POSE.copy()
    crouch[11:, 1] -= 30  # hips, knees and ankles higher: another pose, same box
    tracker = Tracker(TrackerConfig(metric="oks", min_hits=1))
    tracker.update([figure(100.0), figure(100.0, pose=crouch)], 0.0)
    # The next frame lists them the other way round: OKS, not the order, decides.
    ids = tracker.update([figure(101.0, pose=crouch), figure(101.0)], DT).track_ids
    assert ids == [2, 1]


def test_unknown_layout_is_a_clear_error() -> None:
    inst = figure(100.0).replace(layout="no_such_layout")
    tracker = Tracker(TrackerConfig(metric="oks", min_hits=1))
    tracker.update([inst], 0.0)
    with pytest.raises(ValueError, match="no_such_layout"):
        tracker.update([inst], DT)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"metric": "cosine"}, "metric"), ({"min_similarity": 0.0}, "min_similarity"), ({"min_hits": 0}, "min_hits")],
)
def test_bad_config_is_refused_by_name(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        TrackerConfig(**kwargs)


def test_coco_sigmas_are_used_for_oks() -> None:
    from flowpose.tracking import layout_sigmas

    np.testing.assert_allclose(layout_sigmas("coco17", 17), COCO.sigmas_array)
    assert layout_sigmas("", 17) is None
    with pytest.raises(ValueError, match="17 keypoints"):
        layout_sigmas("coco17", 5)
