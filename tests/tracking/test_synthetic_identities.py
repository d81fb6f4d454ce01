"""Identity switches on synthetic scenes with known identities, crossings and occlusions.

The scenes (seeds picked for their crossings: people walking past and behind each other,
figures vanishing behind occluders) go through the same simulated detector noise as the
smoothing evaluation, plus detections missed at random; every switch of identity is counted.
"""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.evaluation.detector_noise import DetectorNoise, observe
from flowpose.synthetic import SceneConfig, SyntheticScene
from flowpose.tracking import Tracker, TrackerConfig, iou_matrix

SEEDS = (11, 15, 17, 24)
FRAMES = 150
MISSED_DETECTIONS = 0.03


def count_crossings(frames: list) -> int:
    """Pairs of same-label figures whose boxes overlap while their left-right order flips."""
    order: dict[tuple[int, int], float] = {}
    crossings = 0
    for scene_frame in frames:
        objs = {o.track_id: o for o in scene_frame.objects}
        for a in objs.values():
            for b in objs.values():
                if a.track_id >= b.track_id or a.label != b.label:
                    continue
                side = np.sign((a.bbox[0] + a.bbox[2]) - (b.bbox[0] + b.bbox[2]))
                key = (a.track_id, b.track_id)
                if key in order and order[key] != side and iou_matrix(a.bbox[None], b.bbox[None])[0, 0] > 0.1:
                    crossings += 1
                order[key] = side
    return crossings


@pytest.mark.slow
def test_identities_survive_crossings_and_occlusions() -> None:
    switches = shared = crossings = hidden = 0
    for seed in SEEDS:
        config = SceneConfig(width=320, height=240, seed=seed, num_people=(3, 3), num_animals=(1, 1), num_frames=FRAMES)
        frames = list(SyntheticScene(config))
        crossings += count_crossings(frames)
        tracker = Tracker(TrackerConfig())
        rng = np.random.default_rng(seed)
        last: dict[int, int] = {}
        owners: dict[int, set[int]] = {}
        seen_at: dict[int, int] = {}
        for scene_frame in frames:
            kept = [o for o in scene_frame.objects if rng.random() >= MISSED_DETECTIONS]
            instances = [observe(o, DetectorNoise(), rng).instance for o in kept]
            update = tracker.update(instances, scene_frame.timestamp_s)
            for obj, tid in zip(kept, update.track_ids, strict=True):
                hidden += seen_at.get(obj.track_id, scene_frame.index - 1) < scene_frame.index - 1
                seen_at[obj.track_id] = scene_frame.index
                if tid < 0:
                    continue
                switches += obj.track_id in last and last[obj.track_id] != tid
                last[obj.track_id] = tid
                owners.setdefault(tid, set()).add(obj.track_id)
        shared += sum(len(truth) > 1 for truth in owners.values())
    assert crossings >= 20 and hidden >= 30  # as hard as when picked (measured: 31 crossings, 67 reappearances)
    assert shared == 0  # no track ever followed two figures
    assert switches <= 3  # measured: 1 (a figure reappearing far from where it vanished)
