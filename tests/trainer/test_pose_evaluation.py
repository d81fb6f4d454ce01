"""PCK, mean pixel error and OKS AP/AR against values computed by hand on tiny cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pycocotools")

from flowpose.evaluation.pck import keypoint_distances, mean_pixel_error, pck
from flowpose.trainer.evaluation.coco_eval import OksGroundTruth, oks_ap


def test_pck_and_mean_error_by_hand() -> None:
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    # Instance 0 (box side 100): errors 3, 4 and 25 px. Instance 1 (box side 50): 6, 12, and
    # one unlabelled keypoint whose (huge) error must not count.
    pred[0, 0] = [3, 0]
    pred[0, 1] = [0, 4]
    pred[0, 2] = [15, 20]
    pred[1, 0] = [6, 0]
    pred[1, 1] = [0, 12]
    pred[1, 2] = [500, 500]
    visible = np.array([[2, 2, 1], [2, 2, 0]])
    dist = keypoint_distances(pred, gt, visible)
    assert np.isnan(dist[1, 2])
    assert mean_pixel_error(dist) == pytest.approx((3 + 4 + 25 + 6 + 12) / 5)
    res = pck(dist, np.array([100.0, 50.0]), thresholds=(0.05, 0.1, 0.2))
    # @0.05: thresholds 5 px and 2.5 px -> 3 and 4 pass; @0.1: 10 and 5 px -> 3, 4;
    # @0.2: 20 and 10 px -> 3, 4 (25 fails), 6 (12 fails).
    assert res == {"pck@0.05": pytest.approx(2 / 5), "pck@0.1": pytest.approx(2 / 5), "pck@0.2": pytest.approx(3 / 5)}


def test_pck_with_nothing_labelled_is_nan() -> None:
    dist = keypoint_distances(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2)))
    assert math.isnan(pck(dist, np.array([10.0]))["pck@0.1"])
    assert math.isnan(mean_pixel_error(dist))


def test_distances_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        keypoint_distances(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)), np.ones((1, 3)))


def _oks_by_hand(d: np.ndarray, sigmas: np.ndarray, area: float) -> float:
    # COCO: e = d^2 / (2 * s^2 * (2 sigma)^2) with s^2 = area, averaged exp(-e) over labelled points.
    return float(np.mean(np.exp(-(d**2) / (2 * area * (2 * sigmas) ** 2))))


def test_oks_ap_matches_a_hand_computed_oks() -> None:
    sigmas = np.array([0.05, 0.08, 0.1])
    area = 80.0 * 100.0
    gt = np.array([[50.0, 50.0], [60.0, 80.0], [40.0, 120.0]])
    # One prediction, each keypoint moved by the same d along x.
    d = 11.0
    oks = _oks_by_hand(np.full(3, d), sigmas, area)
    assert 0.5 < oks < 0.95  # a case where AP is neither 0 nor 1
    pred = gt + np.array([d, 0.0])
    truth = OksGroundTruth(7, np.array([20.0, 30.0, 100.0, 130.0]), gt, np.array([2.0, 2.0, 1.0]), area)
    res = oks_ap([truth], pred[None], np.array([0.9]), [7], sigmas)
    # One ground truth and one detection: AP at an OKS threshold t is 1 if oks > t else 0,
    # and COCO's AP averages t = 0.50, 0.55, ..., 0.95.
    thresholds = np.linspace(0.5, 0.95, 10)
    assert res["oks_AP"] == pytest.approx(float((oks > thresholds).mean()))
    assert res["oks_AP50"] == pytest.approx(1.0)
    assert res["oks_AP75"] == pytest.approx(1.0 if oks > 0.75 else 0.0)
    assert res["oks_AR"] == pytest.approx(float((oks > thresholds).mean()))


def test_oks_ap_ranks_by_score_and_ignores_unlabelled_keypoints() -> None:
    sigmas = np.full(2, 0.1)
    gts = [OksGroundTruth(i, np.array([0, 0, 100, 100.0]), np.array([[10, 10], [50, 50.0]]), np.array([2, 0.0]), 1e4)
           for i in (1, 2)]  # fmt: skip
    good = np.array([[10, 10], [900, 900.0]])  # the unlabelled second point is far off: must not matter
    bad = np.array([[60, 60], [50, 50.0]])  # first point ~71 px off: OKS ~ 0
    res = oks_ap(gts, np.stack([good, bad]), np.array([0.9, 0.1]), [1, 2], sigmas)
    # Image 1 is a perfect match, image 2 a miss: recall 0.5 at every threshold, precision 1
    # up to recall 0.5 (the good detection ranks first), so AP = 51/101 (COCO's 101 recall points).
    assert res["oks_AR"] == pytest.approx(0.5)
    assert res["oks_AP"] == pytest.approx(51 / 101, abs=1e-6)
