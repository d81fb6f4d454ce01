"""``flowpose eval coco``'s scoring: AP/AR, PCK, recall, rescoring, keypoint matching, input checks.

Predictions are made by hand from the ground truth, so the expected figures are known: a
prediction equal to the ground truth must give AP 1.0, a shifted or mirrored one less.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from flowpose.evaluation.coco_data import CocoInputError, load_coco_keypoints
from flowpose.evaluation.coco_eval import plan_groups, score_predictions
from flowpose.evaluation.coco_metrics import instance_score, match_boxes, oks_nms
from flowpose.evaluation.coco_predict import PosePrediction
from flowpose.evaluation.keypoint_match import match_keypoints, normalise_keypoint_name
from flowpose.meta import load_layout

COCO17 = load_layout("coco17")
AP10K = load_layout("ap10k")
ANIMALPOSE = load_layout("animalpose")


def _groups(data, layout=COCO17):
    return plan_groups(
        data, {"people": ("people-model", layout, ("person",)), "animals": ("animal-model", layout, ("dog",))}
    )


def _from_truth(data, group, transform=lambda kp, ann: kp, k=17, gt_boxes=True, box_shift=0.0):
    """One prediction per annotation, keypoints = transform(ground truth), on the model's layout."""
    preds = []
    for ann in data.annotations:
        if ann.iscrowd or ann.num_labelled == 0:
            continue
        kp = np.full((k, 2), -1000.0)  # keypoints the annotation does not define: far away
        kp[list(group.match.model_index)] = ann.keypoints[list(group.match.annotation_index)]
        box = ann.bbox + box_shift
        preds.append(
            PosePrediction(
                ann.image_id,
                group.name,
                "person",
                box,
                1.0,
                transform(kp, ann),
                np.ones(k),
                ann.id if gt_boxes else None,
            )
        )
    return preds


def test_ground_truth_as_prediction_gives_ap_1_and_pck_1(make_coco) -> None:
    ann, _ = make_coco()
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = _groups(data)
    report = score_predictions(data, [group], _from_truth(data, group), "ground-truth boxes")
    g = report.groups[0]
    assert g.instances == 3 and g.predictions == 3
    assert g.ap["AP"] == pytest.approx(1.0) and g.ap["AR"] == pytest.approx(1.0)
    assert g.ap["AP50"] == g.ap["AP75"] == pytest.approx(1.0)
    assert g.pck == g.pck_found == 1.0
    assert g.recall == ()  # no detector: no recall


def test_shifted_and_mirrored_predictions_score_lower(make_coco) -> None:
    ann, _ = make_coco()
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = _groups(data)

    def shift(frac):  # to the right by a fraction of the box's longer side
        return lambda kp, a: kp + np.array([frac * max(a.bbox[2] - a.bbox[0], a.bbox[3] - a.bbox[1]), 0.0])

    ap = {
        frac: score_predictions(data, [group], _from_truth(data, group, shift(frac)), "gt").groups[0]
        for frac in (0.0, 0.03, 0.08, 0.15)
    }
    aps = [ap[f].ap["AP"] for f in sorted(ap)]
    assert aps[0] == pytest.approx(1.0)
    assert aps[0] > aps[1] > aps[2] > aps[3]  # further off, lower AP
    assert aps[3] < 0.05
    # PCK@0.1 (of max(w, h)): a shift of 0.08 x that is inside, 0.15 x that is outside.
    assert ap[0.08].pck == 1.0 and ap[0.15].pck == 0.0
    # A mirrored pose (left and right swapped, x reflected in the box) is wrong off the midline.
    mirror = _from_truth(data, group, lambda kp, a: kp[COCO17.flip_index] * [-1, 1] + [a.bbox[0] + a.bbox[2], 0])
    assert score_predictions(data, [group], mirror, "gt").groups[0].ap["AP"] < 0.2


def test_instance_score_ranks_ap(make_coco) -> None:
    """AP ranks by the instance score: a wrong pose scored above the right ones costs precision."""
    ann, _ = make_coco()
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = _groups(data)
    good = _from_truth(data, group)
    bad = [
        PosePrediction(p.image_id, p.group, p.label, p.bbox, p.box_score, p.keypoints + 80, p.keypoint_scores * s)
        for p, s in zip(good, (1.0, 0.1, 0.1), strict=True)
    ]
    high = score_predictions(data, [group], good + bad[:1], "gt").groups[0].ap["AP"]
    low = score_predictions(data, [group], good + bad[1:2], "gt").groups[0].ap["AP"]
    assert high < low == pytest.approx(1.0)


def test_instance_score_is_mmpose_bbox_keypoint_rescoring() -> None:
    # mean of the keypoint scores above 0.2 (0.9, 0.5, 0.4 -> 0.6), times the box score
    assert instance_score(0.8, np.array([0.9, 0.1, 0.5, 0.2, 0.4])) == pytest.approx(0.8 * 0.6)
    assert instance_score(1.0, np.array([0.1, 0.2])) == 0.0  # none above the threshold
    assert instance_score(0.5, np.array([0.3, 0.3]), threshold=0.5) == 0.0


def test_oks_nms_drops_near_duplicates_only() -> None:
    sig = COCO17.sigmas_array.astype(np.float64)
    base = np.random.default_rng(0).uniform(0, 100, (17, 2))
    poses = np.stack([base, base + 0.5, base + 40])  # a duplicate of the first, and another pose
    keep = oks_nms(poses, np.array([0.5, 0.9, 0.7]), np.full(3, 100.0 * 100.0), sig)
    assert keep.tolist() == [1, 2]  # the duplicate with the better score survives


def test_match_boxes_is_one_to_one_best_iou_first() -> None:
    gts = np.array([[0, 0, 100, 100], [10, 0, 110, 100], [300, 300, 400, 400]], float)
    preds = np.array([[12, 0, 112, 100], [0, 0, 100, 100], [290, 300, 330, 340]], float)
    assert match_boxes(gts, preds) == {0: 1, 1: 0}  # the third pair overlaps too little
    assert match_boxes(gts, preds[:1]) == {1: 0}
    assert match_boxes(gts, np.zeros((0, 4))) == {}


def test_detector_recall_and_pck_count_a_missed_instance(make_coco) -> None:
    ann, _ = make_coco()
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = _groups(data)
    preds = _from_truth(data, group, gt_boxes=False, box_shift=4.0)
    preds = [p for p in preds if not (p.image_id == 1 and p.bbox[0] > 300)]  # the detector missed one person
    dog = PosePrediction(2, "people", "dog", preds[-1].bbox, 0.9, preds[-1].keypoints, np.ones(17))
    report = score_predictions(data, [group], [*preds, dog], "detector", detector_classes=("person", "dog"))
    g = report.groups[0]
    (person,) = g.recall
    assert (person.category, person.instances, person.found, person.found_same_label) == ("person", 3, 2, 2)
    assert person.recall == pytest.approx(2 / 3)
    assert g.pck == pytest.approx(2 / 3) and g.pck_found == 1.0  # the miss's keypoints count as wrong
    assert g.ap["AR"] == pytest.approx(2 / 3)
    assert "detector's box score" in report.score_rule


def test_crowds_and_unlabelled_instances_are_not_scored(make_coco) -> None:
    extra = [
        {"id": 900, "image_id": 1, "category_id": 1, "bbox": [0, 0, 30, 30], "iscrowd": 1, "keypoints": [0] * 51},
        {"id": 901, "image_id": 2, "category_id": 1, "bbox": [500, 10, 40, 40], "keypoints": [0] * 51},
    ]
    ann, _ = make_coco(extra_annotations=extra)
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = _groups(data)
    g = score_predictions(data, [group], _from_truth(data, group), "gt").groups[0]
    assert g.instances == 3 and g.ap["AP"] == pytest.approx(1.0)


# ---------------------------------------------------------------- keypoints by name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("L_F_Paw", "left_front_paw"),
        ("Root of tail", "root_of_tail"),
        ("TailBase", "root_of_tail"),
        ("R_Eye", "right eye"),
    ],
)
def test_keypoint_names_normalise_across_spellings(a, b) -> None:
    assert normalise_keypoint_name(a) == normalise_keypoint_name(b)


def test_animalpose_layout_has_mmposes_published_sigmas() -> None:
    # open-mmlab/mmpose configs/_base_/datasets/animalpose.py, `sigmas`, index for index
    published = [0.025, 0.025, 0.026, 0.035, 0.035, 0.10, 0.10, 0.10, 0.107, 0.107,
                 0.107, 0.107, 0.087, 0.087, 0.087, 0.087, 0.089, 0.089, 0.089, 0.089]  # fmt: skip
    assert list(ANIMALPOSE.sigmas) == published
    assert ANIMALPOSE.keypoint_names[:4] == ("L_Eye", "R_Eye", "L_EarBase", "R_EarBase")
    assert ANIMALPOSE.num_keypoints == 20 and len(ANIMALPOSE.flip_pairs) == 8


def test_animalpose_against_an_ap10k_model_uses_the_common_keypoints() -> None:
    m = match_keypoints(ANIMALPOSE.keypoint_names, AP10K)
    assert m.annotation_layout == "animalpose" and not m.complete
    assert m.names == ("L_Eye", "R_Eye", "Nose", "TailBase", "L_F_Paw", "R_F_Paw", "L_B_Paw", "R_B_Paw")
    assert [AP10K.keypoint_names[i] for i in m.model_index] == [
        "L_Eye", "R_Eye", "Nose", "Root of tail", "L_F_Paw", "R_F_Paw", "L_B_Paw", "R_B_Paw",
    ]  # fmt: skip
    # Sigmas are Animal-Pose's (MMPose's published list), not AP-10K's: the paws differ.
    assert m.sigmas == tuple(ANIMALPOSE.sigmas[i] for i in m.annotation_index)
    assert m.sigmas[4] == 0.089 and AP10K.sigmas[AP10K.index("L_F_Paw")] == 0.062
    note = m.note(17)
    assert "20 keypoints" in note and "8 keypoints" in note and "TailBase = Root of tail" in note


def test_ap10k_files_spelled_differently_match_completely() -> None:
    names = [
        "left_eye",
        "right_eye",
        "nose",
        "neck",
        "root_of_tail",
        "left_shoulder",
        "left_elbow",
        "left_front_paw",
        "right_shoulder",
        "right_elbow",
        "right_front_paw",
        "left_hip",
        "left_knee",
        "left_back_paw",
        "right_hip",
        "right_knee",
        "right_back_paw",
    ]  # fmt: skip  (AP-10K's own annotation files)
    m = match_keypoints(names, AP10K)
    assert m.complete and m.model_index == tuple(range(17)) and m.annotation_layout == "ap10k"
    assert m.note(17) is None


def test_no_common_keypoint_is_an_error_unless_the_counts_agree() -> None:
    with pytest.raises(ValueError, match="nothing to compare"):
        match_keypoints(["a", "b", "c"], COCO17)
    m = match_keypoints([f"kp{i}" for i in range(17)], COCO17)
    assert m.by_position and "by position" in m.note(17)
    assert m.sigma_source.startswith("coco17 (the model's layout")


def test_animalpose_file_scored_on_common_keypoints_gives_ap_1_for_the_truth(make_coco) -> None:
    ann, _ = make_coco(layout="animalpose", category="dog")
    data = load_coco_keypoints(ann, ann.parent)
    (group,) = plan_groups(data, {"animals": ("animal-model", AP10K, ("dog",))})
    assert group.name == "animals" and len(group.match.names) == 8
    good = score_predictions(data, [group], _from_truth(data, group), "gt").groups[0]
    assert good.ap["AP"] == pytest.approx(1.0) and good.pck == 1.0
    off = _from_truth(data, group, lambda kp, a: kp + 12.0)
    assert score_predictions(data, [group], off, "gt").groups[0].ap["AP"] < 0.9


def test_people_and_animals_go_to_their_models(tmp_path, make_coco) -> None:
    ann, _ = make_coco()
    data = json.loads(ann.read_text())
    data["categories"].append({"id": 2, "name": "dog", "keypoints": list(AP10K.keypoint_names)})
    data["annotations"].append(
        {"id": 5, "image_id": 2, "category_id": 2, "bbox": [10, 10, 100, 100], "keypoints": [50, 50, 2] * 17}
    )
    ann.write_text(json.dumps(data))
    loaded = load_coco_keypoints(ann, ann.parent)
    groups = plan_groups(loaded, {"people": ("p", COCO17, ("person",)), "animals": ("a", AP10K, ("dog",))})
    assert [(g.name, [c.name for c in g.categories]) for g in groups] == [("people", ["person"]), ("animals", ["dog"])]


# ---------------------------------------------------------------- bad input


def _edit(ann, change):
    data = json.loads(ann.read_text())
    change(data)
    ann.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["annotations"][0].update(keypoints=[1, 2, 2]), r"'keypoints' has 3 numbers.*3 x 17 = 51"),
        (lambda d: d["annotations"][0].update(image_id=77), "image_id 77 is not in 'images'"),
        (lambda d: d["annotations"][0].update(category_id=9), "category_id 9 is not in 'categories'"),
        (lambda d: d["annotations"][0].update(bbox=[0, 0, -5, 10]), r"bbox must be \[x, y, w, h\]"),
        (lambda d: d["categories"][0].pop("keypoints"), "not a keypoint file"),
        (lambda d: d["images"][0].update(file_name="nowhere.jpg"), r"1 of 2 images not found in .*: nowhere.jpg"),
        (lambda d: d.pop("images"), "needs a list 'images'"),
    ],
)
def test_bad_annotation_files_say_what_is_wrong(make_coco, change, message) -> None:
    ann, _ = make_coco()
    _edit(ann, change)
    with pytest.raises(CocoInputError, match=message):
        load_coco_keypoints(ann, ann.parent)


def test_missing_folder_file_and_bad_json(tmp_path, make_coco) -> None:
    ann, _ = make_coco()
    with pytest.raises(CocoInputError, match=r"--images: .* is not a folder"):
        load_coco_keypoints(ann, tmp_path / "nope")
    with pytest.raises(CocoInputError, match=r"--annotations: .* does not exist"):
        load_coco_keypoints(tmp_path / "nope.json", ann.parent)
    ann.write_text("{not json")
    with pytest.raises(CocoInputError, match="not valid JSON"):
        load_coco_keypoints(ann, ann.parent)


def test_limit_keeps_the_first_images(make_coco) -> None:
    ann, _ = make_coco()
    data = load_coco_keypoints(ann, ann.parent, limit=1)
    assert [i.id for i in data.images] == [1] and data.skipped_images == 1
    assert {a.image_id for a in data.annotations} == {1}
