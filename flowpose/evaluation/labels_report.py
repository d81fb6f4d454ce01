"""Printing and JSON of a :class:`~flowpose.evaluation.labels_eval.LabelsReport`."""

from __future__ import annotations

from typing import Any

from flowpose.evaluation.labels_eval import LabelsReport

__all__ = ["report_lines", "report_to_dict"]


def report_lines(report: LabelsReport, worst: int = 3) -> list[str]:
    """The terminal report: what was run, the errors, PCK and the worst frames."""
    f = report.figures
    lines = [f"model {report.model} on {report.frames} frames ({report.instances} animals, "
             f"{int(f['keypoints'])} labelled keypoints), {report.ms_per_frame:.1f} ms per frame"]  # fmt: skip
    lines += [f"  {note}" for note in report.notes]
    lines.append(f"pixel error: mean {f['error_px_mean']:.2f} px, median {f['error_px_median']:.2f} px")
    width = max(len(n) for n in report.names)
    for name in report.names:
        lines.append(f"  {name:<{width}}  {f[f'error_px/{name}']:.2f} px")
    lines.append("within: " + ", ".join(f"{r:g} px {f[f'within_{r:g}px']:.3f}" for r in report.within_px))
    pcks = ", ".join(f"@{t:g} {f[f'pck@{t:g}']:.3f}" for t in report.thresholds)
    lines.append(f"PCK {pcks}  (body length: {report.body_length.describe()}; median {f['body_length_px']:.1f} px)")
    if report.per_frame and worst:
        bad = sorted(report.per_frame.items(), key=lambda kv: -kv[1])[:worst]
        lines.append("worst frames: " + ", ".join(f"{name} {err:.1f} px" for name, err in bad))
    return lines


def report_to_dict(report: LabelsReport) -> dict[str, Any]:
    """Every figure and setting, JSON-ready (NaN stays NaN: ``json.dumps`` writes it)."""
    norm = report.body_length
    return {
        "model": report.model,
        "data": report.data,
        "split": report.split,
        "box": report.box,
        "padding": report.padding,
        "frames": report.frames,
        "instances": report.instances,
        "keypoints": list(report.names),
        "body_length": {
            "rule": norm.describe(),
            "keypoints": list(norm.names) if norm.names else None,
            "pixels": norm.pixels,
            "median_px": report.figures["body_length_px"],
        },
        "figures": report.figures,
        "per_frame_error_px": report.per_frame,
        "ms_per_frame": report.ms_per_frame,
        "notes": report.notes,
    }
