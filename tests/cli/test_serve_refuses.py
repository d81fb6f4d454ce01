"""Graphs `flowpose serve` cannot control are refused before anything starts, with what to do."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_cli


def test_a_stream_source_in_its_own_process_is_refused(tmp_path: Path) -> None:
    graph = tmp_path / "g.yaml"
    graph.write_text(
        "nodes:\n"
        "  - {name: scenes, type: SyntheticScene, outputs: [frames], runner: process,\n"
        "     params: {streams: 2, count: 5, live: false}}\n"
        "  - {name: sink, type: PassThrough, inputs: [frames], outputs: [out]}\n"
    )
    res = run_cli("serve", str(graph), "--port", "0", "--token", "t", cwd=tmp_path, timeout=60)
    assert res.returncode == 2
    assert "'scenes'" in res.stderr and "runner: process" in res.stderr and "thread" in res.stderr
    assert "Traceback" not in res.stderr
    assert "flowpose serve: http" not in res.stdout  # nothing was served
