"""The smoothing evaluation: our filters and other projects' settings, side by side.

Every contender smooths the same noisy sequences through :class:`FrameSmoother`, the code
the Smoother node runs; the truth scores them (see :mod:`.smoothing_metrics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from flowpose.evaluation.smoothing_data import EvalConfig, SimulatedSequence, simulate
from flowpose.evaluation.smoothing_metrics import Scores, Series, score
from flowpose.smoothing import EmaParams, FrameSmoother, OneEuroParams, SmoothingConfig

#: Frame-count baselines remember a track this many frames (1 s at 30 fps).
_BASELINE_MEMORY_FRAMES = 30.0


@dataclass(frozen=True)
class Contender:
    """One row of the table.

    Attributes:
        name: Row name.
        settings: The settings in words.
        config: Smoothing settings; None for the raw detections and the truth.
        timestamp: Where the filter reads time (``capture`` or ``frames``).
    """

    name: str
    settings: str
    config: SmoothingConfig | None = None
    timestamp: str = "capture"


def contenders(ours: SmoothingConfig | None = None) -> list[Contender]:
    """Raw, our three filters with ``ours`` (default: our defaults), and the other projects' settings.

    The other projects run per frame (time in frames, a dropped frame is invisible to
    them), adapt x and y separately, and smooth every keypoint whatever its score.
    """
    ours = ours or SmoothingConfig()
    e, k = ours.one_euro, ours.kalman
    theirs = replace(ours, min_keypoint_score=0.0, smooth_boxes=False, reset_after=_BASELINE_MEMORY_FRAMES)
    return [
        Contender("ground truth", "(the jitter of the true motion itself)"),
        Contender("raw", "no smoothing"),
        Contender(
            "one_euro (ours)",
            f"min_cutoff {e.min_cutoff:g} Hz, beta {e.beta:g} /px, d_cutoff {e.d_cutoff:g} Hz, capture times",
            replace(ours, filter="one_euro"),
        ),
        Contender(
            "one_euro (ours), every keypoint",
            "as above, min_keypoint_score 0: low-score keypoints are filtered too",
            replace(ours, filter="one_euro", min_keypoint_score=0.0),
        ),
        Contender("ema (ours)", f"time constant {ours.ema.time_constant:g} s", replace(ours, filter="ema")),
        Contender(
            "kalman (ours)",
            f"accel {k.acceleration_std:g} px/s², meas {k.measurement_std:g} px",
            replace(ours, filter="kalman"),
        ),
        Contender(
            "PaddleDetection EMA",
            "alpha 0.5 per frame",
            replace(theirs, filter="ema", ema=EmaParams.from_alpha(0.5)),
            "frames",
        ),
        Contender(
            "PaddleDetection OneEuro",
            "fc_min 0.1, beta 0.05, fc_d 0.1, frame units",
            replace(theirs, filter="one_euro", one_euro=OneEuroParams(0.1, 0.05, 0.1, per_axis=True)),
            "frames",
        ),
        Contender(
            "MMPose 0.x OneEuro",
            "min_cutoff 0.004, beta 0.7, d_cutoff 1.0, frame units",
            replace(theirs, filter="one_euro", one_euro=OneEuroParams(0.004, 0.7, 1.0, per_axis=True)),
            "frames",
        ),
    ]


@dataclass(frozen=True)
class Row:
    """Figures of one contender (percentages are of the object size)."""

    name: str
    settings: str
    jitter: float
    jitter_reduction: float
    lag_ms: float
    lag_frames: float
    error: float


@dataclass(frozen=True)
class EvalResult:
    """The whole evaluation.

    Attributes:
        config: What it ran on.
        rows: One per contender, in order.
        frames: Frames rendered; delivered: frames that reached the filters.
        tracks: Objects scored; samples: keypoint samples behind the errors.
    """

    config: EvalConfig
    rows: list[Row]
    frames: int
    delivered: int
    tracks: int
    samples: int

    def row(self, name: str) -> Row:
        """The row called ``name``."""
        return next(r for r in self.rows if r.name == name)


def _outputs(contender: Contender, sequences: list[SimulatedSequence]) -> list[np.ndarray]:
    """Keypoints per series (same order as :func:`_series`), NaN where nothing came out."""
    outputs = []
    for seq in sequences:
        out = {tid: np.full_like(s.truth, np.nan) for tid, s in seq.series.items()}
        if contender.config is None and contender.name == "ground truth":
            outputs += [s.truth for s in seq.series.values()]
            continue
        smoother = FrameSmoother(contender.config, contender.timestamp) if contender.config else None
        for frame in seq.frames:
            result = smoother(frame).frame if smoother else frame
            for inst in result.instances:
                out[inst.track_id][frame.frame_id] = inst.keypoints
        outputs += list(out.values())
    return outputs


def _series(sequences: list[SimulatedSequence]) -> list[Series]:
    return [s for seq in sequences for s in seq.series.values()]


def run(config: EvalConfig | None = None, rows: list[Contender] | None = None) -> EvalResult:
    """Simulate the sequences and score every contender on them."""
    config = config or EvalConfig()
    rows = rows if rows is not None else contenders()
    sequences = [simulate(config, i) for i in range(config.sequences)]
    series = _series(sequences)
    scored: list[tuple[Contender, Scores]] = [(c, score(series, _outputs(c, sequences), config.fps)) for c in rows]
    raw = next((s for c, s in scored if c.name == "raw"), None)
    table = [
        Row(
            c.name,
            c.settings,
            s.jitter,
            100.0 * (1.0 - s.jitter / raw.jitter) if raw and raw.jitter > 0 else math.nan,
            1000.0 * s.lag_frames / config.fps,
            s.lag_frames,
            s.error,
        )
        for c, s in scored
    ]
    return EvalResult(
        config,
        table,
        frames=config.sequences * config.frames,
        delivered=sum(len(seq.frames) for seq in sequences),
        tracks=len(series),
        samples=int(sum(s.mask.sum() for s in series)),
    )
