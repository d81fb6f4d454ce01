"""Interval mode without the runtime: boxes from keypoints, merging feedback, when to detect again."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.detection import IntervalPlanner, IntervalSettings, box_from_keypoints, merge_instances
from flowpose.frame import Frame, Instance

SIZE = (640, 480)
IMAGE = np.zeros((480, 640, 3), np.uint8)


def person(x: float, y: float, score: float = 0.9, label: str = "person", track_id: int = -1) -> Instance:
    """An instance with 5 keypoints spread over 100 x 200 px from (x, y), all scoring ``score``."""
    kpts = np.array([[x, y], [x + 100, y], [x + 50, y + 100], [x, y + 200], [x + 100, y + 200]], np.float32)
    return Instance(
        bbox=[x - 10, y - 10, x + 110, y + 210],
        score=0.8,
        label=label,
        track_id=track_id,
        keypoints=kpts,
        keypoint_scores=np.full(5, score, np.float32),
    )


def fed_back(frame_id: int, *instances: Instance, source: str = "cam") -> Frame:
    return Frame(frame_id, 0, source, IMAGE, instances=instances)


def test_box_from_keypoints_uses_confident_points_margin_and_clips():
    kpts = np.array([[100, 100], [200, 300], [600, 470], [150, 200]], np.float32)
    scores = np.array([0.9, 0.9, 0.1, 0.9], np.float32)
    box = box_from_keypoints(kpts, scores, 0.3, 1.25, SIZE)
    assert box.tolist() == pytest.approx([87.5, 75, 212.5, 325])  # 100x200 bounds, 25 % larger, same centre
    assert box.dtype == np.float32
    edge = box_from_keypoints(kpts[:2] - np.float32([90, 0]), scores[:2], 0.3, 1.5, SIZE)
    assert edge[0] == 0  # clipped at the left edge
    assert box_from_keypoints(kpts, np.zeros(4), 0.3, 1.25, SIZE) is None
    assert box_from_keypoints(np.array([[10, 10]]), np.ones(1), 0.3, 1.25, SIZE) is None  # empty box


def same(got: list[Instance], expected: list[Instance]) -> bool:
    """The very same instances in the same order (Instance holds arrays, so == does not apply)."""
    return len(got) == len(expected) and all(g is e for g, e in zip(got, expected, strict=True))


def test_merge_drops_pass_through_copies_but_not_overlapping_people():
    alice, bob = person(100, 100), person(110, 105)  # two people, heavily overlapping, in one pose output
    dog_box = Instance(bbox=[300, 200, 400, 300], label="dog")  # passed through by the human pose node
    dog = Instance(bbox=[300, 200, 400, 300], label="dog", keypoints=np.ones((3, 2)) * 350)
    humans = fed_back(5, alice, bob, dog_box)
    animals = fed_back(5, Instance(bbox=alice.bbox, label="person"), Instance(bbox=bob.bbox, label="person"), dog)
    merged = merge_instances([humans, animals])
    assert same(merged, [alice, bob, dog])
    assert same(merge_instances([humans]), [alice, bob, dog_box])


def test_interval_one_always_detects():
    planner = IntervalPlanner(IntervalSettings(interval=1))
    for i in range(3):
        assert planner.plan(i, SIZE, [fed_back(i - 1, person(0, 0))]).reason == "every_frame"
        planner.record(i, [person(0, 0)], detected=True)


def run(planner: IntervalPlanner, frames: range, feedback) -> list[str]:
    """Plan each frame with ``feedback(frame_id, emitted_so_far)``; returns the reasons, detections marked."""
    reasons, emitted = [], {}
    for i in frames:
        plan = planner.plan(i, SIZE, feedback(i, emitted))
        out = (person(100, 100),) if plan.detect else plan.instances
        emitted[i] = out
        planner.record(i, out, plan.detect)
        reasons.append(plan.reason)
    return reasons


def test_detects_every_n_frames_and_follows_keypoints_between():
    planner = IntervalPlanner(IntervalSettings(interval=3))

    def previous_pose(i, emitted):  # a pose node that found the person where the boxes were
        return [fed_back(i - 1, person(100 + i, 100))] if i > 0 else []

    reasons = run(planner, range(8), previous_pose)
    assert reasons == ["first", "keypoints", "keypoints", "interval", "keypoints", "keypoints", "interval", "keypoints"]


def test_followed_box_comes_from_the_fed_back_keypoints():
    planner = IntervalPlanner(IntervalSettings(interval=5, box_margin=1.5))
    planner.record(10, [person(100, 100)], detected=True)
    moved = person(140, 120, track_id=7)
    plan = planner.plan(11, SIZE, [fed_back(10, moved)])
    assert not plan.detect and plan.reason == "keypoints"
    (inst,) = plan.instances
    assert inst.bbox.tolist() == pytest.approx([115, 70, 265, 370])  # 100x200 bounds x 1.5 about (190, 220)
    assert (inst.label, inst.score, inst.track_id, inst.keypoints) == ("person", 0.8, 7, None)


@pytest.mark.parametrize(
    "lost",
    [
        person(100, 100, score=0.1),  # no confident keypoint
        Instance(  # two confident keypoints, three needed
            bbox=[0, 0, 9, 9],
            keypoints=np.array([[10, 10], [50, 80], [0, 0], [0, 0], [0, 0]]),
            keypoint_scores=[0.9, 0.9, 0.0, 0.0, 0.0],
        ),
        Instance(  # enough confident keypoints, but a mean score below 0.2 over all 17
            bbox=[0, 0, 9, 9],
            keypoints=np.tile([[10, 10], [50, 80], [30, 40]], (6, 1))[:17],
            keypoint_scores=[0.35, 0.35, 0.35] + [0.0] * 14,
        ),
    ],
)
def test_a_lost_instance_means_detect_on_the_next_frame(lost):
    planner = IntervalPlanner(IntervalSettings(interval=10))
    planner.record(0, [person(100, 100)], detected=True)
    plan = planner.plan(1, SIZE, [fed_back(0, person(300, 100), lost)])
    assert plan.detect and plan.reason == "lost"


def test_nobody_to_follow_means_detect():
    planner = IntervalPlanner(IntervalSettings(interval=10))
    planner.record(0, [], detected=True)
    assert planner.plan(1, SIZE, []).reason == "no_instances"  # the last detection found nobody
    planner.record(1, [person(0, 0)], detected=True)
    assert planner.plan(2, SIZE, [fed_back(1)]).reason == "no_instances"  # the pose output has nobody


def test_stale_feedback_is_ignored_and_the_last_boxes_are_used_again():
    planner = IntervalPlanner(IntervalSettings(interval=10))
    detected = person(100, 100)
    planner.record(5, [detected], detected=True)
    old = fed_back(4, person(400, 100, score=0.1))  # lost, but before the detection on frame 5
    plan = planner.plan(6, SIZE, [old])
    assert plan.reason == "previous" and len(plan.instances) == 1 and plan.instances[0] is detected


def test_instances_without_keypoints_keep_their_box():
    planner = IntervalPlanner(IntervalSettings(interval=10))
    planner.record(0, [Instance(bbox=[1, 2, 30, 40], label="car")], detected=True)
    plan = planner.plan(1, SIZE, [fed_back(0, Instance(bbox=[1, 2, 30, 40], label="car", track_id=3))])
    assert not plan.detect and plan.instances[0].bbox.tolist() == [1, 2, 30, 40] and plan.instances[0].track_id == 3


def test_a_restarted_stream_starts_over():
    planner = IntervalPlanner(IntervalSettings(interval=10))
    planner.record(50, [person(100, 100)], detected=True)
    assert planner.plan(51, SIZE, []).reason == "previous"
    assert planner.plan(0, SIZE, []).reason == "first"  # frame ids went back


@pytest.mark.parametrize(
    ("field", "value"), [("interval", 0), ("keypoint_threshold", 2), ("min_keypoints", 0), ("box_margin", 0.5)]
)
def test_settings_are_checked(field, value):
    with pytest.raises(ValueError, match=field):
        IntervalSettings(**{field: value})
