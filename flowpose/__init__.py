"""flowpose: real-time pose estimation of people and animals as a streaming graph.

The engine: graph files and their validation, buffers, the node API, runners, stats. It
never imports torch, nor the built-in nodes (found through entry points like plugins).
"""

from flowpose.frame import EndOfStream, Frame, Hop, Instance
from flowpose.node import Node, NodeParams, Source, StopGraph

__all__ = ["EndOfStream", "Frame", "Hop", "Instance", "Node", "NodeParams", "Source", "StopGraph"]
__version__ = "0.1.0"

# The Python API pulls in the nodes and ONNX Runtime: imported on first use of these names only.
_LAZY = {"Pose": "flowpose.api", "PoseResult": "flowpose.api"}


def __getattr__(name: str) -> object:
    """``flowpose.Pose`` and ``flowpose.PoseResult``, imported when first asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'flowpose' has no attribute {name!r}")
