"""Tests for flowpose.models.session: providers, thread settings, fallbacks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from flowpose.models import create_session
from flowpose.models import session as session_mod
from flowpose.models.session import provider_list

onnx = pytest.importorskip("onnx")


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """y = x + 1 on a 1x3x4x4 float input."""
    from onnx import TensorProto, helper, numpy_helper

    one = numpy_helper.from_array(np.ones((1,), np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
        initializer=[one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    return path


def test_session_runs_with_explicit_threads_and_no_spinning(tiny_model):
    session = create_session(tiny_model, providers="cpu", intra_op_threads=1)
    (y,) = session.run(None, {"x": np.zeros((1, 3, 4, 4), np.float32)})
    np.testing.assert_array_equal(y, np.ones((1, 3, 4, 4), np.float32))
    assert session.get_providers() == ["CPUExecutionProvider"]
    opts = session.get_session_options()
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (1, 1)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


@pytest.mark.parametrize(("cores", "hint", "expected"), [(8, 1, 8), (8, 3, 2), (2, 4, 1), (1, 1, 1)])
def test_default_threads_are_a_fair_share_of_the_cores(tiny_model, monkeypatch, cores, hint, expected):
    monkeypatch.setattr(session_mod, "available_cores", lambda: cores)
    session = create_session(tiny_model, sessions_hint=hint)
    assert session.get_session_options().intra_op_num_threads == expected


def test_missing_provider_falls_back_to_cpu_with_a_log_line(tiny_model, caplog):
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    with caplog.at_level(logging.WARNING, logger="flowpose.models.session"):
        session = create_session(tiny_model, providers=["cuda", "cpu"], intra_op_threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert "'cuda' is not available in this onnxruntime" in caplog.text
    assert "falling back to CPU" in caplog.text


def test_provider_names():
    assert provider_list(None) == ["CPUExecutionProvider"]
    assert provider_list("CPU") == ["CPUExecutionProvider"]
    assert provider_list(["CPUExecutionProvider", "cpu"]) == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="unknown execution provider 'npu'; use one of"):
        provider_list("npu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"intra_op_threads": 0}, "intra_op_threads must be a positive int"),
        ({"intra_op_threads": 1.5}, "intra_op_threads must be a positive int"),
        ({"sessions_hint": 0}, "sessions_hint must be >= 1"),
    ],
)
def test_bad_arguments(tiny_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_session(tiny_model, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        create_session(tmp_path / "nope.onnx")
