"""Checks and conversions for the values inside a wire header: scalars, arrays, meta, instances.

Every check raises :class:`~flowpose.transport.wire_errors.WireError` of kind "schema", with
the path of the offending field, so a peer's bug report can say exactly what was wrong.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from flowpose.frame import Hop, Instance
from flowpose.transport.wire_errors import WireError

T = TypeVar("T")

#: Arrays on the wire have at most this many dimensions (images 3, keypoints 2).
MAX_NDIM = 4
#: Largest length of one dimension; generous (a 1M-pixel-wide panorama) but it stops
#: absurd declared shapes before any arithmetic or allocation happens.
MAX_DIM = 1 << 20
#: Deepest nesting of meta; deeper data is almost surely a mistake, and the walk stays cheap.
MAX_META_DEPTH = 32

# Only these dtypes cross the wire, always little-endian: a receiver never interprets
# structured, object or string dtypes, and both ends agree on byte order whatever the hosts.
WIRE_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(name).newbyteorder("<")
    for name in (
        "bool",
        "uint8",
        "int8",
        "uint16",
        "int16",
        "uint32",
        "int32",
        "uint64",
        "int64",
        "float16",
        "float32",
        "float64",
    )
}

# numpy's dtype.name is a slow Python-level property (about 2 us, three per instance); these
# dict lookups keep encoding a frame of 20 people well under a millisecond.
_WIRE_NAMES = {dtype: name for name, dtype in WIRE_DTYPES.items()}
_TO_WIRE = {dtype.newbyteorder(order): dtype for dtype in WIRE_DTYPES.values() for order in "<>"}

_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1  # what a msgpack integer can hold


def expect(value: Any, kind: type[T], where: str) -> T:
    """Return ``value`` if it is a ``kind``, else raise a "schema" WireError naming ``where``.

    ``bool`` is not accepted as an ``int`` (msgpack keeps them apart, so a bool where an int
    belongs is a peer's bug); an ``int`` is accepted as a ``float``.
    """
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise WireError("schema", f"{where} must be {kind.__name__}, got {type(value).__name__}")
    return value


def to_int(value: Any, where: str) -> int:
    """Sending side: ``value`` as a Python int; numpy integers (ids from ``np.arange``) are fine."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise WireError("schema", f"{where} must be an integer, got {type(value).__name__}")


def to_float(value: Any, where: str) -> float:
    """Sending side: ``value`` as a Python float; numpy numbers are fine, strings are not."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    raise WireError("schema", f"{where} must be a number, got {type(value).__name__}")


def wire_dtype(dtype: Any, where: str) -> np.dtype:
    """The little-endian wire dtype for ``dtype`` (a numpy dtype, or a name from the wire)."""
    if isinstance(dtype, str):
        found = WIRE_DTYPES.get(dtype)
    else:
        found = _TO_WIRE.get(dtype) if isinstance(dtype, np.dtype) else None
    if found is None:
        name = getattr(dtype, "name", dtype)
        raise WireError("schema", f"{where}: dtype {name!r:.40} is not one of {sorted(WIRE_DTYPES)}")
    return found


def wire_name(dtype: np.dtype) -> str:
    """The name of a dtype returned by :func:`wire_dtype`."""
    return _WIRE_NAMES[dtype]


def check_shape(shape: Any, where: str, ndims: tuple[int, ...]) -> tuple[int, ...]:
    """Return ``shape`` as a tuple if it is a list of ``ndims`` ints in ``[0, MAX_DIM]``."""
    shape = expect(shape, list, where)
    if len(shape) not in ndims:
        raise WireError("schema", f"{where} must have {' or '.join(map(str, ndims))} dimensions, got {len(shape)}")
    for size in shape:
        if not (isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_DIM):
            raise WireError("schema", f"{where} must hold ints in [0, {MAX_DIM}], got {shape!r:.80}")
    return tuple(shape)


def array_to_wire(array: np.ndarray, where: str) -> list[Any]:
    """``[dtype name, shape, raw little-endian C-order bytes]`` for a small array."""
    if not isinstance(array, np.ndarray) or array.ndim > MAX_NDIM:
        raise WireError("schema", f"{where} must be a numpy array of at most {MAX_NDIM} dimensions")
    dtype = wire_dtype(array.dtype, where)
    return [wire_name(dtype), list(array.shape), array.astype(dtype, copy=False).tobytes()]


def array_from_wire(value: Any, where: str, ndims: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`array_to_wire`; the result is a read-only view of the header bytes."""
    value = expect(value, list, where)
    if len(value) != 3:
        raise WireError("schema", f"{where} must be [dtype, shape, data], got {len(value)} items")
    dtype = wire_dtype(expect(value[0], str, f"{where}[0]"), where)
    shape = check_shape(value[1], f"{where} shape", ndims)
    data = expect(value[2], bytes, f"{where} data")
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise WireError("schema", f"{where}: {len(data)} bytes do not fit shape {list(shape)} {dtype.name}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def instance_to_wire(inst: Any, where: str) -> dict[str, Any]:
    if not isinstance(inst, Instance):
        raise WireError("schema", f"{where} must be an Instance, not {type(inst).__name__}")
    return {
        "bbox": array_to_wire(inst.bbox, f"{where}.bbox"),
        "score": to_float(inst.score, f"{where}.score"),
        "label": expect(inst.label, str, f"{where}.label"),
        "track_id": to_int(inst.track_id, f"{where}.track_id"),
        "keypoints": None if inst.keypoints is None else array_to_wire(inst.keypoints, f"{where}.keypoints"),
        "keypoint_scores": None
        if inst.keypoint_scores is None
        else array_to_wire(inst.keypoint_scores, f"{where}.keypoint_scores"),
        "layout": expect(inst.layout, str, f"{where}.layout"),
    }


def instance_from_wire(item: Any, where: str) -> Instance:
    item = expect(item, dict, where)
    bbox = array_from_wire(item.get("bbox"), f"{where}.bbox", ndims=(1,))
    if bbox.shape != (4,):
        raise WireError("schema", f"{where}.bbox must have shape [4], got {list(bbox.shape)}")
    keypoints = kpt_scores = None
    if item.get("keypoints") is not None:
        keypoints = array_from_wire(item["keypoints"], f"{where}.keypoints", ndims=(2,))
        if keypoints.shape[1] != 2:
            raise WireError("schema", f"{where}.keypoints must have shape [K, 2], got {list(keypoints.shape)}")
        if item.get("keypoint_scores") is not None:
            kpt_scores = array_from_wire(item["keypoint_scores"], f"{where}.keypoint_scores", ndims=(1,))
            if kpt_scores.shape != (len(keypoints),):
                raise WireError("schema", f"{where}.keypoint_scores must have shape [{len(keypoints)}]")
    elif item.get("keypoint_scores") is not None:
        raise WireError("schema", f"{where}.keypoint_scores needs keypoints")
    try:
        return Instance(
            bbox=bbox,
            score=float(expect(item.get("score"), float, f"{where}.score")),
            label=expect(item.get("label"), str, f"{where}.label"),
            track_id=expect(item.get("track_id"), int, f"{where}.track_id"),
            keypoints=keypoints,
            keypoint_scores=kpt_scores,
            layout=expect(item.get("layout"), str, f"{where}.layout"),
        )
    except (TypeError, ValueError) as exc:  # Instance's own checks; a safety net behind ours
        raise WireError("schema", f"{where}: {exc}") from exc


def hop_to_wire(hop: Any, index: int) -> list[Any]:
    """Hop number ``index`` of a frame's trace, as ``[node, t_in, t_out]``."""
    # Fast path first: every frame carries one hop per node it went through, and the checks
    # below (with their messages) cost several microseconds each.
    if type(hop) is Hop and type(hop.node) is str and type(hop.t_in) is int and type(hop.t_out) is int:
        return [hop.node, hop.t_in, hop.t_out]  # a too large int fails in msgpack: a "schema" error
    where = f"trace[{index}]"
    if not isinstance(hop, Hop):
        raise WireError("schema", f"{where} must be a Hop, not {type(hop).__name__}")
    return [
        expect(hop.node, str, f"{where}.node"),
        to_int(hop.t_in, f"{where}.t_in"),
        to_int(hop.t_out, f"{where}.t_out"),
    ]


def hop_from_wire(item: Any, index: int) -> Hop:
    """Hop number ``index`` of a received trace."""
    if type(item) is list and len(item) == 3 and type(item[0]) is str and type(item[1]) is type(item[2]) is int:
        return Hop(*item)  # the fast path; the same checks as below, without building messages
    where = f"trace[{index}]"
    item = expect(item, list, where)
    if len(item) != 3:
        raise WireError("schema", f"{where} must be [node, t_in, t_out], got {len(item)} items")
    return Hop(
        expect(item[0], str, f"{where}.node"),
        expect(item[1], int, f"{where}.t_in"),
        expect(item[2], int, f"{where}.t_out"),
    )


def check_plain(value: Any, where: str, *, allow_tuples: bool) -> None:
    """Raise a "schema" WireError unless ``value`` is plain msgpack data.

    Plain means None, bool, int (64-bit), float, str, bytes, lists (and tuples, on the sending
    side: they arrive as lists) and dicts with str keys, nested at most ``MAX_META_DEPTH``.
    The walk is iterative so hostile nesting cannot hit Python's recursion limit.
    """
    sequence_types = (list, tuple) if allow_tuples else (list,)
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if item is None or isinstance(item, (bool, float, str, bytes)):
            continue
        if isinstance(item, int):
            if not _INT_MIN <= item <= _INT_MAX:
                raise WireError("schema", f"{path}: integer {item} does not fit in 64 bits")
            continue
        if depth >= MAX_META_DEPTH and isinstance(item, (list, tuple, dict)):
            raise WireError("schema", f"{path}: nested deeper than {MAX_META_DEPTH} levels")
        if isinstance(item, sequence_types):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise WireError("schema", f"{path}: keys must be str, got {type(key).__name__} {key!r:.40}")
                stack.append((child, f"{path}[{key!r}]", depth + 1))
        else:
            raise WireError("schema", f"{path}: {_why_not_plain(item)}")


def _why_not_plain(item: Any) -> str:
    kind = f"{type(item).__module__}.{type(item).__qualname__}"
    if isinstance(item, np.ndarray):
        return f"{kind} is not plain data; use .tolist(), or carry arrays in instances"
    if isinstance(item, np.generic):
        return f"{kind} is not plain data; use .item() to get the Python number"
    return (
        f"{kind} is not plain data; meta may hold only None, bool, int, float, str, bytes, "
        "lists and dicts with str keys (no pickle crosses the wire)"
    )
