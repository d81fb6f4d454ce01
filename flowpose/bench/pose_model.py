"""A stand-in for RTMPose-m built with onnx.helper, so ``flowpose bench pose`` needs no download.

The layer plan follows RTMPose-m's published architecture (a CSPNeXt backbone at widen 0.75 /
deepen 0.67, then an RTMCC head: a 7x7 conv to K maps, a linear layer, one gated attention
unit over the K keypoint tokens, and linear x / y classifiers) with random weights: the same
operators, shapes and roughly the same cost (~13 M parameters, ~1.9 GMACs at 256x192), which
is what a speed benchmark needs. It outputs ``simcc_x`` / ``simcc_y`` as the real export does.
Needs the ``onnx`` package (the ``train`` extra), imported only when a model is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flowpose.models import CARD_KEY, card_from_spec

__all__ = ["SIZES", "BuiltModel", "build_rtmpose_like"]


@dataclass
class BuiltModel:
    """The written model and what it costs.

    Attributes:
        path: The ONNX file.
        params: Number of weights.
        macs: Multiply-accumulates per crop (what MMPose's tables call FLOPs).
    """

    path: Path
    params: int
    macs: int


@dataclass
class _Graph:
    """Accumulates nodes and weights; tracks the feature map shape to count MACs."""

    rng: np.random.Generator
    nodes: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    macs: int = 0
    params: int = 0
    _count: int = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def weight(self, shape: tuple[int, ...], fan_in: int, scale: float = 1.0) -> str:
        from onnx import numpy_helper

        name = self.name("w")
        value = self.rng.normal(0.0, scale * math.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
        self.weights.append(numpy_helper.from_array(value, name))
        self.params += value.size
        return name

    def const(self, value: np.ndarray | list[int], dtype: type = np.float32) -> str:
        from onnx import numpy_helper

        name = self.name("c")
        self.weights.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        from onnx import helper

        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def silu(self, x: str) -> str:
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def conv(self, x: str, hw: tuple[int, int], cin: int, cout: int, k: int, stride: int = 1, groups: int = 1):
        """Conv (batch norm folded in) + SiLU; returns (output, output height/width)."""
        w = self.weight((cout, cin // groups, k, k), fan_in=cin // groups * k * k)
        b = self.const(np.zeros(cout))
        self.params += cout
        y = self.op("Conv", [x, w, b], kernel_shape=[k, k], strides=[stride] * 2, pads=[k // 2] * 4, group=groups)
        out_hw = ((hw[0] - 1) // stride + 1, (hw[1] - 1) // stride + 1)
        self.macs += cout * out_hw[0] * out_hw[1] * (cin // groups) * k * k
        return self.silu(y), out_hw

    def csp_layer(self, x: str, hw: tuple[int, int], c: int, blocks: int, identity: bool = True) -> str:
        """CSPNeXt layer: two 1x1 branches, blocks of 3x3 conv + depthwise 5x5 + 1x1, channel attention."""
        mid = c // 2
        main, _ = self.conv(x, hw, c, mid, 1)
        short, _ = self.conv(x, hw, c, mid, 1)
        for _ in range(blocks):
            y, _ = self.conv(main, hw, mid, mid, 3)
            y, _ = self.conv(y, hw, mid, mid, 5, groups=mid)
            y, _ = self.conv(y, hw, mid, mid, 1)
            main = self.op("Add", [main, y]) if identity else y
        cat = self.op("Concat", [main, short], axis=1)
        pooled = self.op("GlobalAveragePool", [cat])
        att_w = self.weight((c, c, 1, 1), fan_in=c)
        att = self.op("Conv", [pooled, att_w, self.const(np.zeros(c))], kernel_shape=[1, 1])
        self.params += c
        self.macs += c * c
        cat = self.op("Mul", [cat, self.op("HardSigmoid", [att])])
        out, _ = self.conv(cat, hw, c, c, 1)
        return out

    def linear(self, x: str, tokens: int, cin: int, cout: int) -> str:
        self.macs += tokens * cin * cout
        return self.op("MatMul", [x, self.weight((cin, cout), fan_in=cin)])


#: RTMPose sizes as CSPNeXt (widen, deepen) factors.
SIZES: dict[str, tuple[float, float]] = {"t": (0.375, 0.167), "s": (0.5, 0.33), "m": (0.75, 0.67)}


def build_rtmpose_like(
    path: Path, size: str = "m", num_keypoints: int = 17, input_size: tuple[int, int] = (192, 256)
) -> BuiltModel:
    """Write an RTMPose-``size`` stand-in (dynamic batch, embedded ``rtmpose_simcc`` card) to ``path``.

    Raises:
        ValueError: On a size not in :data:`SIZES`.
    """
    import onnx
    from onnx import TensorProto, helper

    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    widen, deepen = SIZES[size]
    w, h = input_size
    g = _Graph(np.random.default_rng(0))
    stem = int(64 * widen)
    x, hw = g.conv("input", (h, w), 3, stem // 2, 3, stride=2)
    x, hw = g.conv(x, hw, stem // 2, stem // 2, 3)
    x, hw = g.conv(x, hw, stem // 2, stem, 3)
    chans = [int(c * widen) for c in (64, 128, 256, 512, 1024)]
    for i, blocks in enumerate((3, 6, 6)):
        x, hw = g.conv(x, hw, chans[i], chans[i + 1], 3, stride=2)
        x = g.csp_layer(x, hw, chans[i + 1], max(round(blocks * deepen), 1))
    top = chans[4]
    x, hw = g.conv(x, hw, chans[3], top, 3, stride=2)
    y, _ = g.conv(x, hw, top, top // 2, 1)  # SPPF
    pools = [g.op("MaxPool", [y], kernel_shape=[k, k], pads=[k // 2] * 4) for k in (5, 9, 13)]
    x, _ = g.conv(g.op("Concat", [y, *pools], axis=1), hw, 2 * top, top, 1)
    x = g.csp_layer(x, hw, top, max(round(3 * deepen), 1), identity=False)
    # RTMCC head.
    k, tokens_in = num_keypoints, hw[0] * hw[1]
    maps = g.op("Conv", [x, g.weight((k, top, 7, 7), fan_in=top * 49)], kernel_shape=[7, 7], pads=[3] * 4)
    g.macs += k * tokens_in * top * 49
    feats = g.op("Reshape", [maps, g.const([0, k, -1], np.int64)])
    feats = g.linear(g.op("Div", [feats, g.op("ReduceL2", [feats], axes=[-1])]), k, tokens_in, 256)
    uv = g.silu(g.linear(feats, k, 256, 2 * 512 + 128))
    u, v, base = (g.op("Slice", [uv, *(g.const([i], np.int64) for i in (a, b, -1))]) for a, b in _splits())
    q = g.op("Add", [g.op("Mul", [base, g.const(np.ones(128))]), g.const(np.zeros(128))])
    kk = g.op("Add", [g.op("Mul", [base, g.const(np.ones(128))]), g.const(np.zeros(128))])
    qk = g.op("MatMul", [q, g.op("Transpose", [kk], perm=[0, 2, 1])])
    att = g.op("Relu", [g.op("Div", [qk, g.const(np.array(math.sqrt(128)))])])
    mixed = g.op("Mul", [u, g.op("MatMul", [g.op("Mul", [att, att]), v])])
    g.macs += 2 * k * k * 512 + k * k * 128
    feats = g.op("Add", [feats, g.linear(mixed, k, 512, 256)])
    for name, bins in (("simcc_x", 2 * w), ("simcc_y", 2 * h)):
        g.nodes.append(helper.make_node("MatMul", [feats, g.weight((256, bins), fan_in=256)], [name]))
        g.macs += k * 256 * bins
    graph = helper.make_graph(
        g.nodes,
        f"rtmpose_{size}_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, h, w])],
        [
            helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["N", k, 2 * w]),
            helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["N", k, 2 * h]),
        ],
        initializer=g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    card = card_from_spec(
        {"preset": "rtmpose_simcc", "name": f"RTMPose-{size} stand-in (random weights)", "input_size": [w, h]}
    )
    helper.set_model_props(model, {CARD_KEY: card.to_json()})
    onnx.save(model, str(path))
    return BuiltModel(Path(path), g.params, g.macs)


def _splits() -> list[tuple[int, int]]:
    """Channel ranges of u (512), v (512) and the shared q/k base (128) in the GAU's projection."""
    return [(0, 512), (512, 1024), (1024, 1152)]
