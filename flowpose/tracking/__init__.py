"""Multi-object tracking: IoU/OKS similarity, optimal assignment, track lifecycle (numpy + scipy).

Example:
    >>> from flowpose.frame import Instance
    >>> from flowpose.tracking import Tracker, TrackerConfig
    >>> tracker = Tracker(TrackerConfig(min_hits=1))
    >>> tracker.update([Instance([0, 0, 10, 20], label="person")], t=0.0).track_ids
    [1]
"""

from flowpose.tracking.assignment import Matching, match
from flowpose.tracking.similarity import box_areas, iou_matrix, layout_sigmas, oks_matrix
from flowpose.tracking.track import Track
from flowpose.tracking.tracker import (
    MATCH_METRICS,
    TRACKS_ENDED_KEY,
    Tracker,
    TrackerConfig,
    TrackUpdate,
)

__all__ = [
    "MATCH_METRICS",
    "TRACKS_ENDED_KEY",
    "Matching",
    "Track",
    "TrackUpdate",
    "Tracker",
    "TrackerConfig",
    "box_areas",
    "iou_matrix",
    "layout_sigmas",
    "match",
    "oks_matrix",
]
