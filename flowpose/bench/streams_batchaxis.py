"""A copy of a detector with its batch axis free, to see what batching the detector would gain.

Detectors exported with a batch of 1 (YOLOX-nano's release file, flowpose's own
``flowpose-det-synthetic``) pin it twice: in the input's shape and in Reshape targets that
start with 1. Freeing both (the shapes' first dimension named, a leading 1 of a Reshape target
made -1) lets one ``session.run`` take many images. The copy is only used when one batch of
random images gives what the original gives image by image; otherwise it is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

__all__ = ["free_batch_axis"]

log = logging.getLogger(__name__)

#: Largest difference allowed between the batched copy and the original, per output value.
TOLERANCE = 1e-4


def _free_reshapes(graph: object) -> int:
    """Make a leading 1 of every constant Reshape target -1 (or 0 where -1 is taken); how many."""
    from onnx import numpy_helper

    tensors = {t.name: t for t in graph.initializer}  # type: ignore[attr-defined]
    for node in graph.node:  # type: ignore[attr-defined]
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    tensors[node.output[0]] = attr.t
    changed = 0
    for node in graph.node:  # type: ignore[attr-defined]
        if node.op_type != "Reshape" or node.input[1] not in tensors:
            continue
        tensor = tensors[node.input[1]]
        shape = numpy_helper.to_array(tensor).copy()
        if shape.ndim != 1 or not shape.size or shape[0] != 1:
            continue
        shape[0] = -1 if -1 not in shape else 0  # 0 copies the input's first dimension
        tensor.CopyFrom(numpy_helper.from_array(shape, tensor.name))
        changed += 1
    return changed


def free_batch_axis(src: str | Path, dst: str | Path, check_batch: int = 3) -> int:
    """Write ``src`` to ``dst`` with a free batch axis; returns the Reshapes changed.

    Raises:
        ValueError: When the copy does not run a batch, or its batch differs from the original
            run image by image (the model pins its batch in some other way).
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(src))
    graph = model.graph
    changed = _free_reshapes(graph)
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].dim_param = "batch"
    del graph.value_info[:]  # inferred shapes still say 1
    onnx.save(model, str(dst))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    original = ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
    freed = ort.InferenceSession(str(dst), options, providers=["CPUExecutionProvider"])
    spec = original.get_inputs()[0]
    if not all(isinstance(d, int) for d in spec.shape[1:]):
        raise ValueError(f"{src}: input {spec.name} has free dimensions besides the batch: {spec.shape}")
    images = np.random.default_rng(0).random((check_batch, *spec.shape[1:]), dtype=np.float32)
    try:
        batched = freed.run(None, {spec.name: images})
    except Exception as exc:  # onnxruntime raises its own Fail/RuntimeException types
        raise ValueError(f"{src}: a copy with a free batch axis does not run a batch: {exc}") from None
    one_by_one = [original.run(None, {spec.name: images[i : i + 1]}) for i in range(check_batch)]
    for k, out in enumerate(batched):
        expected = np.concatenate([o[k] for o in one_by_one])
        if out.shape != expected.shape or float(np.abs(out - expected).max()) > TOLERANCE:
            raise ValueError(f"{src}: output {k} of a batch differs from the image-by-image runs")
    log.info("%s: batch axis freed (%d Reshapes), checked on %d images", Path(src).name, changed, check_batch)
    return changed
