"""Export the detector to ONNX in YOLOX's raw format, embed its card, check ONNX Runtime against torch."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowpose.models.card import ModelCard
from flowpose.models.metadata import write_card
from flowpose.trainer.detection.model import ExportModel, TinyYolox
from flowpose.trainer.export.onnx_export import RELATIVE_BOUND
from flowpose.trainer.export.tidy import quiet_exporter, strip_node_metadata
from flowpose.trainer.export.weights import store_weights

__all__ = ["MAX_ABS_DIFF", "detection_card", "export_detector"]

log = logging.getLogger(__name__)

# Raw box offsets are O(1-5) and scores in [0, 1]: float32 reorderings stay far below this.
MAX_ABS_DIFF = 1e-3
INPUT_NAME, OUTPUT_NAME = "images", "output"


def detection_card(
    classes: tuple[str, ...],
    input_size: tuple[int, int],
    strides: tuple[int, ...],
    name: str = "",
    description: str = "",
) -> ModelCard:
    """The card of a flowpose detector: YOLOX raw decoder, BGR 0..255 letterboxed top-left, pad 114."""
    return ModelCard(
        task="detection",
        input_size=input_size,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),  # the network divides by 255 itself
        color_order="bgr",
        input_name=INPUT_NAME,
        output_names=(OUTPUT_NAME,),
        preprocess="letterbox",
        pad_value=114.0,
        pad_align="top_left",
        classes=tuple(classes),
        decoder="yolox",
        decoder_params={"strides": list(strides)},
        name=name,
        description=description,
    )


def export_detector(
    model: TinyYolox,
    path: str | os.PathLike[str],
    card: ModelCard,
    sample: torch.Tensor | None = None,
    opset: int = 18,
    bound: float = MAX_ABS_DIFF,
    weights: str = "float32",
) -> dict[str, Any]:
    """Write ``model`` to ``path`` (ONNX, one file, card embedded) and check it with ONNX Runtime.

    Args:
        model: The detector (any device/mode; exported in eval mode on CPU).
        path: The ``.onnx`` file to write.
        card: Its detection card (from :func:`detection_card`).
        sample: A (1, 3, H, W) input to compare on; None: a random image.
        opset: ONNX opset.
        bound: Largest accepted |ONNX Runtime - PyTorch|.
        weights: ``float32``, or ``float16`` (half the file; checked again against ``bound`` plus
            ``RELATIVE_BOUND[weights]`` of the output's scale); ``int8`` for about a quarter.

    Returns:
        ``path``, ``max_abs_diff`` (ORT vs torch), ``size_bytes``, ``params``, ``output_shape``.

    Raises:
        RuntimeError: When ONNX Runtime's output differs from torch's by more than ``bound``.
    """
    import onnxruntime as ort

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = card.input_size
    if sample is None:
        sample = torch.from_numpy(np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32))
    wrapper = ExportModel(model).cpu().eval()
    with torch.no_grad():
        expected = wrapper(sample).numpy()
    tmp = path.with_name(f".{path.name}.export")
    with quiet_exporter():
        torch.onnx.export(
            wrapper,
            # Two images: an example batch of 1 would be specialised to a fixed 1 by torch.export.
            (sample.expand(2, -1, -1, -1).contiguous(),),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamo=True,
            external_data=False,  # one self-contained file, as the zoo and the node expect
            # A free batch axis: a Detector serving several cameras runs their images in one call.
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
        )
    try:
        strip_node_metadata(tmp)
        write_card(tmp, card, path)
    finally:
        tmp.unlink(missing_ok=True)

    def check(allowed: float) -> float:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run([OUTPUT_NAME], {INPUT_NAME: sample.numpy()})[0]
        diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
        if not diff <= allowed:
            path.unlink(missing_ok=True)  # never leave a model behind that failed its check
            raise RuntimeError(
                f"{path}: ONNX Runtime output {got.shape} differs from PyTorch {expected.shape} by {diff:.3g} "
                f"(bound {allowed:.3g})"
            )
        return diff

    diff = float32_diff = check(bound)
    if weights != "float32":
        store_weights(path, weights)
        diff = check(bound + RELATIVE_BOUND[weights] * float(np.abs(expected).max()))
    log.info("exported %s (%s weights): ONNX Runtime vs PyTorch max abs diff %.3g", path, weights, diff)
    return {
        "path": str(path),
        "max_abs_diff": diff,
        "float32_max_abs_diff": float32_diff,
        "weights": weights,
        "size_bytes": path.stat().st_size,
        "params": sum(p.numel() for p in model.parameters()),
        "output_shape": list(expected.shape),
    }
