"""Per-node runtime statistics: throughput, processing time, queue depth, drops, latency."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field

from flowpose.percentiles import percentile_ms

WINDOW = 10_000  # samples kept for percentiles: the recent past, bounded memory


@dataclass
class NodeSnapshot:
    """A point-in-time copy of a node's figures, safe to print or serialise.

    Times are milliseconds; ``None`` where nothing was measured yet.
    """

    name: str
    type: str
    runner: str
    frames: int
    fps: float
    proc_ms_p50: float | None
    proc_ms_p95: float | None
    queue_depth: int
    drops: int
    restarts: int
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    bad_messages: int = 0
    counters: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """As a plain dict (for JSON)."""
        return asdict(self)


class NodeStats:
    """Counters one node's runner updates on its hot path and a reporter reads.

    Only the owning worker writes; readers take unlocked snapshots (good enough for
    monitoring, and it keeps locks off the hot path).
    """

    def __init__(self, name: str, type_name: str, runner: str = "thread", is_sink: bool = False) -> None:
        self.name, self.type_name, self.runner, self.is_sink = name, type_name, runner, is_sink
        self.frames = 0
        self.restarts = 0
        self.bad_messages = 0
        self.counters: Counter[str] = Counter()
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.proc_ns: deque[int] = deque(maxlen=WINDOW)
        self.latency_ns: deque[int] = deque(maxlen=WINDOW)
        self._drops_fn = lambda: 0
        self._depth_fn = lambda: 0

    def attach_queues(self, drops_fn: object, depth_fn: object) -> None:
        """Tell the stats how to read the node's input drops and queue depth."""
        self._drops_fn, self._depth_fn = drops_fn, depth_fn  # type: ignore[assignment]

    def record(self, proc_ns: int, latency_ns: int | None = None) -> None:
        """Account one processed frame (hot path: keep it cheap)."""
        now = time.monotonic_ns()
        if self.first_ns is None:
            self.first_ns = now
        self.last_ns = now
        self.frames += 1
        self.proc_ns.append(proc_ns)
        if latency_ns is not None:
            self.latency_ns.append(latency_ns)

    def fps(self) -> float:
        """Average frames per second between the first and last frame."""
        if self.first_ns is None or self.last_ns is None or self.frames < 2 or self.last_ns == self.first_ns:
            return 0.0
        return (self.frames - 1) * 1e9 / (self.last_ns - self.first_ns)

    def snapshot(self) -> NodeSnapshot:
        """Copy the figures now."""
        proc, lat = list(self.proc_ns), list(self.latency_ns)
        return NodeSnapshot(
            name=self.name,
            type=self.type_name,
            runner=self.runner,
            frames=self.frames,
            fps=round(self.fps(), 2),
            proc_ms_p50=percentile_ms(proc, 50),
            proc_ms_p95=percentile_ms(proc, 95),
            queue_depth=int(self._depth_fn()),  # type: ignore[operator]
            drops=int(self._drops_fn()),  # type: ignore[operator]
            restarts=self.restarts,
            latency_ms_p50=percentile_ms(lat, 50) if self.is_sink else None,
            latency_ms_p95=percentile_ms(lat, 95) if self.is_sink else None,
            bad_messages=self.bad_messages,
            counters=dict(self.counters),
        )


def _cell(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def format_table(snaps: list[NodeSnapshot]) -> str:
    """A fixed-width table of node figures for the terminal."""
    header = (
        "node",
        "type",
        "run",
        "frames",
        "fps",
        "proc p50",
        "proc p95",
        "queue",
        "drops",
        "lat p50",
        "lat p95",
        "events",
    )
    rows = [
        (
            s.name,
            s.type,
            s.runner,
            str(s.frames),
            f"{s.fps:.1f}",
            _cell(s.proc_ms_p50),
            _cell(s.proc_ms_p95),
            str(s.queue_depth),
            str(s.drops),
            _cell(s.latency_ms_p50),
            _cell(s.latency_ms_p95),
            " ".join(f"{k}={v}" for k, v in sorted(s.counters.items())) or "-",
        )
        for s in snaps
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "   (times in ms)"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
