"""``flowpose eval labels``: an exported ONNX pose model on labelled frames, pixel errors and
body-length PCK, through the TopdownPoseEstimator node's own code (no torch).

Boxes (``box``):

* ``labels`` (default): the labelled keypoints' box plus the importer's margin (20 px + 10 % of
  its longer side), padded by ``padding`` (1.25, the node's ``bbox_padding``): the crop a model
  made by ``flowpose train`` on DeepLabCut data was trained on, and about what the node's
  dynamic crop (a box around the last pose plus a margin) gives it live;
* ``frame``: the whole frame, no padding: exactly what a single-animal model sees live without
  a detector (``box: frame``). Only for frames with one labelled animal.

Example:
    >>> report = evaluate_labels(LabelsEvalConfig("mouse.onnx", "dlc_project"))  # doctest: +SKIP
    >>> report.figures["error_px_mean"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from flowpose.evaluation.keypoint_match import match_keypoints
from flowpose.evaluation.labels_data import LabelledSet, LabelsInputError, load_labelled
from flowpose.evaluation.labels_metrics import BodyLength, body_lengths, parse_body_length, pixel_figures
from flowpose.evaluation.pck import keypoint_distances
from flowpose.trainer.data.dlc_coco import DlcImportOptions, margin_box
from flowpose.trainer.data.split import SplitPlan

__all__ = ["BOXES", "LabelsEvalConfig", "LabelsReport", "evaluate_labels"]

log = logging.getLogger(__name__)

BOXES = ("labels", "frame")
#: The DeepLabCut importer's default box margin: what trainer crops were cut from.
MARGIN_PX, MARGIN_FRAC = DlcImportOptions.margin_px, DlcImportOptions.margin_frac


@dataclass(frozen=True)
class LabelsEvalConfig:
    """What to evaluate and how (see the module doc for ``box``).

    Attributes:
        model: ONNX pose model: a path or ``zoo:NAME``.
        data: DeepLabCut project folder or COCO keypoint JSON.
        images: Image folder of a COCO file (default: its ``info.image_root``, else its folder).
        split: ``test`` (default), ``val``, ``train`` or ``all``.
        plan: The split; the trainer's defaults unless the run used others.
        box: ``labels`` or ``frame``.
        padding: Box padding; None: 1.25 for ``labels``, 1.0 for ``frame``.
        within_px: Radii for "share within N px".
        thresholds: PCK thresholds, fractions of the body length.
        body_length: ``None``/``"auto"``, ``"A,B"`` or pixels (see :mod:`labels_metrics`).
        flip: Flip test.
        preset: Card preset of a card-less model.
        threads: ONNX Runtime threads.
    """

    model: str
    data: str
    images: str | None = None
    split: str = "test"
    plan: SplitPlan = field(default_factory=SplitPlan)
    box: str = "labels"
    padding: float | None = None
    within_px: tuple[float, ...] = (5.0, 10.0)
    thresholds: tuple[float, ...] = (0.05, 0.1, 0.2)
    body_length: str | None = None
    flip: bool = False
    preset: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.box not in BOXES:
            raise LabelsInputError(f"--box must be labels or frame, got {self.box!r}")
        if self.padding is not None and not self.padding > 0:
            raise LabelsInputError(f"--padding must be > 0, got {self.padding}")
        if not self.within_px or any(not r > 0 for r in self.within_px):
            raise LabelsInputError(f"--within needs positive pixel radii, got {list(self.within_px)}")
        if not self.thresholds or any(not t > 0 for t in self.thresholds):
            raise LabelsInputError(f"--pck needs positive fractions, got {list(self.thresholds)}")

    @property
    def box_padding(self) -> float:
        return self.padding if self.padding is not None else (1.25 if self.box == "labels" else 1.0)


@dataclass
class LabelsReport:
    """Everything ``eval labels`` measured.

    Attributes:
        figures: :func:`~flowpose.evaluation.labels_metrics.pixel_figures` over every instance.
        names: The keypoints compared (the labels' names).
        frames, instances: How many were evaluated.
        body_length: How PCK was normalised.
        notes: Sentences for the report (split, box, keypoint matching).
        per_frame: ``file_name -> mean error`` (px), for finding the bad frames.
        model, data, split, box, padding: What was run.
        ms_per_frame: Median model time per frame.
    """

    figures: dict[str, float]
    names: tuple[str, ...]
    frames: int
    instances: int
    body_length: BodyLength
    notes: list[str]
    per_frame: dict[str, float]
    model: str
    data: str
    split: str
    box: str
    padding: float
    within_px: tuple[float, ...]
    thresholds: tuple[float, ...]
    ms_per_frame: float


def _labels_box(inst_box: np.ndarray, keypoints: np.ndarray, visible: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The labelled points' box plus the importer's margin, clipped to the frame (as the import writes it)."""
    x1, y1, x2, y2 = margin_box(keypoints[visible > 0], size, MARGIN_PX, MARGIN_FRAC)
    return np.array([x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)], np.float32)


def evaluate_labels(config: LabelsEvalConfig) -> LabelsReport:
    """Run the model on every labelled instance of the chosen split part and score it.

    Raises:
        LabelsInputError: Bad data, split, options, or keypoints that do not match the model's.
        flowpose.zoo.ZooError, FileNotFoundError, ValueError: A model that cannot be found or used.
    """
    from flowpose.pose import TopdownModel, open_pose_model

    labelled = load_labelled(config.data, config.split, config.plan, config.images)
    spec = open_pose_model(config.model, config.preset)
    try:
        match = match_keypoints(list(labelled.names), spec.layout)
    except ValueError as exc:
        raise LabelsInputError(str(exc)) from None
    model = TopdownModel(spec, intra_op_threads=config.threads)
    notes = _notes(labelled, config, match.note(spec.layout.num_keypoints))
    by_image: dict[Path, list[int]] = defaultdict(list)
    for i, inst in enumerate(labelled.instances):
        by_image[inst.image].append(i)
    k = len(labelled.names)
    n = len(labelled.instances)
    pred = np.full((n, k, 2), np.nan)
    times = []
    for image_path, rows in by_image.items():
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise LabelsInputError(f"{image_path}: not an image OpenCV can read")
        h, w = image.shape[:2]
        if config.box == "frame":
            if len(rows) > 1:
                raise LabelsInputError(
                    f"{image_path}: {len(rows)} labelled animals; --box frame is for single-animal frames "
                    "(use --box labels)"
                )
            boxes = np.array([[0, 0, w, h]], np.float32)
        else:
            insts = [labelled.instances[r] for r in rows]
            boxes = np.stack([_labels_box(it.box, it.keypoints, it.visible, (w, h)) for it in insts])
        t0 = time.perf_counter()
        result = model(image, boxes, config.box_padding, config.flip)
        times.append((time.perf_counter() - t0) * 1e3)
        for row, kp in zip(rows, result.keypoints, strict=True):
            pred[row, list(match.annotation_index)] = kp[list(match.model_index)]
    gt = np.stack([it.keypoints for it in labelled.instances])
    vis = np.stack([it.visible for it in labelled.instances]).copy()
    vis[:, [a for a in range(k) if a not in match.annotation_index]] = 0  # the model does not predict them
    names = tuple(labelled.names[a] for a in match.annotation_index)
    try:
        norm = parse_body_length(config.body_length, labelled.names, gt, vis)
        lengths = body_lengths(gt, vis, norm)
    except ValueError as exc:
        raise LabelsInputError(str(exc)) from None
    dist = keypoint_distances(np.nan_to_num(pred), gt, vis)
    figures = pixel_figures(dist[:, list(match.annotation_index)], lengths, names, config.within_px, config.thresholds)
    per_frame: dict[str, float] = {}
    for i, inst in enumerate(labelled.instances):
        row = dist[i][np.isfinite(dist[i])]
        if row.size:
            per_frame[inst.file_name] = float(row.mean())
    return LabelsReport(
        figures=figures,
        names=names,
        frames=labelled.frames,
        instances=n,
        body_length=norm,
        notes=notes,
        per_frame=per_frame,
        model=str(config.model),
        data=str(config.data),
        split=config.split,
        box=config.box,
        padding=config.box_padding,
        within_px=config.within_px,
        thresholds=config.thresholds,
        ms_per_frame=float(np.median(times)) if times else float("nan"),
    )


def _notes(labelled: LabelledSet, config: LabelsEvalConfig, match_note: str | None) -> list[str]:
    notes = [f"data: {labelled.source}"]
    if labelled.split is None:
        notes.append("split: all labelled frames (--split all: includes the frames the model was trained on)")
    else:
        plan = config.plan
        notes.append(
            f"split: the {labelled.part} part, {labelled.split.describe()} (seed {plan.seed}, val "
            f"{plan.val_fraction:g}, test {plan.test_fraction:g}: the trainer's split for these settings)"
        )
    if config.box == "frame":
        notes.append("box: the whole frame, no padding (a single-animal model live, box: frame)")
    else:
        notes.append(
            f"box: the labelled keypoints' box + {MARGIN_PX:g} px + {MARGIN_FRAC:g} x its longer side, padding "
            f"{config.box_padding:g} (the trainer's crops; the node's dynamic crop live)"
        )
    if match_note:
        notes.append(match_note)
    return notes
