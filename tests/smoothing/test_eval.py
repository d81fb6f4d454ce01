"""The smoothing evaluation: metrics on signals with known answers, the noise model, the table and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flowpose.cli.main import main
from flowpose.evaluation.detector_noise import DetectorNoise, object_size, observe
from flowpose.evaluation.smoothing_data import EvalConfig, simulate
from flowpose.evaluation.smoothing_eval import contenders, run
from flowpose.evaluation.smoothing_metrics import Series, error, jitter, lag_frames
from flowpose.evaluation.smoothing_report import check_targets, markdown, to_json
from flowpose.synthetic import GroundTruthObject

FPS = 30.0


def wave_series(frames: int = 200) -> Series:
    t = np.arange(frames) / FPS
    x = 200 + 80 * np.sin(2 * np.pi * 0.7 * t) + 30 * np.sin(2 * np.pi * 1.9 * t + 1)
    truth = np.stack([x, 100 + 20 * np.cos(2 * np.pi * 0.4 * t)], axis=1)[:, None, :]
    return Series(truth, np.full(frames, 100.0), np.ones((frames, 1), bool))


@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5, 4.2])
def test_lag_finds_a_known_delay(delay: float) -> None:
    s = wave_series()
    t = np.arange(len(s.truth)) / FPS - delay / FPS
    x = 200 + 80 * np.sin(2 * np.pi * 0.7 * t) + 30 * np.sin(2 * np.pi * 1.9 * t + 1)
    delayed = np.stack([x, 100 + 20 * np.cos(2 * np.pi * 0.4 * t)], axis=1)[:, None, :]
    assert lag_frames([s], [delayed], FPS) == pytest.approx(delay, abs=0.11)


def test_jitter_and_error_by_hand() -> None:
    frames = 50
    line = np.stack([np.arange(frames) * 3.0, np.full(frames, 7.0)], axis=1)[:, None, :]
    s = Series(line, np.full(frames, 50.0), np.ones((frames, 1), bool))
    assert jitter([s], [line]) == pytest.approx(0.0)  # uniform motion has no second difference
    zigzag = line + np.array([[[0.0, 1.0]], [[0.0, -1.0]]] * (frames // 2))
    assert jitter([s], [zigzag]) == pytest.approx(100 * 4.0 / 50)  # |1 - 2(-1) + 1| = 4 px, 50 px size
    assert error([s], [zigzag]) == (pytest.approx(100 * 1.0 / 50), frames)
    masked = Series(line, s.size, np.zeros((frames, 1), bool))
    assert error([masked], [zigzag])[1] == 0


def test_noise_model_statistics() -> None:
    rng = np.random.default_rng(0)
    kpts = np.stack([np.linspace(100, 200, 17), np.linspace(50, 250, 17)], axis=1).astype(np.float32)
    obj = GroundTruthObject(5, "person", "coco17", np.array([90, 40, 210, 260], np.float32), kpts, np.full(17, 2))
    noise = DetectorNoise(outlier_rate=0.0)
    errors, detected = [], []
    for _ in range(400):
        seen = observe(obj, noise, rng)
        assert seen.instance.track_id == 5 and seen.instance.layout == "coco17"
        errors.append((seen.instance.keypoints - kpts)[seen.detected])
        detected.append(seen.detected)
        assert np.all(seen.instance.keypoint_scores[~seen.detected] < 0.2)
    sigma = np.concatenate(errors).std()
    assert sigma == pytest.approx(noise.jitter * object_size(kpts), rel=0.05)
    assert 1 - np.mean(detected) == pytest.approx(noise.miss_rate, abs=0.01)


def test_simulated_sequences_drop_frames_and_keep_true_ids() -> None:
    config = EvalConfig(sequences=1, frames=60, width=320, height=240)
    seq = simulate(config, 0)
    assert len(seq.frames) == int(seq.delivered.sum()) < 60
    for f in seq.frames:
        assert {i.track_id for i in f.instances} <= set(seq.series)
        for s in seq.series.values():
            assert not s.mask[~seq.delivered].any()  # what was dropped is never scored


def test_small_evaluation_orders_rows_and_ours_beat_raw() -> None:
    result = run(EvalConfig(sequences=1, frames=90))
    names = [r.name for r in result.rows]
    assert names == [c.name for c in contenders()]
    raw, ours, truth = result.row("raw"), result.row("one_euro (ours)"), result.row("ground truth")
    assert raw.jitter_reduction == 0.0 and truth.error == 0.0 and truth.jitter < raw.jitter
    assert ours.jitter_reduction > 50.0 and ours.lag_frames <= 1.0
    assert result.row("kalman (ours)").error < raw.error
    table = markdown(result)
    assert all(f"| {name} |" in table for name in names)
    data = json.loads(json.dumps(to_json(result)))
    assert data["rows"][1]["name"] == "raw" and set(data["targets"]["checks"]) == {
        "jitter_reduction",
        "lag_frames",
        "error",
    }
    assert check_targets(result)["checks"]["lag_frames"]["passed"]


def test_cli_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md = tmp_path / "table.md"
    code = main(
        ["-q", "bench", "smoothing", "--sequences", "1", "--frames", "45", "--json", "-", "--markdown", str(md)]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["frames"] == 45 and len(data["rows"]) == len(contenders())
    assert md.read_text().count("\n| ") == len(contenders()) + 1  # header + one line per row
    assert main(["-q", "bench", "smoothing", "--frames", "2"]) == 2
    assert "frames >= 3" in capsys.readouterr().err
