"""Read and write the card embedded in an ONNX file.

Reading goes through onnxruntime, because the runtime install has no ``onnx``; writing uses the
``onnx`` package from the ``train`` extra, imported only here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flowpose.models.card import CARD_KEY, ModelCard

__all__ = ["ModelIO", "inspect_model", "read_card", "read_metadata", "write_card"]


@dataclass(frozen=True)
class ModelIO:
    """What onnxruntime reports about a model file, without running it.

    Attributes:
        metadata: The custom metadata (``metadata_props``).
        inputs: ``(name, shape)`` per input; a dynamic dimension is a string or None.
        outputs: ``(name, shape)`` per output.
    """

    metadata: dict[str, str]
    inputs: list[tuple[str, list[int | str | None]]]
    outputs: list[tuple[str, list[int | str | None]]]


def inspect_model(path: str | os.PathLike[str]) -> ModelIO:
    """Open an ONNX file with onnxruntime (CPU, unoptimised) and report its metadata and I/O.

    Raises:
        FileNotFoundError: When the file does not exist.
        ValueError: When onnxruntime cannot load it.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    opts = ort.SessionOptions()
    # Nothing will run: skip graph optimisation so that large models open quickly.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ValueError(f"{path}: onnxruntime cannot load this model: {exc}") from None
    return ModelIO(
        metadata=dict(session.get_modelmeta().custom_metadata_map),
        inputs=[(a.name, list(a.shape)) for a in session.get_inputs()],
        outputs=[(a.name, list(a.shape)) for a in session.get_outputs()],
    )


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The custom metadata of an ONNX file, read through onnxruntime (see :func:`inspect_model`)."""
    return inspect_model(path).metadata


def read_card(path: str | os.PathLike[str]) -> ModelCard | None:
    """The card embedded in an ONNX file, or None when it has none.

    Raises:
        FileNotFoundError: When the file does not exist.
        ValueError: When the file cannot be loaded or its card is invalid.
    """
    text = read_metadata(path).get(CARD_KEY)
    return None if text is None else ModelCard.from_json(text, source=f"{path} (embedded card)")


def write_card(
    onnx_path: str | os.PathLike[str], card: ModelCard, out_path: str | os.PathLike[str] | None = None
) -> Path:
    """Embed ``card`` into an ONNX file (replacing an older card); needs the ``onnx`` package.

    Args:
        onnx_path: The model to read.
        card: The card to embed.
        out_path: Where to write; None rewrites ``onnx_path`` in place (atomically).

    Returns:
        The path written.

    Raises:
        ImportError: When ``onnx`` (``pip install flowpose[train]``) is not installed.
    """
    try:
        import onnx
    except ImportError:
        msg = "writing a model card needs the 'onnx' package: pip install 'flowpose[train]'"
        raise ImportError(msg) from None
    src = Path(onnx_path)
    dst = Path(out_path) if out_path is not None else src
    model = onnx.load(str(src))
    keep = [p for p in model.metadata_props if p.key != CARD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    model.metadata_props.add(key=CARD_KEY, value=card.to_json())
    tmp = dst.with_name(f".{dst.name}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)  # readers never see a half-written model
    return dst
