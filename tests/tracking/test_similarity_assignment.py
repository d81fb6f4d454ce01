"""IoU and OKS matrices against hand-computed values; optimal assignment with a threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowpose.tracking import iou_matrix, match, oks_matrix


def test_iou_by_hand() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]])
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30], [3, 3, 3, 9]])
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 4)
    assert iou[0, 0] == pytest.approx(25 / 175)  # 5x5 overlap, 100 + 100 - 25 union
    assert iou[0, 1] == 1.0 and iou[0, 2] == 0.0
    assert iou[1, 1] == pytest.approx(4 / 100)
    assert iou[0, 3] == 0.0  # an empty box overlaps nothing
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 4)


def test_oks_by_hand() -> None:
    sigmas = np.array([0.1, 0.05])
    a = np.array([[[0.0, 0.0], [10.0, 0.0]]])
    b = np.array([[[3.0, 4.0], [10.0, 0.0]], [[0.0, 0.0], [100.0, 0.0]]])
    areas = np.array([[400.0, 400.0]])
    oks = oks_matrix(a, np.ones((1, 2), bool), b, np.ones((2, 2), bool), areas, sigmas)
    # Pair (0, 0): d² = 25 on keypoint 0 -> exp(-25 / (2 * 400 * 0.2²)); keypoint 1 matches exactly.
    assert oks[0, 0] == pytest.approx((math.exp(-25 / (2 * 400 * 0.04)) + 1.0) / 2)
    # Pair (0, 1): keypoint 1 is 90 px off with k = 0.1 -> exp(-8100 / (2 * 400 * 0.01)).
    assert oks[0, 1] == pytest.approx((1.0 + math.exp(-8100 / 8.0)) / 2)


def test_oks_only_over_keypoints_valid_in_both_and_nan_without_any() -> None:
    sigmas = np.array([0.1, 0.1])
    a = np.array([[[0.0, 0.0], [50.0, 50.0]]])
    b = np.array([[[0.0, 0.0], [0.0, 0.0]]])
    oks = oks_matrix(a, np.array([[True, True]]), b, np.array([[True, False]]), np.array([[100.0]]), sigmas)
    assert oks[0, 0] == 1.0  # the far keypoint is not valid in b: not counted
    none = oks_matrix(a, np.array([[False, True]]), b, np.array([[True, False]]), np.array([[100.0]]), sigmas)
    assert np.isnan(none[0, 0])
    with pytest.raises(ValueError, match="sigmas"):
        oks_matrix(a, np.ones((1, 2), bool), b, np.ones((1, 2), bool), np.array([[1.0]]), np.ones(3))


def test_assignment_is_optimal_not_greedy() -> None:
    # Greedy would take (0, 0) = 0.9 first and leave (1, 1) = 0.1: total 1.0. Optimal: 0.8 + 0.8.
    sim = np.array([[0.9, 0.8], [0.8, 0.1]])
    m = match(sim, 0.05)
    assert sorted(m.pairs) == [(0, 1), (1, 0)]
    assert m.unmatched_rows == [] and m.unmatched_cols == []


def test_pairs_below_the_threshold_never_match_and_do_not_block_others() -> None:
    sim = np.array([[0.9, 0.25], [0.85, np.nan]])
    m = match(sim, 0.3)
    assert m.pairs == [(0, 0)]
    assert m.unmatched_rows == [1] and m.unmatched_cols == [1]


def test_rectangular_and_empty_matrices() -> None:
    m = match(np.array([[0.5, 0.9, 0.7]]), 0.3)
    assert m.pairs == [(0, 1)] and m.unmatched_cols == [0, 2]
    empty = match(np.zeros((0, 3)), 0.3)
    assert empty.pairs == [] and empty.unmatched_cols == [0, 1, 2]
    with pytest.raises(ValueError, match="2-D"):
        match(np.zeros(3), 0.3)
