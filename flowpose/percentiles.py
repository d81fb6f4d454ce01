"""Percentiles of timing samples, for every part that reports them (engine stats, the browser view).

It sits with the basics so that nodes and the engine, which never import each other, share it.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def percentile_ms(samples_ns: deque[int] | list[int], q: float) -> float | None:
    """The ``q``-th percentile of nanosecond samples, in milliseconds (None if empty)."""
    if not samples_ns:
        return None
    return float(np.percentile(np.fromiter(samples_ns, dtype=np.int64, count=len(samples_ns)), q)) / 1e6
