"""EMA and Kalman filters: their maths, time steps from timestamps, untrusted points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowpose.smoothing import EmaFilter, EmaParams, KalmanParams, KalmanPointFilter, PointFilter

ONE = np.array([True])


def feed(f: PointFilter, xs: list[float], ts: list[float], valid: list[bool] | None = None) -> list[float]:
    out = []
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        ok = ONE if valid is None else np.array([valid[i]])
        out.append(float(f.update(np.array([[x, 0.0]]), ok, t)[0, 0]))
    return out


def test_ema_per_frame_alpha_in_frames() -> None:
    # PaddleDetection's EMA: x̂ = 0.5 x + 0.5 x̂, one step per frame.
    xs = [0.0, 8.0, 8.0, 0.0, 4.0]
    expected, x_hat = [], 0.0
    for i, x in enumerate(xs):
        x_hat = x if i == 0 else 0.5 * x + 0.5 * x_hat
        expected.append(x_hat)
    params = EmaParams.from_alpha(0.5)
    assert params.time_constant == pytest.approx(1 / math.log(2))
    assert feed(EmaFilter(1, params), xs, [float(i) for i in range(5)]) == pytest.approx(expected)


def test_ema_one_long_step_equals_two_short_ones_toward_a_constant() -> None:
    # Toward a constant target, (1 - a(2 dt)) = (1 - a(dt))²: a dropped frame changes nothing.
    two = feed(EmaFilter(1, EmaParams(0.05)), [0.0, 10.0, 10.0], [0.0, 1 / 30, 2 / 30])
    one = feed(EmaFilter(1, EmaParams(0.05)), [0.0, 10.0], [0.0, 2 / 30])
    assert one[-1] == pytest.approx(two[-1])
    assert one[-1] == pytest.approx(10.0 * (1 - math.exp(-(2 / 30) / 0.05)))


def test_kalman_follows_a_ramp_without_lag_once_it_knows_the_speed() -> None:
    ts = [i / 30 for i in range(90)]
    xs = [120.0 * t for t in ts]  # 120 px/s
    kalman = feed(KalmanPointFilter(1, KalmanParams(800.0, 5.0)), xs, ts)
    ema = feed(EmaFilter(1, EmaParams(0.04)), xs, ts)
    assert abs(kalman[-1] - xs[-1]) < 0.05  # constant velocity is its model
    a = 1 - math.exp(-(1 / 30) / 0.04)
    assert xs[-1] - ema[-1] == pytest.approx(120.0 / 30 * (1 - a) / a)  # a discrete EMA's steady lag on a ramp


def test_kalman_first_update_by_hand() -> None:
    # Point starts at 0 (P = diag(r², v0²)); after dt the prior is P' = F P Fᵀ + Q, and the gain on
    # position is P'[0, 0] / (P'[0, 0] + r²). Written out for r = 2, v0 = 10, q = 100, dt = 0.1.
    r, v0, q, dt = 2.0, 10.0, 100.0, 0.1
    p00 = r**2 + dt**2 * v0**2 + q * dt**4 / 4
    gain = p00 / (p00 + r**2)
    f = KalmanPointFilter(1, KalmanParams(acceleration_std=math.sqrt(q), measurement_std=r, initial_velocity_std=v0))
    out = feed(f, [0.0, 1.0], [0.0, dt])
    assert out[1] == pytest.approx(gain * 1.0)


def test_kalman_coasts_through_untrusted_points_and_uses_real_time_steps() -> None:
    ts = [i / 30 for i in range(40)]
    xs = [60.0 * t for t in ts]
    valid = [not (30 <= i < 35) for i in range(40)]
    f = KalmanPointFilter(1, KalmanParams(800.0, 5.0))
    shown = []
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        out = f.update(np.array([[x if valid[i] else -999.0, 0.0]]), np.array([valid[i]]), t)
        shown.append(out[0, 0])
    assert all(shown[i] == -999.0 for i in range(30, 35))  # untrusted: passed through as they came
    assert float(f.kf.x[0, 0]) == pytest.approx(xs[-1], abs=0.5)  # its state kept going meanwhile
    assert shown[35] == pytest.approx(xs[35], abs=0.5)


def test_kalman_and_ema_leave_untrusted_points_out_of_the_state() -> None:
    for make in (lambda: KalmanPointFilter(2), lambda: EmaFilter(2)):
        clean, dirty = make(), make()
        for i in range(10):
            t = i / 30
            base = np.array([[float(i), 0.0], [5.0, 5.0]])
            noisy = base.copy()
            noisy[1] = [1000.0, -1000.0] if i % 2 else [5.0, 5.0]
            a = clean.update(base, np.array([True, True]), t)
            b = dirty.update(noisy, np.array([True, i % 2 == 0]), t)
            np.testing.assert_allclose(a[0], b[0])  # the other point is not affected either
            if i % 2 == 0:
                np.testing.assert_allclose(a[1], b[1])


def test_process_noise_is_filterpys_white_noise_model() -> None:
    from filterpy.common import Q_discrete_white_noise

    from flowpose.smoothing.kalman import white_acceleration_noise

    for dt, var in ((1 / 30, 640_000.0), (0.1, 4.0), (2.0, 1.0)):
        np.testing.assert_allclose(white_acceleration_noise(dt, var), Q_discrete_white_noise(2, dt, var))


def test_kalman_params_refuse_non_positive() -> None:
    with pytest.raises(ValueError, match="measurement_std"):
        KalmanParams(measurement_std=0.0)
    with pytest.raises(ValueError, match="time_constant"):
        EmaParams(0.0)
