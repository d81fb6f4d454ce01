"""Float16 weight storage: half the file, float32 compute, the same outputs to float16's precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from flowpose.trainer.export.weights import store_weights  # noqa: E402


def _conv_model(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """Outputs ``y = conv(x, weight, bias)`` and ``z = x + offset``, an offset beyond float16's range."""
    offset = np.full((1, weight.shape[1], 1, 1), 1e6, np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1]),
            helper.make_node("Add", ["x", "offset"], ["z"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[1], 16, 16])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[0], 16, 16]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, weight.shape[1], 16, 16]),
        ],
        [numpy_helper.from_array(a, n) for a, n in ((weight, "w"), (bias, "b"), (offset, "offset"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10  # what torch's exporter writes for opset 18; onnxruntime may not read newer
    onnx.save(model, str(path))


def _run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def test_weights_are_stored_as_float16_and_computed_in_float32(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.1, (64, 32, 3, 3)).astype(np.float32)
    bias = rng.normal(0, 0.1, 64).astype(np.float32)
    path = tmp_path / "m.onnx"
    _conv_model(path, weight, bias)
    x = rng.normal(size=(1, 32, 16, 16)).astype(np.float32)
    before = _run(path, x)

    report = store_weights(path, "float16")

    assert (report.converted, report.kept) == (2, 1)  # the 1e6 offset stays float32
    assert report.bytes_after < 0.55 * report.bytes_before
    model = onnx.load(str(path))
    dtypes = {i.name: i.data_type for i in model.graph.initializer}
    assert dtypes == {"w.float16": TensorProto.FLOAT16, "b.float16": TensorProto.FLOAT16, "offset": TensorProto.FLOAT}
    assert [n.op_type for n in model.graph.node] == ["Cast", "Cast", "Conv", "Add"]
    (got, got_z), (expected, expected_z) = _run(path, x), before
    assert got.dtype == np.float32
    # float16 keeps 11 significant bits: each weight moves by <= 2**-11 of itself.
    assert np.abs(got - expected).max() <= 2e-3 * np.abs(expected).max()
    assert not np.array_equal(got, expected)  # the weights really changed precision
    np.testing.assert_array_equal(got_z, expected_z)  # the float32 offset is untouched


def test_int8_conv_weights_have_one_scale_per_output_channel(tmp_path: Path) -> None:
    from flowpose.models.session import WEIGHTS_KEY, create_session

    rng = np.random.default_rng(1)
    # Channels of very different magnitude: one scale per channel keeps the small ones precise.
    weight = (rng.normal(0, 1, (64, 32, 3, 3)) * np.geomspace(1e-3, 1.0, 64)[:, None, None, None]).astype(np.float32)
    bias = rng.normal(0, 0.1, 64).astype(np.float32)
    path = tmp_path / "m.onnx"
    _conv_model(path, weight, bias)
    x = rng.normal(size=(1, 32, 16, 16)).astype(np.float32)
    expected = _run(path, x)[0]

    report = store_weights(path, "int8")

    model = onnx.load(str(path))
    dtypes = {i.name: i.data_type for i in model.graph.initializer}
    assert dtypes == {
        "w.int8": TensorProto.INT8,
        "w.scale": TensorProto.FLOAT,
        "b.float16": TensorProto.FLOAT16,  # not a Conv weight: float16
        "offset": TensorProto.FLOAT,
    }
    assert [n.op_type for n in model.graph.node] == ["DequantizeLinear", "Cast", "Conv", "Add"]
    assert {p.key: p.value for p in model.metadata_props}[WEIGHTS_KEY] == "int8"
    assert report.bytes_after < 0.35 * report.bytes_before
    scale = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "w.scale"))
    np.testing.assert_allclose(scale, np.abs(weight.reshape(64, -1)).max(1) / 127, rtol=1e-6)
    got = create_session(path).run(None, {"x": x})[0]  # opened with QDQ handling off
    for c in (0, 63):  # the smallest and the largest channel, each within its own int8 step
        err = np.abs(got[0, c] - expected[0, c]).max()
        assert err <= 0.02 * np.abs(expected[0, c] - bias[c]).max() + 1e-3
    with pytest.raises(ValueError, match="float16 or int8, not 'int4'"):
        store_weights(path, "int4")
