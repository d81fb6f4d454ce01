"""Multi-object tracking by box IoU and keypoint OKS with optimal assignment.

Each frame, tracks are predicted to the frame's time (constant velocity), compared with the
detections of the same label, and matched one-to-one by the Hungarian method. A track is
confirmed (gets an id) after ``min_hits`` matched frames in a row, and ends after
``max_misses`` frames in a row without a match. Ids come from one counter and are never
given twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from flowpose.frame import Instance
from flowpose.tracking.assignment import match
from flowpose.tracking.similarity import box_areas, iou_matrix, keypoint_spread_areas, layout_sigmas, oks_matrix
from flowpose.tracking.track import Track

MATCH_METRICS = ("iou", "oks", "both")
#: Key in ``frame.meta`` where the Tracker node lists the ids of tracks that ended at that frame.
TRACKS_ENDED_KEY = "tracks_ended"

SigmaLookup = Callable[[str, int], np.ndarray | None]
"""(layout name, keypoint count) -> OKS sigmas (K,), or None when OKS cannot be used."""


@dataclass(frozen=True)
class TrackerConfig:
    """How tracks are matched, born and ended.

    Attributes:
        metric: ``iou`` (boxes), ``oks`` (keypoints, from the layout's sigmas; IoU for pairs
            without keypoints in common) or ``both`` (the mean of IoU and OKS where OKS
            exists, IoU elsewhere).
        min_similarity: Pairs less alike than this never match.
        min_hits: Matched frames in a row before a track is confirmed and gets an id (1:
            at once).
        max_misses: A confirmed track ends after this many frames in a row without a match.
        min_keypoint_score: Keypoints scoring below this are left out of OKS and of the
            motion estimate.
        predict_motion: Predict tracks at the frame's time with their velocity (the median
            motion of their keypoints, or of the box centre).
    """

    metric: str = "both"
    min_similarity: float = 0.3
    min_hits: int = 3
    max_misses: int = 15
    min_keypoint_score: float = 0.3
    predict_motion: bool = True

    def __post_init__(self) -> None:
        if self.metric not in MATCH_METRICS:
            raise ValueError(f"tracker metric must be one of {list(MATCH_METRICS)}, got {self.metric!r}")
        if not 0 < self.min_similarity <= 1:
            raise ValueError(f"tracker min_similarity must be in (0, 1], got {self.min_similarity}")
        if self.min_hits < 1 or self.max_misses < 0:
            raise ValueError(f"tracker needs min_hits >= 1 and max_misses >= 0, got {self.min_hits}, {self.max_misses}")
        if not 0 <= self.min_keypoint_score <= 1:
            raise ValueError(f"tracker min_keypoint_score must be in [0, 1], got {self.min_keypoint_score}")


@dataclass(frozen=True)
class TrackUpdate:
    """What one frame did to the tracks.

    Attributes:
        track_ids: One id per input instance, in order; -1 for tentative tracks.
        started: Ids given to tracks confirmed at this frame.
        ended: Ids of confirmed tracks that ended at this frame.
    """

    track_ids: list[int]
    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


class Tracker:
    """Tracks the instances of one stream.

    Args:
        config: Matching and lifecycle settings.
        ids: Source of new ids; share one between trackers of several streams so ids stay
            unique across them. Default: 1, 2, 3, ...
        sigmas: OKS sigmas per layout; default :func:`layout_sigmas`.
    """

    def __init__(
        self, config: TrackerConfig | None = None, ids: Iterator[int] | None = None, sigmas: SigmaLookup | None = None
    ) -> None:
        self.config = config or TrackerConfig()
        self._ids = ids if ids is not None else itertools.count(1)
        self._sigmas = sigmas or layout_sigmas
        self.tracks: list[Track] = []

    def update(self, instances: Sequence[Instance], t: float) -> TrackUpdate:
        """Match this frame's instances to the tracks.

        Args:
            instances: The frame's detections (their own ``track_id`` is ignored).
            t: The frame's time (seconds, or frames).
        """
        cfg = self.config
        ids = [-1] * len(instances)
        started: list[int] = []
        matched: set[int] = set()
        taken: set[int] = set()
        for label in sorted({i.label for i in instances} | {tr.label for tr in self.tracks}):
            rows = [k for k, tr in enumerate(self.tracks) if tr.label == label]
            cols = [k for k, inst in enumerate(instances) if inst.label == label]
            if not rows or not cols:
                continue
            sim = self.similarity([self.tracks[k] for k in rows], [instances[k] for k in cols], t)
            for r, c in match(sim, cfg.min_similarity).pairs:
                track = self.tracks[rows[r]]
                track.hit(instances[cols[c]], t, cfg.min_keypoint_score)
                if not track.confirmed and track.hits >= cfg.min_hits:
                    track.track_id = next(self._ids)
                    started.append(track.track_id)
                ids[cols[c]] = track.track_id
                matched.add(rows[r])
                taken.add(cols[c])
        ended = self._age(matched)
        for k, inst in enumerate(instances):
            if k not in taken:
                track = Track.start(inst, t)
                if cfg.min_hits <= 1:
                    track.track_id = ids[k] = next(self._ids)
                    started.append(track.track_id)
                self.tracks.append(track)
        return TrackUpdate(ids, started, ended)

    def _age(self, matched: set[int]) -> list[int]:
        """Count a miss for unmatched tracks; remove the dead; return the confirmed ids that ended."""
        alive, ended = [], []
        for k, track in enumerate(self.tracks):
            if k not in matched:
                track.misses += 1
            # A tentative track must be matched in consecutive frames; a confirmed one survives short gaps.
            if track.misses == 0 or (track.confirmed and track.misses <= self.config.max_misses):
                alive.append(track)
            elif track.confirmed:
                ended.append(track.track_id)
        self.tracks = alive
        return ended

    def similarity(self, tracks: Sequence[Track], instances: Sequence[Instance], t: float) -> np.ndarray:
        """(len(tracks), len(instances)) similarity under ``config.metric``, tracks predicted to ``t``."""
        cfg = self.config
        boxes = np.array([tr.predicted_box(t, cfg.predict_motion) for tr in tracks]).reshape(-1, 4)
        det_boxes = np.array([inst.bbox for inst in instances], dtype=np.float64).reshape(-1, 4)
        iou = iou_matrix(boxes, det_boxes)
        if cfg.metric == "iou":
            return iou
        oks = self._oks(tracks, instances, t, boxes, det_boxes)
        if cfg.metric == "oks":
            return np.where(np.isnan(oks), iou, oks)
        return np.where(np.isnan(oks), iou, 0.5 * (iou + oks))

    def _oks(
        self, tracks: Sequence[Track], instances: Sequence[Instance], t: float, boxes: np.ndarray, det_boxes: np.ndarray
    ) -> np.ndarray:
        """OKS of every pair sharing a layout; NaN for the other pairs."""
        out = np.full((len(tracks), len(instances)), np.nan)
        thr = self.config.min_keypoint_score
        kinds = {(inst.layout, inst.num_keypoints) for inst in instances if inst.num_keypoints}
        for layout, k in kinds:
            sigmas = self._sigmas(layout, k)
            if sigmas is None:
                continue
            rows = [r for r, tr in enumerate(tracks) if (tr.instance.layout, tr.instance.num_keypoints) == (layout, k)]
            cols = [c for c, inst in enumerate(instances) if (inst.layout, inst.num_keypoints) == (layout, k)]
            if not rows:
                continue
            pts = np.array([tracks[r].predicted_points(t, self.config.predict_motion) for r in rows])
            valid = np.array([tracks[r].instance.keypoint_scores >= thr for r in rows])
            det_pts = np.array([instances[c].keypoints for c in cols])
            det_valid = np.array([instances[c].keypoint_scores >= thr for c in cols])
            # The scale is the larger of the two objects, each measured by its box or, when the
            # box shrank to the few pixels an occluder leaves, by the spread of its keypoints.
            a = np.maximum(box_areas(boxes[rows]), keypoint_spread_areas(pts, valid))
            b = np.maximum(box_areas(det_boxes[cols]), keypoint_spread_areas(det_pts, det_valid))
            areas = np.maximum(a[:, None], b[None, :])
            out[np.ix_(rows, cols)] = oks_matrix(pts, valid, det_pts, det_valid, areas, sigmas)
        return out
