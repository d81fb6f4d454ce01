"""Store an ONNX model's float32 weights as float16 or int8, computing in float32 as before.

``float16``: each large float32 initializer becomes a float16 one followed by a ``Cast`` back
to float32 under the original name, so every operator still sees float32 inputs and the graph
runs on any execution provider unchanged. ONNX Runtime folds the casts when it opens the
session: inference is as fast as with the float32 file, which is half as large. Rounding the
weights to float16 (11 significant bits) moves the shipped pose models' heatmaps by < 1e-3
and left their validation PCK unchanged to the fourth digit (docs/training.md).

``int8``: Conv weights become int8 with one float32 scale per output channel (symmetric,
``scale = max|w| / 127``) and a ``DequantizeLinear`` back to float32; the other weights go to
float16 as above. About a quarter of the float32 file. ONNX Runtime would read DequantizeLinear
-> Conv as a quantised (QDQ) pattern and run it slower, so the file is marked
(:data:`WEIGHTS_KEY`) and :func:`flowpose.models.session.create_session` then turns QDQ
handling off, which folds the dequantisation at load: compute and speed stay float32's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowpose.models.session import WEIGHTS_KEY

log = logging.getLogger(__name__)

WEIGHT_DTYPES = ("float32", "float16", "int8")
MIN_ELEMENTS = 16  # smaller tensors (scalars, epsilons) gain nothing and stay float32
FLOAT16_MAX = 65504.0


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`store_weights` changed.

    Attributes:
        converted: Initializers now stored as float16 or int8.
        kept: Float32 initializers left alone (small, or out of float16's range).
        bytes_before: File size before.
        bytes_after: File size after.
    """

    converted: int
    kept: int
    bytes_before: int
    bytes_after: int


def store_weights(path: str | Path, dtype: str) -> WeightsReport:
    """Rewrite the ONNX file at ``path`` with ``dtype`` (float16 or int8) weights (see module docs).

    Args:
        path: A self-contained ONNX file (no external data); rewritten in place.
        dtype: ``float16``, or ``int8`` (Conv weights; the rest float16).

    Returns:
        What was converted and the sizes before and after.
    """
    if dtype not in ("float16", "int8"):
        raise ValueError(f"weights can be stored as float16 or int8, not {dtype!r}")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = Path(path)
    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    inputs = {i.name for i in graph.input}  # an initializer that is also an input may be fed: keep it
    conv_weights = {n.input[1] for n in graph.node if n.op_type == "Conv"} if dtype == "int8" else set()
    # Nodes turning each stored tensor back into the float32 one the graph reads (by its name).
    initializers, restore, kept = [], [], 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            initializers.append(init)
            continue
        values = numpy_helper.to_array(init)
        if values.size < MIN_ELEMENTS or not np.all(np.abs(values) <= FLOAT16_MAX):
            initializers.append(init)
            kept += 1
            continue
        if init.name in conv_weights and values.ndim >= 2:
            initializers += _int8_per_channel(values, init.name)
            restore.append(
                helper.make_node("DequantizeLinear", [f"{init.name}.int8", f"{init.name}.scale"], [init.name], axis=0)
            )
            continue
        half = numpy_helper.from_array(values.astype(np.float16), f"{init.name}.float16")
        initializers.append(half)
        cast = helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}.cast")
        restore.append(cast)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(restore + nodes)  # first: the graph stays topologically sorted
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, WEIGHTS_KEY: dtype})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    report = WeightsReport(len(restore), kept, before, path.stat().st_size)
    log.info(
        "%s: %d weight tensors stored as %s (%d kept float32), %.2f -> %.2f MB",
        path.name,
        report.converted,
        dtype,
        report.kept,
        before / 1e6,
        report.bytes_after / 1e6,
    )
    return report


def _int8_per_channel(values: np.ndarray, name: str) -> list:
    """``values`` (output channels first) as int8 with one symmetric float32 scale per channel."""
    from onnx import numpy_helper

    peak = np.abs(values.reshape(values.shape[0], -1)).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(values / scale.reshape(-1, *[1] * (values.ndim - 1))), -127, 127).astype(np.int8)
    return [numpy_helper.from_array(q, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale")]
