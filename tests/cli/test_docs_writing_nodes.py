"""docs/writing-nodes.md stays true: its python blocks run as a reader would paste them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-nodes.md"


def python_blocks() -> list[str]:
    """The ```python blocks of the page, in order."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def run_blocks() -> dict[str, Any]:
    """Execute every block in one namespace, top to bottom, and return that namespace.

    The page reads like one session: later fragments use earlier imports and classes, and
    ``image`` is the one placeholder a reader supplies.
    """
    namespace: dict[str, Any] = {"__name__": "writing_nodes_doc", "image": np.zeros((16, 16, 3), np.uint8)}
    for number, block in enumerate(python_blocks(), start=1):
        exec(compile(block, f"{DOC.name} python block {number}", "exec"), namespace)
    return namespace


def test_the_page_has_the_examples_this_test_runs() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    assert any("class Folder(Source)" in b for b in blocks)
    assert any("class KeepLabels(Node)" in b for b in blocks)


def test_every_python_block_runs() -> None:
    run_blocks()  # the testing block at the end runs KeepLabels on a frame and asserts


def test_the_source_example_reads_a_folder(tmp_path: Path) -> None:
    # Names used only inside a method (Path in frames()) fail only when it runs, so run it.
    for name in ("b.png", "a.png"):
        cv2.imwrite(str(tmp_path / name), np.full((8, 12, 3), 200, np.uint8))
    source = run_blocks()["Folder"]("folder", {"path": str(tmp_path)})
    frames = list(source.frames())
    assert [Path(f.meta["path"]).name for f in frames] == ["a.png", "b.png"]
    assert [f.frame_id for f in frames] == [0, 1]
    assert frames[0].image.shape == (8, 12, 3)


def test_the_per_stream_example_keeps_and_drops_state_per_stream() -> None:
    ns = run_blocks()
    frame_cls, counter = ns["Frame"], ns["Counter"]("count")
    counter.setup()
    for i, stream in enumerate(["cam0", "cam1", "cam0"]):
        counter.process(frame_cls(frame_id=i, capture_ns=0, source=stream, image=np.zeros((4, 4, 3), np.uint8)))
    assert counter.counts == {"cam0": 2, "cam1": 1}
    counter.end_stream("cam0")
    assert counter.counts == {"cam1": 1}
