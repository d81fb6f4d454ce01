"""``flowpose bench runtime``: the plain ``queue.Queue`` chain yardstick and where the table shows it."""

from __future__ import annotations

import numpy as np

from flowpose.bench.runtime import ChainResult, format_results
from flowpose.bench.yardsticks import QueueChain, measure_queue_chain


def test_queue_chain_passes_every_frame_through_every_hop() -> None:
    chain = measure_queue_chain(hops=3, frames=120, width=64, height=48)
    # Paced run: 100 frames, 4 gaps each (3 hops and the sink), the first 10 frames' gaps left out.
    assert len(chain.gaps_ms) == (100 - 10) * 4
    assert (chain.gaps_ms >= 0).all() and chain.max_fps > 0


def test_table_shows_the_queue_chain_beside_the_runtime_and_the_ratio() -> None:
    result = ChainResult("640x480", "thread", 3, 0.02, 0.05, 10_000.0, 500)
    chain = QueueChain(gaps_ms=np.array([0.01, 0.01, 0.04]), max_fps=20_000.0)
    table = format_results([result], None, None, None, chain)
    lines = table.splitlines()
    assert lines[3].startswith("| any | queue.Queue chain (plain threads) | 3 | 0.0100 |")
    assert "| 20,000 |" in lines[3]
    assert lines[-1] == "flowpose / queue.Queue chain at 640x480: hop median 2.00x, max fps 0.50x"
