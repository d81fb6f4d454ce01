"""Chrome / Perfetto trace-event output (``--trace FILE``).

Each processed frame becomes one complete ("X") event on its node's track; open the file
in https://ui.perfetto.dev or chrome://tracing to see where time goes.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any

MAX_EVENTS_PER_NODE = 200_000  # keeps memory bounded on long runs: the most recent events win


class TraceRecorder:
    """Collects per-node processing spans.

    Args:
        node_names: Node names in graph order; each gets its own track (tid).
    """

    def __init__(self, node_names: list[str]) -> None:
        self.pid = os.getpid()
        self.tids = {name: i + 1 for i, name in enumerate(node_names)}
        self.events: dict[str, deque[tuple[int, int, int]]] = {
            name: deque(maxlen=MAX_EVENTS_PER_NODE) for name in node_names
        }

    def span(self, node: str, start_ns: int, end_ns: int, frame_id: int) -> None:
        """Record that ``node`` worked on ``frame_id`` from ``start_ns`` to ``end_ns`` (wall clock)."""
        self.events[node].append((start_ns, end_ns, frame_id))

    def to_chrome(self, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The trace as a Chrome trace-event JSON object."""
        out: list[dict[str, Any]] = [{"ph": "M", "name": "process_name", "pid": self.pid, "args": {"name": "flowpose"}}]
        for name, tid in self.tids.items():
            out.append({"ph": "M", "name": "thread_name", "pid": self.pid, "tid": tid, "args": {"name": name}})
            for start, end, frame_id in self.events[name]:
                out.append(
                    {
                        "ph": "X",
                        "name": name,
                        "cat": "node",
                        "pid": self.pid,
                        "tid": tid,
                        "ts": start / 1e3,
                        "dur": max(end - start, 0) / 1e3,
                        "args": {"frame_id": frame_id},
                    }
                )
        out.extend(extra or [])
        return {"traceEvents": out, "displayTimeUnit": "ms"}

    def write(self, path: str | Path) -> None:
        """Write the trace JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_chrome()), encoding="utf-8")
