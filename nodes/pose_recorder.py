"""The PoseRecorder node: one JSON line per frame, and a COCO results file at the end.

The JSON-lines file is written as frames arrive, one ``write()`` per line with no buffering
in between, so it can be followed live (``tail -f``) and every line in it is complete even
if the process is killed. At ``close()`` it is converted into a COCO *results* file (the
format ``pycocotools``' ``loadRes`` reads), written under a temporary name and renamed; the
conversion streams the lines back, so a long recording costs no memory while it runs.
:func:`jsonl_to_coco` does the same conversion offline, e.g. after a hard kill.

Streams: every JSON line and every COCO result names its stream (``stream``: the frame's
``Frame.source``), so one file holds a graph of many cameras and each stream's records can be
told apart (``image_id`` is the frame id, unique only within a stream).

Category ids: COCO's own ids for the COCO classes a detector emits (person 1, bird 16,
cat 17, dog 18, horse 19, sheep 20, cow 21, elephant 22, bear 23, zebra 24, giraffe 25),
overridable and extendable with the ``categories`` param; any other label gets 1000, 1001,
... in order of first appearance (logged), so ids are stable for a given recording.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from flowpose.frame import Frame, Instance
from flowpose.meta import load_layout
from flowpose.node import Node, NodeParams
from flowpose.nodes.output_paths import ensure_output_folder, output_path_problem

log = logging.getLogger(__name__)

COCO_CATEGORY_IDS: dict[str, int] = {
    "person": 1,
    "bird": 16,
    "cat": 17,
    "dog": 18,
    "horse": 19,
    "sheep": 20,
    "cow": 21,
    "elephant": 22,
    "bear": 23,
    "zebra": 24,
    "giraffe": 25,
}
FIRST_EXTRA_CATEGORY_ID = 1000


def _rounded(values: np.ndarray, ndigits: int) -> list[Any]:
    """Nested lists of Python floats rounded to ``ndigits``; NaN/inf become None (JSON has neither)."""
    out = np.round(values.astype(np.float64), ndigits).tolist()
    if np.isfinite(values).all():
        return out
    flat = values.ndim == 1
    rows = [out] if flat else out
    cleaned = [[v if math.isfinite(v) else None for v in row] for row in rows]
    return cleaned[0] if flat else cleaned


def instance_record(inst: Instance) -> dict[str, Any]:
    """An instance as plain JSON data (pixels to 0.01, scores to 1e-4)."""
    has_kpts = inst.keypoints is not None and inst.keypoint_scores is not None
    return {
        "bbox": _rounded(inst.bbox, 2),
        "score": round(float(inst.score), 4),
        "label": inst.label,
        "track_id": int(inst.track_id),
        "keypoints": _rounded(inst.keypoints, 2) if has_kpts else None,  # type: ignore[arg-type]
        "keypoint_scores": _rounded(inst.keypoint_scores, 4) if has_kpts else None,  # type: ignore[arg-type]
        "layout": inst.layout,
    }


def frame_record(frame: Frame) -> dict[str, Any]:
    """A frame's results as one JSON-lines record.

    ``stream`` is the stream id (``Frame.source``); ``source`` holds the same for the readers
    written before streams had their own name.
    """
    return {
        "frame_id": int(frame.frame_id),
        "stream": frame.source,
        "source": frame.source,
        "capture_ns": int(frame.capture_ns),
        "width": frame.width,
        "height": frame.height,
        "instances": [instance_record(inst) for inst in frame.instances],
    }


def coco_result(record: Mapping[str, Any], inst: Mapping[str, Any], category_id: int) -> dict[str, Any]:
    """One COCO result: image_id is the frame id, bbox is xywh, keypoints are [x, y, score] * K.

    ``stream`` is added when the record names one (``stream``, or ``source`` in recordings
    made before streams had their own field): COCO tools ignore the extra key.
    """
    x1, y1, x2, y2 = (v or 0.0 for v in inst["bbox"])
    result: dict[str, Any] = {
        "image_id": record["frame_id"],
        "category_id": category_id,
        "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
        "score": inst["score"],
    }
    stream = record.get("stream", record.get("source"))
    if stream is not None:
        result["stream"] = stream
    if inst.get("keypoints") is not None:
        flat: list[float] = []
        for (x, y), s in zip(inst["keypoints"], inst["keypoint_scores"], strict=True):
            lost = x is None or y is None or s is None  # a NaN keypoint: COCO's "not labelled"
            flat += [0.0, 0.0, 0.0] if lost else [x, y, s]
        result["keypoints"] = flat
    return result


def jsonl_to_coco(jsonl_path: str | Path, coco_path: str | Path, categories: Mapping[str, int] | None = None) -> int:
    """Convert a PoseRecorder JSON-lines file into a COCO results JSON (a list of results).

    Args:
        jsonl_path: The recording.
        coco_path: Where to write; written under a temporary name, then renamed.
        categories: Label -> category id, over :data:`COCO_CATEGORY_IDS`.

    Returns:
        The number of results written.
    """
    ids = {**COCO_CATEGORY_IDS, **(categories or {})}
    next_id = max(FIRST_EXTRA_CATEGORY_ID, max(ids.values()) + 1)
    coco_path = Path(coco_path)
    tmp = coco_path.with_name(f"{coco_path.name}.partial")
    count = 0
    with open(jsonl_path, encoding="utf-8") as lines, open(tmp, "w", encoding="utf-8") as out:
        out.write("[")
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping an incomplete line", jsonl_path, number)
                continue
            for inst in record["instances"]:
                if inst["label"] not in ids:
                    ids[inst["label"]], next_id = next_id, next_id + 1
                    log.info("label %r has no COCO category; using id %d", inst["label"], ids[inst["label"]])
                out.write(("," if count else "") + "\n" + json.dumps(coco_result(record, inst, ids[inst["label"]])))
                count += 1
        out.write("\n]\n")
    os.replace(tmp, coco_path)
    return count


class PoseRecorder(Node):
    """Records every frame's instances as JSON lines, and a COCO results JSON at the end."""

    class Params(NodeParams):
        path: str = Field(description="JSON-lines output file, one line per frame; its folder is created if needed.")
        coco_path: str = Field(
            "", description="COCO results file written at the end; empty = beside path, as NAME.coco.json."
        )
        coco: bool = Field(True, description="Write the COCO results file at the end.")
        categories: dict[str, int] = Field(
            default_factory=dict, description="Label -> COCO category id, over the built-in COCO ids (person = 1)."
        )

    @classmethod
    def check(cls, params: NodeParams) -> list[tuple[str, str]]:
        assert isinstance(params, cls.Params)
        fields = [("path", params.path)]
        if params.coco and params.coco_path:
            fields.append(("coco_path", params.coco_path))
        return [(name, problem) for name, value in fields if (problem := output_path_problem(value))]

    def setup(self) -> None:
        self.path = Path(self.params.path).expanduser()
        self.coco_path = Path(self.params.coco_path).expanduser() if self.params.coco_path else self._default_coco()
        ensure_output_folder(self.path)
        if self.params.coco:  # made now: a folder that cannot be made should fail now, not at the end
            ensure_output_folder(self.coco_path)
        # Unbuffered: each line goes to the OS in one write() as soon as it is made.
        self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 (closed in close())
        self.frames_written = 0
        self._layouts_named: set[str] = set()  # layouts whose keypoint names are in the file already

    def _default_coco(self) -> Path:
        stem = self.path.name[: -len(self.path.suffix)] if self.path.suffix else self.path.name
        return self.path.with_name(f"{stem}.coco.json")

    def process(self, frame: Frame) -> None:
        record = frame_record(frame)
        names = self._new_keypoint_names(frame)
        if names:
            record["keypoint_names"] = names
        data = memoryview((json.dumps(record, allow_nan=False) + "\n").encode())
        while data:  # a raw write may take fewer bytes than offered
            data = data[self._file.write(data) :]
        self.frames_written += 1
        return None

    def _new_keypoint_names(self, frame: Frame) -> dict[str, list[str]]:
        """Layout name -> keypoint names, for the layouts this recording has not named yet.

        Written once per layout, on the first line that uses it, so that the file says what
        its keypoints are even for a model's own layout (embedded in its card, no file anywhere).
        """
        seen = self._layouts_named
        new: dict[str, list[str]] = {}
        for inst in frame.instances:
            name = inst.layout
            if not name or name in seen or inst.keypoints is None:
                continue
            seen.add(name)
            try:
                layout = load_layout(name)
            except (ValueError, FileNotFoundError) as exc:  # e.g. a custom layout known in another process only
                self.log.warning("keypoint layout %r: names not recorded (%s)", name, exc)
                continue
            if layout.num_keypoints == inst.num_keypoints:
                new[name] = list(layout.keypoint_names)
        return new

    def close(self) -> None:
        file = getattr(self, "_file", None)
        if file is None:
            return
        file.close()
        self._file = None
        self.log.info("wrote %d frames to %s", self.frames_written, self.path)
        if self.params.coco:
            count = jsonl_to_coco(self.path, self.coco_path, self.params.categories)
            self.log.info("wrote %d COCO results to %s", count, self.coco_path)
