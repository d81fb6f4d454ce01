"""Smoothing whole frames: the per-frame loop the Smoother node (and the evaluation) run."""

from __future__ import annotations

from dataclasses import dataclass

from flowpose.frame import Frame
from flowpose.smoothing.bank import SmootherBank
from flowpose.smoothing.clock import FrameClock
from flowpose.smoothing.config import SmoothingConfig
from flowpose.tracking.tracker import TRACKS_ENDED_KEY


@dataclass(frozen=True)
class SmoothedFrame:
    """A smoothed frame and what happened on the way.

    Attributes:
        frame: The new frame (the input is left untouched; the image is shared).
        untracked: Instances passed through unsmoothed for want of a track id.
        resets: Track states dropped (tracks ended, or unseen for too long).
    """

    frame: Frame
    untracked: int
    resets: int


class FrameSmoother:
    """Smooths the tracked instances of frames from any number of sources.

    Filters are keyed by ``(frame.source, track_id)``. A track's state is dropped when a
    Tracker lists it in ``frame.meta["tracks_ended"]`` or when it has not been seen for
    ``config.reset_after``. Instances with ``track_id < 0`` pass through unchanged.

    Args:
        config: Smoothing settings.
        timestamp: Where times come from (see :mod:`flowpose.smoothing.clock`).
        where: Who runs it, for error messages (e.g. ``"node 'smoother'"``).
    """

    def __init__(self, config: SmoothingConfig | None = None, timestamp: str = "capture", where: str = "") -> None:
        self.bank = SmootherBank(config)
        self.clock = FrameClock(timestamp, where)

    def __call__(self, frame: Frame) -> SmoothedFrame:
        """Smooth one frame."""
        t = self.clock(frame)
        source = frame.source
        ended = frame.meta.get(TRACKS_ENDED_KEY) or ()
        resets = self.bank.forget((source, int(i)) for i in ended)
        out = []
        untracked = 0
        for inst in frame.instances:
            if inst.track_id < 0:
                untracked += 1
                out.append(inst)
            else:
                out.append(self.bank.smooth((source, inst.track_id), inst, t))
        resets += self.bank.expire(t, source)
        return SmoothedFrame(frame.with_instances(out), untracked, resets)
