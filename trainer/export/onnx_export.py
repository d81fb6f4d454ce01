"""Export a pose model to ONNX with its model card; check ONNX Runtime against PyTorch.

The file has a dynamic batch axis (the pose node runs all crops of a frame as one batch)
and the card the node reads to preprocess (size, mean/std, colour order) and decode (codec).
"""

from __future__ import annotations

import contextlib
import io
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


class ExportCheckError(RuntimeError):
    """ONNX Runtime's outputs differ from PyTorch's by more than the bound."""


@dataclass(frozen=True)
class ExportOptions:
    """What one export call may override over the config's ``export`` section.

    Attributes:
        card: Model card fields to replace (``name``, ``description``, ...).
        opset: ONNX opset.
        bound: Largest |ONNX Runtime - PyTorch| accepted.
    """

    card: dict[str, Any]
    opset: int
    bound: float

    @classmethod
    def resolve(cls, options: Mapping[str, Any], section: Mapping[str, Any], default_bound: float) -> ExportOptions:
        """``options`` (from ``flowpose export`` or a caller) over ``section``, over the defaults.

        Raises:
            ValueError: An option other than ``card``, ``opset`` and ``bound``.
        """
        check_keys(options, ("card", "opset", "bound"), "the export options")
        return cls(
            card=dict(options.get("card") or {}),
            opset=int(options.get("opset", section.get("opset", 18))),
            bound=float(options.get("bound", section.get("bound", default_bound))),
        )


@dataclass(frozen=True)
class ExportReport:
    """What an export produced.

    Attributes:
        path: The ONNX file.
        max_abs_diff: Largest |ONNX Runtime - PyTorch| over all outputs and checked batch sizes.
        batch_sizes: The batch sizes checked.
        size_bytes: File size.
    """

    path: Path
    max_abs_diff: float
    batch_sizes: tuple[int, ...]
    size_bytes: int


def export_onnx(
    model: nn.Module,
    path: str | Path,
    card: ModelCard,
    output_names: tuple[str, ...],
    *,
    opset: int = 18,
    bound: float = 1e-3,
    batch_sizes: tuple[int, ...] = (1, 3),
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

    Raises:
        ExportCheckError: When the outputs differ by more than ``bound`` (the file is removed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    w, h = card.input_size
    example = torch.randn(1, 3, h, w)
    batch = torch.export.Dim("batch", min=1, max=4096)
    # The exporter narrates each step on stdout; the CLI prints its own summary instead.
    with contextlib.redirect_stdout(io.StringIO()):
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
    write_card(path, card)
    try:
        diff = verify_export(model, path, (w, h), bound, batch_sizes)
    except ExportCheckError:
        path.unlink(missing_ok=True)  # never leave a model behind that failed its check
        raise
    log.info("exported %s (max |ORT - torch| = %.3g)", path, diff)
    return ExportReport(path, diff, tuple(batch_sizes), path.stat().st_size)


def verify_export(
    model: nn.Module, path: Path, input_size: tuple[int, int], bound: float, batch_sizes: tuple[int, ...] = (1, 3)
) -> float:
    """:func:`check_onnx_against_torch`, raising :class:`ExportCheckError` over ``bound``."""
    diff = check_onnx_against_torch(model, path, input_size, batch_sizes)
    if diff > bound:
        raise ExportCheckError(f"{path}: ONNX Runtime differs from PyTorch by {diff:.3g} (bound {bound:g})")
    return diff


def check_onnx_against_torch(
    model: nn.Module, path: Path, input_size: tuple[int, int], batch_sizes: tuple[int, ...] = (1, 3), seed: int = 0
) -> float:
    """Max |ONNX Runtime - PyTorch| over all outputs for random inputs of each batch size."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
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
    return worst
