"""The smoothing evaluation as a Markdown table, as JSON, and checked against its targets."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from flowpose.evaluation.smoothing_eval import EvalResult

#: Targets of our default One Euro filter (issue "Tracker and Smoother").
TARGET_JITTER_REDUCTION = 60.0  # percent
TARGET_LAG_FRAMES = 1.0
OURS = "one_euro (ours)"


def _num(value: float, fmt: str) -> str:
    return "n/a" if math.isnan(value) else format(value, fmt)


def markdown(result: EvalResult) -> str:
    """The table, with a line saying what it was measured on."""
    c = result.config
    n = c.noise
    lines = [
        f"{c.sequences} synthetic scenes x {c.frames} frames at {c.fps:g} fps ({c.width}x{c.height}, seed {c.seed}), "
        f"{result.tracks} people and animals, {result.delivered}/{result.frames} frames delivered, "
        f"{result.samples} keypoint samples. Noise: jitter {100 * n.jitter:g}% of size (x{n.hidden_jitter:g} when "
        f"hidden), {100 * n.outlier_rate:g}% outliers, {100 * n.miss_rate:g}% missed keypoints, "
        f"{100 * n.drop_rate:g}% dropped frames.",
        "",
        "| filter | settings | jitter (% of size) | jitter vs raw | lag (ms) | lag (frames) | error (% of size) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result.rows:
        reduction = "" if r.name == "raw" else _num(-r.jitter_reduction, "+.0f") + "%"
        lines.append(
            f"| {r.name} | {r.settings} | {r.jitter:.2f} | {reduction} | {_num(r.lag_ms, '.1f')} | "
            f"{_num(r.lag_frames, '.1f')} | {r.error:.2f} |"
        )
    return "\n".join(lines) + "\n"


def to_json(result: EvalResult) -> dict[str, Any]:
    """Plain data: the config, the rows, the counts and the target check."""
    data = dataclasses.asdict(result)
    data["targets"] = check_targets(result)
    return data


def check_targets(result: EvalResult) -> dict[str, Any]:
    """Whether our default One Euro meets its targets against the raw detections."""
    ours, raw = result.row(OURS), result.row("raw")
    checks = {
        "jitter_reduction": (ours.jitter_reduction, f">= {TARGET_JITTER_REDUCTION:g}%"),
        "lag_frames": (ours.lag_frames, f"<= {TARGET_LAG_FRAMES:g}"),
        "error": (ours.error, f"< raw {raw.error:.3f}"),
    }
    passed = {
        "jitter_reduction": ours.jitter_reduction >= TARGET_JITTER_REDUCTION,
        "lag_frames": ours.lag_frames <= TARGET_LAG_FRAMES,
        "error": ours.error < raw.error,
    }
    return {
        "filter": OURS,
        "checks": {k: {"value": v, "target": t, "passed": passed[k]} for k, (v, t) in checks.items()},
        "passed": all(passed.values()),
    }


def target_lines(result: EvalResult) -> list[str]:
    """One line per target, for the terminal."""
    report = check_targets(result)
    lines = [f"{OURS}:"]
    for name, check in report["checks"].items():
        lines.append(
            f"  {name:17s} {check['value']:8.2f}  target {check['target']:12s} {'ok' if check['passed'] else 'MISSED'}"
        )
    return lines
