"""Frames carry run-time keypoint layouts (a model's own, from its card) to nodes in other processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import msgpack
import numpy as np
import pytest

from flowpose.frame import Frame, Instance
from flowpose.meta import layout_from_dict, register_layout
from flowpose.transport import wire
from flowpose.transport.wire_errors import WireError

LAYOUT = {
    "name": "wire_test_mice",
    "keypoints": [{"name": n, "color": [0, 0, 255], "sigma": 0.05, "weight": 1.0} for n in ("nose", "l", "r")],
    "flip_pairs": [["l", "r"]],
    "skeleton": [{"link": ["nose", "l"], "color": [0, 255, 0]}],
}


def _frame(layout: str) -> Frame:
    inst = Instance(bbox=np.array([0, 0, 4, 4]), label="mouse", keypoints=np.zeros((3, 2)), layout=layout)
    return Frame(frame_id=1, capture_ns=0, source="cam", image=np.zeros((4, 4, 3), np.uint8), instances=(inst,))


def test_run_time_layouts_travel_and_built_ins_do_not() -> None:
    register_layout(layout_from_dict(LAYOUT))
    header = msgpack.unpackb(bytes(wire.encode(_frame("wire_test_mice"))[0]))
    assert header["layouts"]["wire_test_mice"]["keypoints"][1]["name"] == "l"
    assert "layouts" not in msgpack.unpackb(bytes(wire.encode(_frame("coco17"))[0]))
    # Another process, which never opened the model, learns the layout from the frame.
    parts = [bytes(p) for p in wire.encode(_frame("wire_test_mice"))]
    probe = textwrap.dedent(f"""\
        from flowpose.meta import load_layout
        from flowpose.transport import wire
        wire.decode({parts!r})
        print(load_layout("wire_test_mice").keypoint_names)
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "('nose', 'l', 'r')"


def test_a_malformed_layout_is_a_wire_error() -> None:
    header = msgpack.unpackb(bytes(wire.encode(_frame(""), include_image=False)[0]))
    header["layouts"] = {"bad": {"name": "bad", "keypoints": "nope"}}
    with pytest.raises(WireError, match="layout 'bad'"):
        wire.decode([msgpack.packb(header)])
    header["layouts"] = {"other": LAYOUT}
    with pytest.raises(WireError, match="sent as 'other' is named 'wire_test_mice'"):
        wire.decode([msgpack.packb(header)])
