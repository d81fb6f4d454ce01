"""The table of ``flowpose zoo list``: each model's task, input, upstream figures, cache state and pin."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flowpose.zoo.fetch import cache_dir
from flowpose.zoo.pins import PINS_FILE, PinStore
from flowpose.zoo.registry import ZooEntry, ZooError, zoo_entries

__all__ = ["ZooRow", "format_zoo_list", "zoo_rows"]

logger = logging.getLogger(__name__)

HEADER = ("NAME", "TASK", "INPUT", "AP", "CPU ms", "STATE", "PIN", "DESCRIPTION")
LEGEND = (
    "AP: upstream's published AP: COCO (person keypoints, val2017), AP-10K (animal keypoints), COCO box "
    "(detection mAP 0.5:0.95) or COCO person (person detection);\n"
    "CPU ms: upstream's ONNX Runtime latency per person crop on an Intel i7-11700, '-' where none is published. "
    "Sources: docs/models.md\n"
    "PIN: registry = a digest in the zoo entry; pinned = pinned on its first download ({pins}); "
    "1st-use = will be pinned on its first download"
)


@dataclass(frozen=True)
class ZooRow:
    """One row of the list, as text."""

    name: str
    task: str
    input: str
    ap: str
    cpu_ms: str
    state: str
    pin: str
    description: str


def _task_and_input(entry: ZooEntry) -> tuple[str, str]:
    """Task and ``WxH`` from the entry's card, or from the card inside a packaged model."""
    try:
        if entry.packaged_path is not None:
            from flowpose.models import read_card  # loads the model: only for the few packaged ones

            card = read_card(entry.packaged_path) if entry.packaged_path.is_file() else None
        elif entry.card:
            from flowpose.models import card_from_spec

            card = card_from_spec(entry.card)
        else:
            card = None
    except (OSError, ValueError) as exc:
        logger.debug("no card for %s: %s", entry.name, exc)
        card = None
    if card is None:
        return "?", "?"
    w, h = card.input_size
    return card.task, f"{w}x{h}"


def zoo_rows(entries: Mapping[str, ZooEntry], cache: Path) -> list[ZooRow]:
    """The rows for ``entries`` against the models in ``cache``."""
    try:
        pins = PinStore(cache).load()
    except ZooError as exc:  # listing still works; the pin column says it cannot tell
        logger.warning("%s", exc)
        pins = {}
    rows = []
    for name, entry in entries.items():
        task, size = _task_and_input(entry)
        if entry.packaged_path is not None:
            state = "packaged" if entry.packaged_path.is_file() else "missing"
            pin = "-"
        else:
            state = "cached" if (cache / entry.filename).is_file() else "-"
            recorded = pins.get(entry.filename)
            pinned = recorded is not None and recorded.url == entry.url
            pin = "registry" if entry.digests else "pinned" if pinned else "1st-use"
        ap = f"{entry.ap:.1f} {entry.ap_dataset}".strip() if entry.ap is not None else "-"
        cpu = f"{entry.cpu_ms:g}" if entry.cpu_ms is not None else "-"
        rows.append(ZooRow(name, task, size, ap, cpu, state, pin, entry.description))
    return rows


def format_zoo_list(entries: Mapping[str, ZooEntry] | None = None, cache: Path | None = None) -> str:
    """The whole ``flowpose zoo list`` output: header, one row per model, legend and where things are."""
    entries = zoo_entries() if entries is None else entries
    cache = cache_dir() if cache is None else cache
    rows = zoo_rows(entries, cache)
    table = [HEADER, *((r.name, r.task, r.input, r.ap, r.cpu_ms, r.state, r.pin, r.description) for r in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER) - 1)]  # the last column is not padded
    lines = ["  ".join([*(row[i].ljust(w) for i, w in enumerate(widths)), row[-1]]).rstrip() for row in table]
    return "\n".join(
        [
            *lines,
            "",
            LEGEND.format(pins=cache / PINS_FILE),
            f"cache: {cache}",
            "Models download on first use (flowpose run / validate, or the Python API); ahead of time: "
            "flowpose zoo download NAME. In a graph: model: zoo:NAME",
        ]
    )
