"""The transport benchmarks run: `flowpose bench transport`, and the runtime chain over tcp hosts."""

from __future__ import annotations

import re

from cli_support import run_cli
from flowpose.bench.runtime import run_chain
from flowpose.bench.transport import VARIANTS


def test_bench_transport_prints_every_variant_against_a_memcpy() -> None:
    out = run_cli("bench", "transport", "--iters", "5", "--warmup", "1", "--sizes", "320x240", "--stream", "5")
    assert out.returncode == 0, out.stderr
    medians = dict(re.findall(r"^\| 320x240 \| ([^|]+?) \| ([0-9.]+) \|", out.stdout, re.MULTILINE))
    names = {"np.copyto (memcpy yardstick)", *(v.name for v in VARIANTS)}
    assert names <= set(medians), out.stdout
    assert all(float(ms) > 0 for ms in medians.values())


def test_the_tcp_chain_puts_every_hop_on_a_host_of_its_own() -> None:
    rows = run_chain(64, 48, hops=2, frames=15, fps=0, mode="tcp")
    assert len(rows) == 15
    assert all(len(gaps) == 3 and min(gaps) > 0 for _, gaps in rows)  # source -> h1 -> h2 -> sink: 3 tcp links
