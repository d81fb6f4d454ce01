"""``import flowpose`` stays light: the API (nodes, ONNX Runtime) loads on first use of ``flowpose.Pose``."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_import_flowpose_loads_neither_the_api_nor_onnxruntime():
    probe = textwrap.dedent("""\
        import sys
        import flowpose
        heavy = lambda: sorted(m for m in sys.modules if m.split(".")[0] in ("onnxruntime", "torch")
                               or m.startswith(("flowpose.api", "flowpose.nodes")))
        print("BEFORE", heavy())
        from flowpose import Pose, PoseResult
        assert Pose.__module__ == "flowpose.api.pose" and PoseResult.__module__ == "flowpose.api.result"
        print("AFTER", "onnxruntime" in sys.modules, "torch" in sys.modules)
        try:
            flowpose.NoSuchThing
        except AttributeError as exc:
            print("MISSING", exc)
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "BEFORE []" in res.stdout
    assert "AFTER True False" in res.stdout  # the API needs ONNX Runtime, never torch
    assert "MISSING module 'flowpose' has no attribute 'NoSuchThing'" in res.stdout
