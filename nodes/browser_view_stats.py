"""Figures of what reaches a BrowserView, computed from the frames themselves.

Every frame carries its capture time and a hop per node it went through, so a sink can tell
per source the rate and end-to-end latency, and per node its processing time and how long
frames waited in its queue, in whatever runner or process the nodes ran.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from flowpose.frame import Frame
from flowpose.percentiles import percentile_ms

WINDOW = 300  # recent frames the figures are computed over


@dataclass
class _Series:
    frames: int = 0
    arrivals: deque[int] = field(default_factory=lambda: deque(maxlen=WINDOW))
    a: deque[int] = field(default_factory=lambda: deque(maxlen=WINDOW))  # latency, or processing time
    b: deque[int] = field(default_factory=lambda: deque(maxlen=WINDOW))  # queue wait (nodes)
    size: str = ""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class TraceStats:
    """Accumulates per-source and per-node figures; thread-safe (the graph adds, HTTP reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, _Series] = {}
        self._nodes: dict[str, _Series] = {}

    def add(self, frame: Frame, now_ns: int | None = None) -> None:
        """Account one frame arriving now (``now_ns``: wall clock, default now)."""
        now = time.time_ns() if now_ns is None else now_ns
        mono = time.monotonic_ns()
        with self._lock:
            src = self._sources.setdefault(frame.source, _Series())
            src.frames += 1
            src.arrivals.append(mono)
            src.a.append(now - frame.capture_ns)
            src.size = f"{frame.width}x{frame.height}"
            previous_out = frame.capture_ns
            for hop in frame.trace:
                node = self._nodes.setdefault(hop.node, _Series())
                node.frames += 1
                node.a.append(hop.t_out - hop.t_in)
                node.b.append(max(hop.t_in - previous_out, 0))
                previous_out = hop.t_out

    def remove(self, source: str) -> None:
        """Forget a stream that ended: its row leaves the table (the per-node figures stay)."""
        with self._lock:
            self._sources.pop(source, None)

    def table(self) -> dict[str, list[dict[str, object]]]:
        """The figures as JSON-ready rows: ``{"sources": [...], "nodes": [...]}``, times in ms."""
        with self._lock:
            sources = []
            for name, s in self._sources.items():
                span = s.arrivals[-1] - s.arrivals[0] if len(s.arrivals) > 1 else 0
                fps = (len(s.arrivals) - 1) * 1e9 / span if span else 0.0
                sources.append(
                    {
                        "source": name,
                        "frames": s.frames,
                        "fps": round(fps, 2),
                        "latency_ms_p50": _round(percentile_ms(s.a, 50)),
                        "latency_ms_p95": _round(percentile_ms(s.a, 95)),
                        "size": s.size,
                    }
                )
            nodes = [
                {
                    "node": name,
                    "frames": n.frames,
                    "proc_ms_p50": _round(percentile_ms(n.a, 50)),
                    "proc_ms_p95": _round(percentile_ms(n.a, 95)),
                    "wait_ms_p50": _round(percentile_ms(n.b, 50)),
                }
                for name, n in self._nodes.items()
            ]
        return {"sources": sources, "nodes": nodes}
