"""``flowpose eval coco``: keypoint AP, PCK and detector recall of the graph's models on COCO-style files.

The pipeline is the graph's: boxes from the Detector node's backend (or the annotations'
boxes), keypoints from the TopdownPoseEstimator node's model (:mod:`flowpose.evaluation.coco_predict`).
Annotation categories go to the people model (``person``, or COCO-17 keypoints) or to the
animal model (every other category, e.g. AP-10K's 54 species or Animal-Pose's five), and each
group is scored on the keypoints its model and the annotations both define
(:mod:`flowpose.evaluation.keypoint_match`).

Example:
    >>> from flowpose.evaluation.coco_eval import CocoEvalConfig, evaluate_coco
    >>> report = evaluate_coco(CocoEvalConfig("val2017/", "person_keypoints_val2017.json"))  # doctest: +SKIP
    >>> report.groups[0].ap["AP"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flowpose.evaluation.coco_data import (
    CocoAnnotation,
    CocoCategory,
    CocoInputError,
    CocoKeypointFile,
    load_coco_keypoints,
)
from flowpose.evaluation.coco_metrics import (
    KEYPOINT_SCORE_THRESHOLD,
    OKS_NMS_THRESHOLD,
    ScoredPose,
    instance_score,
    keypoint_ap,
    match_boxes,
    oks_nms,
    pck_of_matches,
)
from flowpose.evaluation.coco_predict import ImagePredictor, PosePrediction, PoseRunner, open_eval_detector
from flowpose.evaluation.keypoint_match import KeypointMatch, match_keypoints, recognise_layout
from flowpose.meta import KeypointLayout
from flowpose.pose import TopdownModel, open_pose_model

__all__ = [
    "CategoryRecall",
    "CocoEvalConfig",
    "CocoEvalReport",
    "EvalGroup",
    "GroupReport",
    "evaluate_coco",
    "plan_groups",
    "score_predictions",
]

logger = logging.getLogger(__name__)

GROUPS = ("people", "animals")
PCK_THRESHOLD = 0.1
RECALL_IOU = 0.5
# Progress is logged about this often (images), so long runs show they are alive.
_LOG_EVERY_S = 5.0


@dataclass(frozen=True)
class CocoEvalConfig:
    """What to evaluate and how (the CLI's options).

    Args:
        images: Folder the annotation's ``file_name`` entries are relative to.
        annotations: The COCO keypoint JSON.
        people: People pose model (``zoo:NAME`` or a path).
        animals: Animal pose model.
        people_preset: Card preset for a card-less people model (e.g. ``rtmpose_simcc``).
        animals_preset: Card preset for a card-less animal model.
        detector: Detector (``zoo:NAME``, a path or ``hog``); None uses the annotations' boxes.
        detector_preset: Card preset for a card-less detector (``yolox`` for Megvii's export).
        score_threshold: Detections scoring below it are dropped (the Detector node's default).
        nms_iou: The detector's NMS IoU (the node's default).
        flip: Flip test.
        padding: Box padding before the crop (the node's ``bbox_padding``).
        limit: Only the first N images of the file.
        threads: ONNX Runtime threads per model (None: the node's default).
    """

    images: Path | str
    annotations: Path | str
    people: str = "zoo:rtmpose-m-body7"
    animals: str = "zoo:rtmpose-m-ap10k"
    people_preset: str | None = None
    animals_preset: str | None = None
    detector: str | None = "zoo:yolox-nano"
    detector_preset: str | None = None
    score_threshold: float = 0.3
    nms_iou: float = 0.45
    flip: bool = False
    padding: float = 1.25
    limit: int | None = None
    threads: int | None = None

    def model_of(self, group: str) -> tuple[str, str | None]:
        """The model reference and preset of ``"people"`` or ``"animals"``."""
        return (self.people, self.people_preset) if group == "people" else (self.animals, self.animals_preset)


@dataclass(frozen=True)
class EvalGroup:
    """A pose model and the annotation categories it is scored on.

    Attributes:
        name: ``"people"`` or ``"animals"``.
        model: The model reference as given.
        layout: The model's keypoint layout.
        labels: The instance labels the model serves (its card's).
        categories: The annotation categories of this group.
        match: The keypoints both define, with their OKS sigmas.
    """

    name: str
    model: str
    layout: KeypointLayout
    labels: tuple[str, ...]
    categories: tuple[CocoCategory, ...]
    match: KeypointMatch

    @property
    def category_ids(self) -> frozenset[int]:
        """Ids of its categories."""
        return frozenset(c.id for c in self.categories)


@dataclass(frozen=True)
class CategoryRecall:
    """How many ground-truth boxes of one category the detector found (IoU >= 0.5, one-to-one).

    Attributes:
        category: The annotation's category name.
        instances: Non-crowd ground truths with at least one labelled keypoint.
        found: Matched by a detection of any class the group's model serves.
        found_same_label: Matched by a detection of the category's own class; None when the
            category's name is not one of the detector's kept classes.
    """

    category: str
    instances: int
    found: int
    found_same_label: int | None

    @property
    def recall(self) -> float:
        """``found / instances`` (NaN without instances)."""
        return self.found / self.instances if self.instances else float("nan")


@dataclass(frozen=True)
class GroupReport:
    """The figures of one group.

    Attributes:
        name: ``"people"`` or ``"animals"``.
        model: The model reference.
        layout: The model's layout name.
        categories: The annotation categories scored.
        match: The compared keypoints.
        instances: Ground truths AP scores (non-crowd, a labelled compared keypoint).
        predictions: Predictions kept after OKS NMS.
        ap: pycocotools' ten figures (:data:`flowpose.evaluation.coco_metrics.AP_NAMES`).
        pck: PCK@0.1 over all ``instances`` (a detector miss counts its keypoints wrong).
        pck_found: PCK@0.1 over the instances a prediction was matched to.
        recall: Detector recall per category (empty with ground-truth boxes).
        notes: Sentences about this group for the report.
    """

    name: str
    model: str
    layout: str
    categories: tuple[str, ...]
    match: KeypointMatch
    instances: int
    predictions: int
    ap: dict[str, float]
    pck: float
    pck_found: float
    recall: tuple[CategoryRecall, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CocoEvalReport:
    """Everything ``flowpose eval coco`` prints and writes.

    Attributes:
        annotations: The annotation file.
        images: Images evaluated.
        skipped_images: Images left out by ``limit``.
        boxes: Where the boxes came from, in words.
        detector_classes: Classes the detector kept (empty with ground-truth boxes).
        groups: One report per model.
        score_rule: How the instance score AP ranks by was made.
        flip: Whether the flip test was on.
        seconds: Wall time of the whole evaluation.
        detector_ms: Median detector time per image (NaN with ground-truth boxes).
        pose_ms: Median pose time per image (all models).
        notes: General notes.
    """

    annotations: str
    images: int
    skipped_images: int
    boxes: str
    detector_classes: tuple[str, ...]
    groups: tuple[GroupReport, ...]
    score_rule: str
    flip: bool
    seconds: float = float("nan")
    detector_ms: float = float("nan")
    pose_ms: float = float("nan")
    notes: tuple[str, ...] = field(default_factory=tuple)


def score_rule(gt_boxes: bool) -> str:
    """The instance score in words."""
    box = "1 (ground-truth box)" if gt_boxes else "the detector's box score"
    return (
        f"instance score = {box} x the mean of the keypoint scores above {KEYPOINT_SCORE_THRESHOLD:g} "
        f"(MMPose's top-down 'bbox_keypoint' rescoring; 0 when none is above), then OKS NMS at "
        f"{OKS_NMS_THRESHOLD:g} per image as MMPose's CocoMetric"
    )


def is_people_category(category: CocoCategory) -> bool:
    """People: a category named ``person`` or with COCO-17 keypoints; every other one is an animal."""
    layout = recognise_layout(category.keypoint_names)
    return category.name.strip().lower() == "person" or (layout is not None and layout.name == "coco17")


def plan_groups(
    data: CocoKeypointFile, models: Mapping[str, tuple[str, KeypointLayout, tuple[str, ...]]]
) -> list[EvalGroup]:
    """Assign the file's keypoint categories to the people and animal models.

    Args:
        data: The annotation file.
        models: ``{"people"|"animals": (reference, layout, labels)}``; only the groups the file
            needs are looked up.

    Raises:
        CocoInputError: Categories of one group with different keypoint lists, or keypoints
            with nothing in common with the model's.
    """
    by_group: dict[str, list[CocoCategory]] = defaultdict(list)
    for cat in needed_categories(data):
        by_group["people" if is_people_category(cat) else "animals"].append(cat)
    groups = []
    for name in GROUPS:
        cats = by_group.get(name)
        if not cats:
            continue
        kinds = {c.keypoint_names for c in cats}
        if len(kinds) > 1:
            shown = "; ".join(f"{c.name}: {len(c.keypoint_names)} keypoints" for c in cats[:4])
            raise CocoInputError(
                f"{data.path}: the {name} categories have different keypoint lists ({shown}); "
                "evaluate them from separate files"
            )
        ref, layout, labels = models[name]
        try:
            match = match_keypoints(cats[0].keypoint_names, layout)
        except ValueError as exc:
            raise CocoInputError(f"{data.path}: {name} ({ref}): {exc}") from None
        groups.append(EvalGroup(name, ref, layout, tuple(labels), tuple(cats), match))
    return groups


def needed_categories(data: CocoKeypointFile) -> list[CocoCategory]:
    """Keypoint categories that have annotations among the evaluated images."""
    used = {a.category_id for a in data.annotations}
    return [c for c in data.categories.values() if c.keypoint_names and c.id in used]


def needed_groups(data: CocoKeypointFile) -> list[str]:
    """Which of ``people``/``animals`` the file needs, in that order."""
    kinds = {"people" if is_people_category(c) else "animals" for c in needed_categories(data)}
    return [g for g in GROUPS if g in kinds]


def evaluate_coco(config: CocoEvalConfig) -> CocoEvalReport:
    """Run the detector (or take the annotations' boxes) and the pose models, and score them.

    Raises:
        CocoInputError: Bad images or annotations.
        ValueError: A model without a usable card, or a detector without the needed classes.
        flowpose.zoo.ZooError, FileNotFoundError: A model that cannot be found or fetched.
    """
    start = time.perf_counter()
    data = load_coco_keypoints(Path(config.annotations), Path(config.images), config.limit)
    need = needed_groups(data)
    if not need:
        raise CocoInputError(f"{data.path}: no annotations with keypoints among the {len(data.images)} images")
    runners: dict[str, PoseRunner] = {}
    models: dict[str, tuple[str, KeypointLayout, tuple[str, ...]]] = {}
    for name in need:
        ref, preset = config.model_of(name)
        spec = open_pose_model(ref, preset)
        labels = tuple(spec.card.labels)
        runners[name] = PoseRunner(name, TopdownModel(spec, "cpu", config.threads), labels)
        models[name] = (ref, spec.layout, labels)
        logger.info("%s: %s (%s, %d keypoints) for %s", name, ref, spec.layout.name, spec.layout.num_keypoints, labels)
    groups = plan_groups(data, models)
    detector, kept = None, ()
    if config.detector is not None:
        wanted = sorted({label for r in runners.values() for label in r.labels})
        detector, kept = open_eval_detector(
            config.detector, config.detector_preset, wanted, config.score_threshold, config.nms_iou, config.threads
        )
        logger.info("detector %s keeps %s (score >= %g)", config.detector, ", ".join(kept), config.score_threshold)
    predictor = ImagePredictor(
        runners,
        detector,
        category_names={c.id: c.name for c in data.categories.values()},
        flip=config.flip,
        padding=config.padding,
    )
    try:
        predictions = list(_predict_all(predictor, data, groups))
    finally:
        if detector is not None:
            detector.close()
    boxes = (
        "ground-truth boxes (box score 1)"
        if detector is None
        else f"detector {config.detector} (score >= {config.score_threshold:g}, NMS IoU {config.nms_iou:g})"
    )
    report = score_predictions(data, groups, predictions, boxes, kept, flip=config.flip)
    return dataclasses.replace(
        report,
        seconds=time.perf_counter() - start,
        detector_ms=statistics.median(predictor.detector_ms) if predictor.detector_ms else float("nan"),
        pose_ms=statistics.median(predictor.pose_ms) if predictor.pose_ms else float("nan"),
    )


def _predict_all(predictor: ImagePredictor, data: CocoKeypointFile, groups: Sequence[EvalGroup]):
    last_log = time.perf_counter()
    for n, img in enumerate(data.images, 1):
        anns = data.annotations_of(img.id)
        by_group = {g.name: [a for a in anns if a.category_id in g.category_ids] for g in groups}
        yield from predictor.predict(str(img.path), img.id, by_group)
        if time.perf_counter() - last_log > _LOG_EVERY_S or n == len(data.images):
            logger.info("%d/%d images", n, len(data.images))
            last_log = time.perf_counter()


def score_predictions(
    data: CocoKeypointFile,
    groups: Sequence[EvalGroup],
    predictions: Iterable[PosePrediction],
    boxes: str,
    detector_classes: Sequence[str] = (),
    flip: bool = False,
) -> CocoEvalReport:
    """Score predictions against the annotations: AP/AR, PCK@0.1 and (with a detector) recall.

    Predictions with ``gt_id`` set were made from that annotation's box (ground-truth boxes) and
    are matched to it for PCK; otherwise each ground truth is matched one-to-one to the
    prediction of its group with the best box IoU >= 0.5.
    """
    preds = list(predictions)
    image_ids = [img.id for img in data.images]
    reports = [
        _score_group(data, g, [p for p in preds if p.group == g.name], image_ids, detector_classes) for g in groups
    ]
    return CocoEvalReport(
        annotations=str(data.path),
        images=len(data.images),
        skipped_images=data.skipped_images,
        boxes=boxes,
        detector_classes=tuple(detector_classes),
        groups=tuple(reports),
        score_rule=score_rule(gt_boxes=not detector_classes),
        flip=flip,
    )


def _score_group(
    data: CocoKeypointFile,
    group: EvalGroup,
    preds: list[PosePrediction],
    image_ids: Sequence[int],
    detector_classes: Sequence[str],
) -> GroupReport:
    match = group.match
    cols = list(match.annotation_index)
    gts = [a for a in data.annotations if a.category_id in group.category_ids]
    scored_gts = [g for g in gts if not g.iscrowd and (g.visibility[cols] > 0).any()]
    kept = _nms_per_image(preds, match)
    ap = keypoint_ap(gts, image_ids, [_scored(p, match) for p in kept], match)
    matched = _match_for_pck(scored_gts, preds)
    pck_all, pck_found = pck_of_matches(scored_gts, matched, match, PCK_THRESHOLD)
    names = {c.id: c.name for c in group.categories}
    recall = _recall(gts, preds, names, detector_classes) if detector_classes else ()
    notes = [n for n in (match.note(group.layout.num_keypoints),) if n]
    notes.append(f"OKS sigmas: {match.sigma_source}")
    outside = sorted({c.name for c in group.categories} - set(group.labels))
    if outside and detector_classes:
        notes.append(
            f"categories that are none of the model's labels ({', '.join(outside[:8])}"
            f"{', ...' if len(outside) > 8 else ''}) are found only by detections of its labels "
            f"({', '.join(group.labels)})"
        )
    return GroupReport(
        name=group.name,
        model=group.model,
        layout=group.layout.name,
        categories=tuple(c.name for c in group.categories),
        match=match,
        instances=len(scored_gts),
        predictions=len(kept),
        ap=ap,
        pck=pck_all,
        pck_found=pck_found,
        recall=recall,
        notes=tuple(notes),
    )


def _scored(p: PosePrediction, match: KeypointMatch) -> ScoredPose:
    return ScoredPose(
        p.image_id, np.asarray(p.keypoints)[list(match.model_index)], instance_score(p.box_score, p.keypoint_scores)
    )


def _nms_per_image(preds: list[PosePrediction], match: KeypointMatch) -> list[PosePrediction]:
    by_image: dict[int, list[PosePrediction]] = defaultdict(list)
    for p in preds:
        by_image[p.image_id].append(p)
    kept = []
    cols = list(match.model_index)
    for items in by_image.values():
        kps = np.stack([np.asarray(p.keypoints)[cols] for p in items])
        scores = np.array([instance_score(p.box_score, p.keypoint_scores) for p in items])
        areas = np.array([(p.bbox[2] - p.bbox[0]) * (p.bbox[3] - p.bbox[1]) for p in items])
        kept.extend(items[i] for i in oks_nms(kps, scores, areas, match.sigmas_array))
    return kept


def _match_for_pck(gts: list[CocoAnnotation], preds: list[PosePrediction]) -> list[np.ndarray | None]:
    """Per ground truth, the keypoints of its prediction: by ``gt_id``, else by best box IoU."""
    by_gt = {p.gt_id: p for p in preds if p.gt_id is not None}
    out: list[np.ndarray | None] = [None] * len(gts)
    by_image: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(gts):
        if g.id in by_gt:
            out[i] = by_gt[g.id].keypoints
        else:
            by_image[g.image_id].append(i)
    free = [p for p in preds if p.gt_id is None]
    for image_id, idx in by_image.items():
        cands = [p for p in free if p.image_id == image_id]
        if not cands:
            continue
        pairs = match_boxes(np.stack([gts[i].bbox for i in idx]), np.stack([p.bbox for p in cands]), RECALL_IOU)
        for g, p in pairs.items():
            out[idx[g]] = cands[p].keypoints
    return out


def _recall(
    gts: list[CocoAnnotation], preds: list[PosePrediction], names: Mapping[int, str], detector_classes: Sequence[str]
) -> tuple[CategoryRecall, ...]:
    """Detector recall per category over ground truths with keypoints (crowds left out)."""
    wanted = [g for g in gts if not g.iscrowd and g.num_labelled > 0]
    found: dict[int, bool] = {}
    same: dict[int, bool] = {}
    for image_id in sorted({g.image_id for g in wanted}):
        here = [g for g in wanted if g.image_id == image_id]
        cands = [p for p in preds if p.image_id == image_id]
        boxes = np.stack([p.bbox for p in cands]) if cands else np.zeros((0, 4))
        pairs = match_boxes(np.stack([g.bbox for g in here]), boxes, RECALL_IOU)
        for i, g in enumerate(here):
            found[g.id] = i in pairs
        for cat_id in {g.category_id for g in here}:
            mine = [g for g in here if g.category_id == cat_id]
            own = [p for p in cands if p.label == names[cat_id]]
            own_boxes = np.stack([p.bbox for p in own]) if own else np.zeros((0, 4))
            own_pairs = match_boxes(np.stack([g.bbox for g in mine]), own_boxes, RECALL_IOU)
            for i, g in enumerate(mine):
                same[g.id] = i in own_pairs
    out = []
    for cat_id, name in names.items():
        mine = [g for g in wanted if g.category_id == cat_id]
        if not mine:
            continue
        same_count = sum(same[g.id] for g in mine) if name in detector_classes else None
        out.append(CategoryRecall(name, len(mine), sum(found[g.id] for g in mine), same_count))
    return tuple(out)
