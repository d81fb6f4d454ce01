"""Smoothing whole frames: per (source, track) state, resets, untracked instances, dropped frames."""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.smoothing import (
    FILTERS,
    EmaParams,
    FrameClock,
    FrameSmoother,
    KalmanParams,
    OneEuroParams,
    SmoothingConfig,
    check_timestamp_spec,
)
from flowpose.tracking import TRACKS_ENDED_KEY

IMAGE = np.zeros((4, 4, 3), np.uint8)
FPS = 30.0


def person(x: float, track_id: int = 1, scores: np.ndarray | None = None, k: int = 5) -> Instance:
    kpts = np.stack([x + np.arange(k) * 10.0, 50.0 + np.arange(k) * 5.0], axis=1)
    return Instance(
        bbox=[x - 5, 40, x + 10 * k, 50 + 5 * k + 10],
        label="person",
        track_id=track_id,
        keypoints=kpts,
        keypoint_scores=np.ones(k) if scores is None else scores,
        layout="",
    )


def frame(i: int, instances: list[Instance], source: str = "cam", meta: dict | None = None) -> Frame:
    return Frame(i, int(i / FPS * 1e9) + 10**18, source, IMAGE, tuple(instances), meta or {})


def x_at(i: int) -> float:
    return 100.0 + 4.0 * i + 30.0 * np.sin(i / 6.0)  # walking, with some sway


def frame_count_equivalent(cfg: SmoothingConfig) -> SmoothingConfig:
    """The same filter with every time in frames at 30 fps (what frame-count smoothers run)."""
    e, k = cfg.one_euro, cfg.kalman
    return SmoothingConfig(
        filter=cfg.filter,
        one_euro=OneEuroParams(e.min_cutoff / FPS, e.beta, e.d_cutoff / FPS),
        ema=EmaParams(cfg.ema.time_constant * FPS),
        kalman=KalmanParams(k.acceleration_std / FPS**2, k.measurement_std, k.initial_velocity_std / FPS),
        reset_after=cfg.reset_after * FPS,
    )


def run(smoother: FrameSmoother, drop: int | None) -> dict[int, np.ndarray]:
    out = {}
    for i in range(40):
        if i != drop:
            out[i] = smoother(frame(i, [person(x_at(i))])).frame.instances[0].keypoints
    return out


@pytest.mark.parametrize("kind", FILTERS)
def test_a_dropped_frame_leaves_the_output_as_it_would_have_been(kind: str) -> None:
    cfg = SmoothingConfig(filter=kind)
    full, dropped = run(FrameSmoother(cfg), None), run(FrameSmoother(cfg), drop=20)
    deviation = max(float(np.abs(full[i] - dropped[i]).max()) for i in range(21, 40))
    step = np.mean([abs(x_at(i + 1) - x_at(i)) for i in range(40)])
    assert deviation < 0.1 * step  # a tenth of a frame's motion, at worst, right after the drop
    # Counting frames instead of reading the clock, the same filter is thrown further off.
    counted = frame_count_equivalent(cfg)
    full_f = run(FrameSmoother(counted, "frames"), None)
    dropped_f = run(FrameSmoother(counted, "frames"), drop=20)
    assert deviation < max(float(np.abs(full_f[i] - dropped_f[i]).max()) for i in range(21, 40))


def test_smoothing_reduces_jitter_on_every_track_independently() -> None:
    rng = np.random.default_rng(0)
    smoother = FrameSmoother(SmoothingConfig())
    raw: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}
    smoothed: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}
    truth: dict[int, list[np.ndarray]] = {1: [], 2: [], 3: []}
    for i in range(60):
        insts = []
        for tid in raw:
            clean = person(x_at(i) + 300.0 * (tid - 1), tid)
            truth[tid].append(clean.keypoints)
            insts.append(clean.replace(keypoints=clean.keypoints + rng.normal(0, 3.0, clean.keypoints.shape)))
        out = smoother(frame(i, insts)).frame
        for inst, smooth in zip(insts, out.instances, strict=True):
            assert smooth.label == "person"
            raw[inst.track_id].append(inst.keypoints)
            smoothed[smooth.track_id].append(smooth.keypoints)

    def jitter(series: list[np.ndarray]) -> float:
        a = np.array(series[10:])
        return float(np.abs(a[2:] - 2 * a[1:-1] + a[:-2]).mean())

    def error(series: list[np.ndarray], tid: int) -> float:
        return float(np.abs(np.array(series[10:]) - np.array(truth[tid][10:])).mean())

    for tid in raw:  # each track smoothed on its own: none is pulled toward another
        assert jitter(smoothed[tid]) < 0.5 * jitter(raw[tid])
        assert error(smoothed[tid], tid) < error(raw[tid], tid)
    assert len(smoother.bank) == 3


def test_sources_never_mix_even_with_equal_track_ids() -> None:
    smoother = FrameSmoother(SmoothingConfig())
    for i in range(10):
        a = smoother(frame(i, [person(100.0)], source="left")).frame
        b = smoother(frame(i, [person(900.0)], source="right")).frame
    np.testing.assert_allclose(a.instances[0].keypoints, person(100.0).keypoints, atol=1e-4)
    np.testing.assert_allclose(b.instances[0].keypoints, person(900.0).keypoints, atol=1e-4)
    assert ("left", 1) in smoother.bank and ("right", 1) in smoother.bank


def test_state_is_dropped_when_the_tracker_ends_the_track() -> None:
    smoother = FrameSmoother(SmoothingConfig())
    for i in range(5):
        smoother(frame(i, [person(100.0)]))
    result = smoother(frame(5, [], meta={TRACKS_ENDED_KEY: [1]}))
    assert result.resets == 1 and ("cam", 1) not in smoother.bank
    # Were it kept, the next observation far away would be pulled back toward x = 100.
    jumped = smoother(frame(6, [person(400.0)])).frame.instances[0]
    np.testing.assert_allclose(jumped.keypoints, person(400.0).keypoints)


def test_state_is_dropped_after_reset_after_seconds_unseen() -> None:
    smoother = FrameSmoother(SmoothingConfig(reset_after=0.5))
    for i in range(5):
        smoother(frame(i, [person(100.0)]))
    smoother(frame(10, [person(100.0, track_id=2)]))  # 5 frames (0.17 s) later: track 1 still known
    assert ("cam", 1) in smoother.bank
    result = smoother(frame(25, [person(100.0, track_id=2)]))  # 0.67 s after track 1 was last seen
    assert result.resets == 1 and ("cam", 1) not in smoother.bank
    back = smoother(frame(26, [person(400.0)])).frame.instances[0]
    np.testing.assert_allclose(back.keypoints, person(400.0).keypoints)


def test_untracked_instances_pass_unchanged_and_are_counted() -> None:
    smoother = FrameSmoother(SmoothingConfig())
    raw = person(100.0, track_id=-1)
    result = smoother(frame(0, [raw, person(200.0)]))
    assert result.untracked == 1
    assert result.frame.instances[0] is raw


def test_low_score_keypoints_pass_through_and_boxes_are_smoothed() -> None:
    smoother = FrameSmoother(SmoothingConfig(min_keypoint_score=0.5))
    scores = np.array([1.0, 1.0, 0.1, 1.0, 1.0])
    smoother(frame(0, [person(100.0, scores=scores)]))
    moved = person(110.0, scores=scores)
    out = smoother(frame(1, [moved])).frame.instances[0]
    np.testing.assert_array_equal(out.keypoints[2], moved.keypoints[2])  # untrusted: as it came
    assert 100.0 < out.keypoints[0, 0] < 110.0  # trusted: smoothed
    assert moved.bbox[0] - 10 < out.bbox[0] < moved.bbox[0]  # the box too
    assert out.bbox[0] < out.bbox[2] and out.bbox[1] < out.bbox[3]


def test_a_changed_keypoint_count_starts_the_track_afresh() -> None:
    smoother = FrameSmoother(SmoothingConfig())
    smoother(frame(0, [person(100.0, k=5)]))
    out = smoother(frame(1, [person(300.0, k=7)])).frame.instances[0]
    np.testing.assert_allclose(out.keypoints, person(300.0, k=7).keypoints)


def test_boxes_only_instances_are_smoothed_too() -> None:
    smoother = FrameSmoother(SmoothingConfig())
    smoother(frame(0, [Instance([0, 0, 10, 10], track_id=4)]))
    out = smoother(frame(1, [Instance([10, 0, 20, 10], track_id=4)])).frame.instances[0]
    assert 0 < out.bbox[0] < 10 and out.keypoints is None


def test_clock_specs() -> None:
    assert check_timestamp_spec("capture") is None and check_timestamp_spec("frames") is None
    assert check_timestamp_spec("meta:pos_ms") is None
    assert "unit" in (check_timestamp_spec("meta:pos") or "")
    assert "'capture'" in (check_timestamp_spec("wall") or "")
    f = frame(3, [], meta={"pos_ms": 1500.0, "scene_time_s": 2.0})
    assert FrameClock("meta:pos_ms")(f) == pytest.approx(1.5)
    assert FrameClock("meta:scene_time_s")(f) == pytest.approx(2.0)
    assert FrameClock("capture")(f) == pytest.approx(f.capture_ns * 1e-9)
    counter = FrameClock("frames")
    assert [counter(f), counter(f), counter(frame(0, [], source="b"))] == [1.0, 2.0, 1.0]
    with pytest.raises(ValueError, match=r"node 'x'.*meta\['t_s'\]"):
        FrameClock("meta:t_s", "node 'x'")(f)
    with pytest.raises(ValueError, match="timestamp"):
        FrameClock("sometimes")
