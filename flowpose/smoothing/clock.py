"""Where a smoother or tracker reads the time of a frame from.

Filters that know the real time between frames treat a dropped frame, a slow camera and a
60 fps phone alike. The time comes from one of:

* ``capture`` (default): the frame's capture time (:attr:`Frame.capture_ns`), in seconds;
* ``frames``: one unit per frame the node processed from that source, the way frame-count
  filters (MMPose 0.x, PaddleDetection) count time; cutoffs are then cycles per frame;
* ``meta:<key>``: a number in ``frame.meta[key]``, its unit named by the key's suffix
  (``_s``, ``_ms``, ``_us``, ``_ns``), e.g. ``meta:pos_ms`` (a video file's position, right
  for files read faster than real time) or ``meta:scene_time_s`` (SyntheticScene).
"""

from __future__ import annotations

from collections import Counter

from flowpose.frame import Frame

_UNITS = {"_ns": 1e-9, "_us": 1e-6, "_ms": 1e-3, "_s": 1.0}


def check_timestamp_spec(spec: str) -> str | None:
    """Why ``spec`` is not a valid ``timestamp`` setting, or None when it is."""
    if spec in ("capture", "frames"):
        return None
    if spec.startswith("meta:"):
        key = spec[len("meta:") :]
        if key and _unit_of(key) is not None:
            return None
        return f"meta key {key!r} must end in one of {sorted(_UNITS)} to say its unit, e.g. 'meta:pos_ms'"
    return f"{spec!r} is not 'capture', 'frames' or 'meta:<key>'"


def _unit_of(key: str) -> float | None:
    # Longest suffix first: '_ms' also ends in '_s'.
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if key.endswith(suffix):
            return _UNITS[suffix]
    return None


class FrameClock:
    """Turns frames into times in seconds (or frame counts), per source.

    Args:
        spec: ``capture``, ``frames`` or ``meta:<key>`` (see the module docstring).
        where: Who asks (e.g. ``"node 'smoother'"``), for error messages.

    Raises:
        ValueError: ``spec`` is not valid.
    """

    def __init__(self, spec: str = "capture", where: str = "") -> None:
        if problem := check_timestamp_spec(spec):
            raise ValueError(f"{where + ': ' if where else ''}timestamp: {problem}")
        self.spec = spec
        self.where = where
        self._counts: Counter[str] = Counter()
        self._key = spec[len("meta:") :] if spec.startswith("meta:") else ""
        self._scale = _unit_of(self._key) if self._key else 1e-9

    @property
    def in_frames(self) -> bool:
        """Whether time is counted in frames rather than seconds."""
        return self.spec == "frames"

    def __call__(self, frame: Frame) -> float:
        """The time of ``frame`` (call once per frame: ``frames`` counts the calls)."""
        if self.spec == "capture":
            return frame.capture_ns * 1e-9
        if self.spec == "frames":
            self._counts[frame.source] += 1
            return float(self._counts[frame.source])
        value = frame.meta.get(self._key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"{self.where}: timestamp {self.spec!r}: frame {frame.frame_id} of {frame.source!r} has "
                f"meta[{self._key!r}] = {value!r}, expected a number"
            )
        assert self._scale is not None
        return float(value) * self._scale
