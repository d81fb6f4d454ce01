"""The One Euro filter against the paper's equations, computed here independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowpose.smoothing import OneEuroFilter, OneEuroParams, smoothing_factor


def paper_one_euro(xs: list[float], ts: list[float], min_cutoff: float, beta: float, d_cutoff: float) -> list[float]:
    """Casiez, Roussel & Vogel (CHI 2012), written out for one scalar signal."""

    def alpha(te: float, cutoff: float) -> float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    out: list[float] = []
    x_hat = dx_hat = t_prev = 0.0
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        if i == 0:
            x_hat, dx_hat, t_prev = x, 0.0, t
        else:
            te = t - t_prev
            dx = (x - x_hat) / te
            dx_hat = alpha(te, d_cutoff) * dx + (1.0 - alpha(te, d_cutoff)) * dx_hat
            cutoff = min_cutoff + beta * abs(dx_hat)
            x_hat = alpha(te, cutoff) * x + (1.0 - alpha(te, cutoff)) * x_hat
            t_prev = t
        out.append(x_hat)
    return out


def run_filter(xs: list[float], ts: list[float], params: OneEuroParams, axis: int = 0) -> list[float]:
    f = OneEuroFilter(1, params)
    out = []
    for x, t in zip(xs, ts, strict=True):
        point = np.zeros((1, 2))
        point[0, axis] = x
        out.append(float(f.update(point, np.array([True]), t)[0, axis]))
    return out


def test_first_step_by_hand() -> None:
    # x: 0 at t = 0, then 1 at t = 0.1 s; beta 0 so the cutoff stays 1 Hz:
    # alpha = 1 / (1 + (1 / 2pi) / 0.1) = 0.6283185 / 1.6283185 = 0.3858695...
    out = run_filter([0.0, 1.0], [0.0, 0.1], OneEuroParams(min_cutoff=1.0, beta=0.0, d_cutoff=1.0))
    assert out[0] == 0.0
    assert out[1] == pytest.approx(0.38586954, abs=1e-7)
    assert float(smoothing_factor(0.1, 1.0)) == pytest.approx(0.38586954, abs=1e-7)


def test_second_step_by_hand_with_beta() -> None:
    # Step 1 (te = 0.1): a_d = 0.3858695 (d_cutoff 1 Hz), dx = (1 - 0) / 0.1 = 10,
    # dx_hat = 3.858695, cutoff = 1 + 0.5 * 3.858695 = 2.9293477 Hz,
    # a = 2pi * 2.9293477 * 0.1 / (1 + same) = 1.8405607 / 2.8405607 = 0.6479564,
    # x_hat = 0.6479564.
    out = run_filter([0.0, 1.0], [0.0, 0.1], OneEuroParams(min_cutoff=1.0, beta=0.5, d_cutoff=1.0))
    assert out[1] == pytest.approx(0.6479564, abs=1e-6)


@pytest.mark.parametrize(
    ("min_cutoff", "beta", "d_cutoff"),
    [(1.0, 0.0, 1.0), (1.0, 0.03, 0.4), (0.3, 0.1, 2.0), (4.0, 0.005, 1.0)],
)
def test_matches_the_paper_on_irregular_times(min_cutoff: float, beta: float, d_cutoff: float) -> None:
    rng = np.random.default_rng(7)
    ts = np.cumsum(rng.choice([1 / 30, 2 / 30, 1 / 60], size=120)).tolist()  # drops and a faster camera
    xs = (50 * np.sin(np.asarray(ts) * 3.0) + rng.normal(0, 2.0, 120)).tolist()
    expected = paper_one_euro(xs, ts, min_cutoff, beta, d_cutoff)
    params = OneEuroParams(min_cutoff, beta, d_cutoff)
    np.testing.assert_allclose(run_filter(xs, ts, params, axis=0), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(run_filter(xs, ts, params, axis=1), expected, rtol=1e-9, atol=1e-9)


def test_speed_is_the_norm_of_the_velocity_unless_per_axis() -> None:
    # Diagonal motion: the speed is sqrt(2) times each axis' speed, so our cutoff is higher
    # (less lag) than a per-axis filter's, and each axis of the per-axis one is the paper's.
    ts = [i / 30 for i in range(20)]
    xs = [3.0 * i for i in range(20)]
    params = OneEuroParams(1.0, 0.05, 1.0)
    norm_f, axis_f = OneEuroFilter(1, params), OneEuroFilter(1, OneEuroParams(1.0, 0.05, 1.0, per_axis=True))
    for x, t in zip(xs, ts, strict=True):
        p = np.array([[x, x]])
        by_norm, by_axis = norm_f.update(p, np.array([True]), t), axis_f.update(p, np.array([True]), t)
    assert by_axis[0, 0] == pytest.approx(paper_one_euro(xs, ts, 1.0, 0.05, 1.0)[-1])
    assert xs[-1] - by_norm[0, 0] < xs[-1] - by_axis[0, 0]  # less lag behind the ramp


def test_constant_input_stays_put_and_first_value_passes() -> None:
    f = OneEuroFilter(3, OneEuroParams())
    pts = np.array([[1.0, 2.0], [3.0, 4.0], [-5.0, 6.5]])
    for i in range(10):
        np.testing.assert_allclose(f.update(pts, np.ones(3, bool), i / 30), pts, rtol=0, atol=1e-12)


def test_untrusted_points_pass_unchanged_and_leave_the_state() -> None:
    ts = [i / 30 for i in range(6)]
    xs = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    f = OneEuroFilter(1, OneEuroParams(1.0, 0.01, 1.0))
    out = []
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        glitch = i == 3
        value = 500.0 if glitch else x
        out.append(float(f.update(np.array([[value, 0.0]]), np.array([not glitch]), t)[0, 0]))
    assert out[3] == 500.0  # passed through untouched
    kept = [x for i, x in enumerate(xs) if i != 3]
    kept_t = [t for i, t in enumerate(ts) if i != 3]
    expected = paper_one_euro(kept, kept_t, 1.0, 0.01, 1.0)  # as if the glitch never happened
    assert [out[i] for i in (0, 1, 2, 4, 5)] == pytest.approx(expected)


def test_a_point_unseen_longer_than_max_gap_restarts() -> None:
    f = OneEuroFilter(1, OneEuroParams(1.0, 0.0, 1.0), max_gap=0.5)
    f.update(np.array([[0.0, 0.0]]), np.array([True]), 0.0)
    jumped = f.update(np.array([[100.0, 0.0]]), np.array([True]), 0.4)  # within the gap: smoothed
    assert 0.0 < jumped[0, 0] < 100.0
    again = f.update(np.array([[300.0, 0.0]]), np.array([True]), 1.0)  # 0.6 s later: starts afresh
    assert again[0, 0] == 300.0


def test_same_timestamp_twice_reports_the_estimate_unchanged() -> None:
    f = OneEuroFilter(1, OneEuroParams())
    f.update(np.array([[0.0, 0.0]]), np.array([True]), 0.0)
    first = f.update(np.array([[10.0, 0.0]]), np.array([True]), 0.1).copy()
    again = f.update(np.array([[99.0, 0.0]]), np.array([True]), 0.1)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(
    "kwargs", [{"min_cutoff": 0.0}, {"beta": -0.1}, {"d_cutoff": 0.0}], ids=["min_cutoff", "beta", "d_cutoff"]
)
def test_bad_params_are_refused_by_name(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        OneEuroParams(**kwargs)


def test_bad_shapes_are_refused() -> None:
    f = OneEuroFilter(2)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        f.update(np.zeros((3, 2)), np.ones(3, bool), 0.0)
    with pytest.raises(ValueError, match="valid"):
        f.update(np.zeros((2, 2)), np.ones(3, bool), 0.0)
