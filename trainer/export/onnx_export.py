"""Export a pose model to ONNX with its model card; check ONNX Runtime against PyTorch.

The file has a dynamic batch axis (the pose node runs all crops of a frame as one batch)
and the card the node reads to preprocess (size, mean/std, colour order) and decode (codec).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flowpose.models import ModelCard, write_card
from flowpose.trainer.engine.config import check_keys
from flowpose.trainer.export.tidy import quiet_exporter, strip_node_metadata
from flowpose.trainer.export.weights import WEIGHT_DTYPES, store_weights

__all__ = [
    "ExportCheckError",
    "ExportOptions",
    "ExportReport",
    "check_onnx_against_torch",
    "export_onnx",
    "verify_export",
]

log = logging.getLogger(__name__)

INPUT_NAME = "input"
# With float16 / int8 weights the check allows this share of the outputs' largest magnitude on
# top of the bound: 11-bit weights move outputs by about 1e-3 of their scale, 8-bit ones
# (per channel) by about 1e-2.
RELATIVE_BOUND = {"float32": 0.0, "float16": 1e-2, "int8": 5e-2}
# Export settings that shape the file, not its card (every other ``export:`` key is a card field).
FILE_OPTIONS = ("opset", "bound", "weights")


class ExportCheckError(RuntimeError):
    """ONNX Runtime's outputs differ from PyTorch's by more than the bound."""


@dataclass(frozen=True)
class ExportOptions:
    """What one export call may override over the config's ``export`` section.

    Attributes:
        card: Model card fields to replace (``name``, ``description``, ...).
        opset: ONNX opset.
        bound: Largest |ONNX Runtime - PyTorch| accepted.
        weights: How the file stores the weights: ``float32``, ``float16`` (half the size) or
            ``int8`` (about a quarter), all computed in float32 (:mod:`flowpose.trainer.export.weights`).
    """

    card: dict[str, Any]
    opset: int
    bound: float
    weights: str = "float32"

    @classmethod
    def resolve(cls, options: Mapping[str, Any], section: Mapping[str, Any], default_bound: float) -> ExportOptions:
        """``options`` (from ``flowpose export`` or a caller) over ``section``, over the defaults.

        Raises:
            ValueError: An option other than ``card``, ``opset``, ``bound`` and ``weights``, or
                ``weights`` other than float32/float16/int8.
        """
        check_keys(options, ("card", *FILE_OPTIONS), "the export options")
        weights = str(options.get("weights", section.get("weights", "float32")))
        if weights not in WEIGHT_DTYPES:
            raise ValueError(f"export weights must be one of {list(WEIGHT_DTYPES)}, got {weights!r}")
        return cls(
            card=dict(options.get("card") or {}),
            opset=int(options.get("opset", section.get("opset", 18))),
            bound=float(options.get("bound", section.get("bound", default_bound))),
            weights=weights,
        )


@dataclass(frozen=True)
class ExportReport:
    """What an export produced.

    Attributes:
        path: The ONNX file.
        max_abs_diff: Largest |ONNX Runtime - PyTorch| over all outputs and checked batch sizes.
        batch_sizes: The batch sizes checked.
        size_bytes: File size.
        weights: ``float32``, ``float16`` or ``int8``.
        float32_max_abs_diff: The difference before the weights were converted (the same as
            ``max_abs_diff`` for float32 files).
    """

    path: Path
    max_abs_diff: float
    batch_sizes: tuple[int, ...]
    size_bytes: int
    weights: str = "float32"
    float32_max_abs_diff: float = 0.0


def export_onnx(
    model: nn.Module,
    path: str | Path,
    card: ModelCard,
    output_names: tuple[str, ...],
    *,
    opset: int = 18,
    bound: float = 1e-3,
    batch_sizes: tuple[int, ...] = (1, 3),
    weights: str = "float32",
) -> ExportReport:
    """Write ``model`` to ``path`` with ``card`` embedded, then check it with ONNX Runtime.

    Args:
        model: Takes a normalised float (B, 3, h, w) image and returns a tuple of outputs.
        path: Where to write the ``.onnx`` file.
        card: The model card (its ``input_size`` fixes h and w).
        output_names: Names of the model outputs, in order (the card's decoder order).
        opset: ONNX opset (18: what torch's exporter emits natively; ONNX Runtime >= 1.14 runs it).
        bound: Largest accepted |ORT - PyTorch| difference.
        batch_sizes: Batch sizes run through both to check (several: the batch axis is dynamic).
        weights: ``float32``, or ``float16`` / ``int8`` to store the weights at half / about a
            quarter of the size; the file is then checked a second time, against ``bound`` plus
            :data:`RELATIVE_BOUND` of the outputs' scale.

    Raises:
        ExportCheckError: When the outputs differ by more than ``bound`` (the file is removed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    w, h = card.input_size
    example = torch.randn(1, 3, h, w)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with quiet_exporter():
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(output_names),
            opset_version=opset,
            dynamo=True,
            external_data=False,  # one self-contained file: the zoo and the nodes expect that
            dynamic_shapes=({0: batch},),
        )
    strip_node_metadata(path)  # the exporter's stack traces name this machine's paths (tidy.py)
    write_card(path, card)
    try:
        diff = float32_diff = verify_export(model, path, (w, h), bound, batch_sizes)
        if weights != "float32":
            store_weights(path, weights)
            diff = verify_export(model, path, (w, h), bound, batch_sizes, relative=RELATIVE_BOUND[weights])
    except ExportCheckError:
        path.unlink(missing_ok=True)  # never leave a model behind that failed its check
        raise
    log.info("exported %s (%s weights, max |ORT - torch| = %.3g)", path, weights, diff)
    return ExportReport(path, diff, tuple(batch_sizes), path.stat().st_size, weights, float32_diff)


def verify_export(
    model: nn.Module,
    path: Path,
    input_size: tuple[int, int],
    bound: float,
    batch_sizes: tuple[int, ...] = (1, 3),
    relative: float = 0.0,
) -> float:
    """:func:`check_onnx_against_torch`, raising :class:`ExportCheckError` over the bound.

    The bound is ``bound + relative * max|PyTorch output|``; returns the difference.
    """
    diff, scale = check_onnx_against_torch(model, path, input_size, batch_sizes)
    allowed = bound + relative * scale
    if diff > allowed:
        raise ExportCheckError(f"{path}: ONNX Runtime differs from PyTorch by {diff:.3g} (bound {allowed:.3g})")
    return diff


def check_onnx_against_torch(
    model: nn.Module, path: Path, input_size: tuple[int, int], batch_sizes: tuple[int, ...] = (1, 3), seed: int = 0
) -> tuple[float, float]:
    """Max |ONNX Runtime - PyTorch| and max |PyTorch| over all outputs, random inputs of each batch size."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = scale = 0.0
    w, h = input_size
    for b in batch_sizes:
        x = torch.randn(b, 3, h, w, generator=gen)
        with torch.no_grad():
            ref = [t.numpy() for t in model(x)]
        got = session.run(None, {INPUT_NAME: x.numpy()})
        if len(got) != len(ref):
            raise ExportCheckError(f"{path}: ONNX model has {len(got)} outputs, PyTorch {len(ref)}")
        for r, g in zip(ref, got, strict=True):
            if r.shape != g.shape:
                raise ExportCheckError(f"{path}: output shape {g.shape} differs from PyTorch {r.shape} (batch {b})")
            worst = max(worst, float(np.abs(r - g).max()))
            scale = max(scale, float(np.abs(r).max()))
    return worst, scale
