"""Exports drop the exporter's per-node debugging metadata (stack traces with local paths)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from flowpose.trainer.export.tidy import strip_node_metadata


def _node(op: str, inputs: list[str], outputs: list[str], **attrs) -> onnx.NodeProto:
    node = helper.make_node(op, inputs, outputs, doc_string=f"made by {op}", **attrs)
    node.metadata_props.add(key="pkg.torch.onnx.stack_trace", value='File "/home/builder/model.py", line 1')
    return node


def _model_with_a_subgraph() -> onnx.ModelProto:
    """y = x + 1 if cond else x - 1: metadata on the top-level node and inside both branches."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    branch = {
        name: helper.make_graph([_node(op, ["x", "one"], [f"y_{name}"])], name, [], [
            helper.make_tensor_value_info(f"y_{name}", TensorProto.FLOAT, [2])
        ])
        for name, op in (("then", "Add"), ("else", "Sub"))
    }  # fmt: skip
    graph = helper.make_graph(
        [_node("If", ["cond"], ["y"], then_branch=branch["then"], else_branch=branch["else"])],
        "g",
        [
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    model.metadata_props.add(key="flowpose_card", value="{}")
    return model


def test_node_metadata_goes_everywhere_and_the_model_still_runs(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(_model_with_a_subgraph(), str(path))
    assert b"/home/builder" in path.read_bytes()

    report = strip_node_metadata(path)

    assert report.nodes == 3  # the If and one node in each branch
    assert report.bytes_after < report.bytes_before
    data = path.read_bytes()
    assert b"/home/builder" not in data and b"made by" not in data
    model = onnx.load(str(path))
    assert [(p.key, p.value) for p in model.metadata_props] == [("flowpose_card", "{}")]  # the card stays
    onnx.checker.check_model(model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.array([1.0, 2.0], np.float32)
    for cond, want in ((True, x + 1), (False, x - 1)):
        np.testing.assert_array_equal(session.run(["y"], {"cond": np.array(cond), "x": x})[0], want)
    assert strip_node_metadata(path).nodes == 0  # nothing left the second time
