"""Optimal one-to-one matching of tracks to detections (Hungarian method, scipy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Matching:
    """Result of matching N rows (tracks) to M columns (detections).

    Attributes:
        pairs: (row, column) matches.
        unmatched_rows: Rows left without a column, ascending.
        unmatched_cols: Columns left without a row, ascending.
    """

    pairs: list[tuple[int, int]]
    unmatched_rows: list[int]
    unmatched_cols: list[int]


def match(similarity: np.ndarray, min_similarity: float) -> Matching:
    """Pairs maximising the total similarity, among pairs at least ``min_similarity`` alike.

    Pairs below the threshold (or NaN) are forbidden rather than dropped after solving, so a
    forbidden pair never pushes an allowed one out of the optimum.

    Args:
        similarity: (N, M), higher is more alike.
        min_similarity: Smallest similarity of an accepted pair.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be a 2-D matrix, got shape {sim.shape}")
    n, m = sim.shape
    allowed = np.nan_to_num(sim, nan=-np.inf) >= min_similarity
    pairs: list[tuple[int, int]] = []
    if allowed.any():
        # A forbidden pair costs more than any set of allowed ones gains, so it is taken only
        # when a row has no allowed column left; such pairs are then discarded.
        gain = np.where(allowed, np.nan_to_num(sim), 0.0)
        forbidden_cost = 1.0 + float(np.abs(gain).sum())
        cost = np.where(allowed, -gain, forbidden_cost)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if allowed[r, c]]
    used_rows = {r for r, _ in pairs}
    used_cols = {c for _, c in pairs}
    return Matching(pairs, [r for r in range(n) if r not in used_rows], [c for c in range(m) if c not in used_cols])
