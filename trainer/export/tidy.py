"""Keep torch's exporter tidy: quiet while it works, and no debugging records in its files.

The dynamo exporter annotates every node with where it came from: the Python stack trace
(with the absolute paths of the machine that exported it), the FX node, the module scopes
and class hierarchy, the rewrite rules applied. ONNX Runtime never reads any of it. In the
shipped pose models it was ~0.3 MB of each file (5 %), and it put the builder's home
directory into every model a user downloads, so exports remove it. The graph, its weights,
its shapes (``value_info``) and the model-level metadata (the card) stay as they are.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Loggers of the exporter's optimizer, which logs every pass (each deduplicated initializer) at INFO.
_CHATTY_LOGGERS = ("onnxscript", "onnx_ir")


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence ``torch.onnx.export`` for the block: its steps on stdout, its optimizer's INFO logs.

    The export commands print their own summary (size, check against PyTorch) instead.
    """
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class TidyReport:
    """What :func:`strip_node_metadata` removed.

    Attributes:
        nodes: Nodes that carried metadata or a doc string.
        bytes_before: File size before.
        bytes_after: File size after.
    """

    nodes: int
    bytes_before: int
    bytes_after: int


def strip_node_metadata(path: str | os.PathLike[str]) -> TidyReport:
    """Remove every node's ``metadata_props`` and ``doc_string`` (graph, subgraphs, functions), in place."""
    import onnx

    path = Path(path)
    before = path.stat().st_size
    model = onnx.load(str(path))
    touched = _strip_nodes(model.graph.node)
    for function in model.functions:
        touched += _strip_nodes(function.node)
    tmp = path.with_name(f".{path.name}.tidy")
    onnx.save(model, str(tmp))
    os.replace(tmp, path)  # readers never see a half-written model
    return TidyReport(touched, before, path.stat().st_size)


def _strip_nodes(nodes) -> int:
    """Strip ``nodes`` and, recursively, those of their subgraphs (If, Loop, Scan bodies)."""
    touched = 0
    for node in nodes:
        if len(node.metadata_props) or node.doc_string:
            touched += 1
            del node.metadata_props[:]
            node.doc_string = ""
        for attribute in node.attribute:
            # A GRAPH attribute holds one subgraph, a GRAPHS attribute a list (empty for the rest).
            subgraphs = [attribute.g] if attribute.type == attribute.GRAPH else attribute.graphs
            touched += sum(_strip_nodes(graph.node) for graph in subgraphs)
    return touched
