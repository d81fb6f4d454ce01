"""Store an ONNX model's float32 weights as float16, computing in float32 as before.

Each large float32 initializer becomes a float16 one followed by a ``Cast`` back to float32
under the original name, so every operator still sees float32 inputs and the graph runs on
any execution provider unchanged. ONNX Runtime folds the casts when it opens the session:
inference is exactly as fast as with the float32 file, which is half as large. Rounding the
weights to float16 (11 significant bits) moves the shipped pose models' heatmaps by < 1e-3
and left their validation PCK unchanged to the fourth digit (docs/training.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

WEIGHT_DTYPES = ("float32", "float16")
MIN_ELEMENTS = 16  # smaller tensors (scalars, epsilons) gain nothing and stay float32
FLOAT16_MAX = 65504.0


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`store_float16_weights` changed.

    Attributes:
        converted: Initializers now stored as float16.
        kept: Float32 initializers left alone (small, or out of float16's range).
        bytes_before: File size before.
        bytes_after: File size after.
    """

    converted: int
    kept: int
    bytes_before: int
    bytes_after: int


def store_float16_weights(path: str | Path) -> WeightsReport:
    """Rewrite the ONNX file at ``path`` with float16 weights and casts (see module docs).

    Args:
        path: A self-contained ONNX file (no external data); rewritten in place.

    Returns:
        What was converted and the sizes before and after.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = Path(path)
    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    inputs = {i.name for i in graph.input}  # an initializer that is also an input may be fed: keep it
    initializers, casts, kept = [], [], 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            initializers.append(init)
            continue
        values = numpy_helper.to_array(init)
        if values.size < MIN_ELEMENTS or not np.all(np.abs(values) <= FLOAT16_MAX):
            initializers.append(init)
            kept += 1
            continue
        half = numpy_helper.from_array(values.astype(np.float16), f"{init.name}.float16")
        initializers.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}.cast"))
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)  # casts first: the graph stays topologically sorted
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    report = WeightsReport(len(casts), kept, before, path.stat().st_size)
    log.info(
        "%s: %d weight tensors stored as float16 (%d kept float32), %.2f -> %.2f MB",
        path.name,
        report.converted,
        report.kept,
        before / 1e6,
        report.bytes_after / 1e6,
    )
    return report
