"""The table and the JSON of ``flowpose eval coco``."""

from __future__ import annotations

import math
from typing import Any

from flowpose.evaluation.coco_eval import PCK_THRESHOLD, RECALL_IOU, CocoEvalReport, GroupReport

__all__ = ["report_lines", "report_to_dict"]


def _num(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == -1:  # pycocotools' "no objects of this size"
        return "-"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def _keypoints(g: GroupReport) -> str:
    m = g.match
    where = m.annotation_layout or "custom"
    return f"{len(m.names)} of {m.annotation_count} ({where})"


def report_lines(report: CocoEvalReport) -> list[str]:
    """The report as Markdown-style tables and notes, ready to print."""
    skipped = f", {report.skipped_images} more left out by --limit" if report.skipped_images else ""
    lines = [
        f"COCO keypoint evaluation of {report.annotations}: {report.images} images{skipped}",
        f"boxes: {report.boxes}; flip test {'on' if report.flip else 'off'}",
        "",
    ]
    header = ["group", "model", "keypoints", "instances", "predictions", "AP", "AP50", "AP75", "AR", "PCK@0.1"]
    rows = [
        [
            g.name,
            g.model,
            _keypoints(g),
            str(g.instances),
            str(g.predictions),
            *(_num(g.ap[k]) for k in ("AP", "AP50", "AP75", "AR")),
            _num(g.pck),
        ]
        for g in report.groups
    ]
    lines += _table(header, rows)
    recall_rows = [
        [
            r.category,
            g.name,
            str(r.instances),
            str(r.found),
            _num(r.recall),
            "n/a" if r.found_same_label is None else f"{r.found_same_label} ({_num(r.found_same_label / r.instances)})",
        ]
        for g in report.groups
        for r in g.recall
    ]
    if recall_rows:
        lines += ["", f"detector recall at IoU {RECALL_IOU:g} (ground truths with keypoints, crowds left out):"]
        lines += _table(["category", "group", "instances", "found", "recall", "found as its own class"], recall_rows)
    lines += ["", "notes:", f"- {report.score_rule}"]
    lines.append(
        "- AP, AP50, AP75, AR: pycocotools COCOeval 'keypoints' (OKS, at most 20 per image), one category per "
        "group (every prediction of a model may match every ground truth of its categories)"
    )
    for g in report.groups:
        lines.append(
            f"- {g.name}: PCK@{PCK_THRESHOLD:g} = share of labelled keypoints within {PCK_THRESHOLD:g} x max(w, h) of "
            f"the ground-truth box, over all {g.instances} ground truths (a detector miss counts as wrong); "
            f"over the {_found_count(g)} found: {_num(g.pck_found)}"
        )
        lines += [f"- {g.name}: {n}" for n in g.notes]
    lines += [f"- {n}" for n in report.notes]
    if not math.isnan(report.seconds):
        timing = f"- {report.seconds:.1f} s in all; median per image: pose {_num(report.pose_ms, 1)} ms"
        if not math.isnan(report.detector_ms):
            timing += f", detector {_num(report.detector_ms, 1)} ms"
        lines.append(timing)
    return lines


def _found_count(g: GroupReport) -> str:
    if g.recall:
        return str(sum(r.found for r in g.recall))
    return str(g.instances)


def _clean(value: float | None) -> float | None:
    """JSON has no NaN: not-available figures are null."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def report_to_dict(report: CocoEvalReport) -> dict[str, Any]:
    """All figures as plain JSON-able data (NaN -> null; pycocotools' -1 kept: 'no objects of that size')."""
    return {
        "annotations": report.annotations,
        "images": report.images,
        "skipped_images": report.skipped_images,
        "boxes": report.boxes,
        "detector_classes": list(report.detector_classes),
        "flip": report.flip,
        "score_rule": report.score_rule,
        "pck": f"PCK@{PCK_THRESHOLD:g}, normalised by max(w, h) of the ground-truth box",
        "recall_iou": RECALL_IOU,
        "groups": [
            {
                "group": g.name,
                "model": g.model,
                "model_layout": g.layout,
                "categories": list(g.categories),
                "annotation_layout": g.match.annotation_layout,
                "keypoints": list(g.match.names),
                "annotation_keypoints": g.match.annotation_count,
                "sigmas": list(g.match.sigmas),
                "sigma_source": g.match.sigma_source,
                "instances": g.instances,
                "predictions": g.predictions,
                **{k: _clean(v) for k, v in g.ap.items()},
                f"PCK@{PCK_THRESHOLD:g}": _clean(g.pck),
                f"PCK@{PCK_THRESHOLD:g}_found": _clean(g.pck_found),
                "recall": [
                    {
                        "category": r.category,
                        "instances": r.instances,
                        "found": r.found,
                        "recall": _clean(r.recall),
                        "found_same_label": r.found_same_label,
                    }
                    for r in g.recall
                ],
                "notes": list(g.notes),
            }
            for g in report.groups
        ],
        "notes": list(report.notes),
        "seconds": _clean(report.seconds),
        "median_ms_per_image": {"detector": _clean(report.detector_ms), "pose": _clean(report.pose_ms)},
    }
