"""Wire format of frames between processes and hosts: a msgpack header plus the raw image.

A message is a ZeroMQ multipart message::

    [header]          end of stream, or a frame sent without its image
    [header, image]   a frame; the image bytes are its own part, never inside msgpack

so the caller can send the image zero-copy (``socket.send_multipart(parts, copy=False)``)
and the receiver can wrap the received buffer with :func:`numpy.frombuffer` (no copy).
No pickle: a peer can only ever make :func:`decode` raise :class:`WireError`.

Header (a msgpack map, version :data:`FORMAT_VERSION`)::

    v: 1   kind: "frame" | "eos"   source: str
    frame_id: int   capture_ns: int                       (frames only, from here on)
    image: {dtype: str, shape: [H, W(, C)], sent: bool}
    instances: [{bbox: ARRAY, score: float, label: str, track_id: int,
                 keypoints: ARRAY | nil, keypoint_scores: ARRAY | nil, layout: str}, ...]
    meta: {str: plain msgpack data}
    trace: [[node: str, t_in: int, t_out: int], ...]
    layouts: {name: layout}    (optional: run-time keypoint layouts the instances name, in the
                                layout file format; the receiver registers them)

where ARRAY is ``[dtype, shape, raw little-endian bytes]`` (raw bytes, not lists, because
packing and unpacking K x 2 floats as msgpack lists is far slower). Unknown extra keys are
ignored, so a minor addition does not need a version bump; anything that changes the meaning
of an existing key does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from flowpose.frame import EndOfStream, Frame, Message
from flowpose.meta.loading import adopt_layouts, run_time_layouts
from flowpose.transport.wire_errors import WireError
from flowpose.transport.wire_values import (
    check_plain,
    check_shape,
    expect,
    hop_from_wire,
    hop_to_wire,
    instance_from_wire,
    instance_to_wire,
    to_int,
    wire_dtype,
    wire_name,
)

FORMAT_VERSION = 1
#: Largest header :func:`decode` accepts by default; headers are small (a frame with 20
#: 17-keypoint instances is about 7 kB), so anything near this is a bug or an attack.
DEFAULT_MAX_HEADER_BYTES = 1 << 20
#: Largest image a header may declare (2 GiB): bounds the all-zero placeholder of an omitted
#: image too, which a consumer might copy, so a hostile shape cannot make it allocate terabytes.
MAX_IMAGE_BYTES = 1 << 31
_ZEROS = bytes(16)  # behind every placeholder image: as long as the largest whitelisted dtype


def encode(msg: Message, *, include_image: bool = True) -> list[bytes | memoryview]:
    """Turn a frame or end-of-stream marker into the parts of a multipart message.

    Args:
        msg: What to send.
        include_image: False sends a frame without its pixels (for consumers that only want
            the results); the receiver then gets a read-only all-zero placeholder of the
            original shape, see :func:`is_placeholder_image`.

    Returns:
        ``[header]`` or ``[header, image]``. The image part is a byte view of the frame's
        own image (copied only when it is not C-contiguous little-endian), so the frame's
        image must not change until ZeroMQ has sent it, which immutable frames guarantee.

    Raises:
        WireError: kind "schema" when the frame holds something the wire cannot carry
            (a dtype outside the whitelist, non-plain meta, an integer over 64 bits).
    """
    if isinstance(msg, EndOfStream):
        expect(msg.source, str, "EndOfStream.source")
        header: dict[str, Any] = {"v": FORMAT_VERSION, "kind": "eos", "source": msg.source}
        if msg.stream is not None:
            header["stream"] = expect(msg.stream, str, "EndOfStream.stream")
        return [_pack(header)]
    if not isinstance(msg, Frame):
        raise WireError("schema", f"can only encode Frame or EndOfStream, not {type(msg).__name__}")
    image = msg.image
    if not isinstance(image, np.ndarray):
        raise WireError("schema", f"Frame.image must be a numpy array, not {type(image).__name__}")
    if image.ndim not in (2, 3):
        raise WireError("schema", f"Frame.image must be H x W or H x W x C, got shape {image.shape}")
    check_shape(list(image.shape), "Frame.image.shape", ndims=(2, 3))  # what decode will accept
    dtype = wire_dtype(image.dtype, "Frame.image")
    if image.size * dtype.itemsize > MAX_IMAGE_BYTES:
        raise WireError("schema", f"Frame.image is over {MAX_IMAGE_BYTES} bytes, receivers would reject it")
    send = include_image and not is_placeholder_image(image)
    check_plain(expect(msg.meta, dict, "Frame.meta"), "meta", allow_tuples=True)
    header = {
        "v": FORMAT_VERSION,
        "kind": "frame",
        "source": expect(msg.source, str, "Frame.source"),
        "frame_id": to_int(msg.frame_id, "Frame.frame_id"),
        "capture_ns": to_int(msg.capture_ns, "Frame.capture_ns"),
        "image": {"dtype": wire_name(dtype), "shape": list(image.shape), "sent": send},
        "instances": [instance_to_wire(inst, f"instances[{i}]") for i, inst in enumerate(msg.instances)],
        "meta": msg.meta,
        "trace": [hop_to_wire(hop, i) for i, hop in enumerate(msg.trace)],
    }
    # A model's own keypoint layout (embedded in its card) is known only in the process that
    # opened it: frames carry it to nodes elsewhere, which register it on arrival.
    layouts = run_time_layouts(inst.layout for inst in msg.instances)
    if layouts:
        header["layouts"] = layouts
    if not send:
        return [_pack(header)]
    # ascontiguousarray/astype copy only when needed: a crop or a big-endian array is copied
    # once here, a plain camera frame goes out as a view of its own memory.
    pixels = np.ascontiguousarray(image, dtype=dtype)
    # A flat read-only byte view (not memoryview.cast, which refuses empty images) of the same
    # memory: whoever holds the parts cannot write into the frame's image through them.
    return [_pack(header), pixels.reshape(-1).view(np.uint8).data.toreadonly()]


def decode(parts: Sequence[Any], *, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> Message:
    """Rebuild a frame or end-of-stream marker from the parts of a received message.

    Args:
        parts: The parts as received: ``zmq.Frame`` objects (``recv_multipart(copy=False)``),
            bytes or memoryviews.
        max_header_bytes: Reject headers larger than this before unpacking them.

    Returns:
        The message. A frame's image is a read-only :func:`numpy.frombuffer` view of the
        received image part (no copy; it keeps that buffer alive).

    Raises:
        WireError: for any malformed input, whatever the bytes; nothing else escapes.
    """
    if not isinstance(parts, (list, tuple)) or len(parts) not in (1, 2):
        count = len(parts) if isinstance(parts, (list, tuple)) else type(parts).__name__
        raise WireError("parts", f"expected a list of 1 or 2 parts, got {count}")
    views = [_byte_view(part, i) for i, part in enumerate(parts)]
    if views[0].nbytes > max_header_bytes:
        raise WireError("header_size", f"header is {views[0].nbytes} bytes, limit is {max_header_bytes}")
    header = _unpack(views[0])
    if not isinstance(header, dict):
        raise WireError("schema", f"header must be a map, got {type(header).__name__}")
    version = header.get("v")
    if type(version) is not int or version != FORMAT_VERSION:  # not 1.0, not True
        raise WireError("version", f"unknown wire format version {version!r} (this code reads {FORMAT_VERSION})")
    kind = header.get("kind")
    if kind == "eos":
        if len(views) != 1:
            raise WireError("parts", f"an end-of-stream message has 1 part, got {len(views)}")
        stream = header.get("stream")
        return EndOfStream(
            source=expect(header.get("source"), str, "source"),
            stream=None if stream is None else expect(stream, str, "stream"),
        )
    if kind != "frame":
        raise WireError("schema", f"kind must be 'frame' or 'eos', got {kind!r}")
    image = _image_from_wire(header.get("image"), views[1:])
    instances = expect(header.get("instances"), list, "instances")
    trace = expect(header.get("trace"), list, "trace")
    meta = expect(header.get("meta"), dict, "meta")
    check_plain(meta, "meta", allow_tuples=False)
    if "layouts" in header:
        try:
            adopt_layouts(header["layouts"], "frame")
        except ValueError as exc:
            raise WireError("schema", str(exc)) from None
    return Frame(
        frame_id=expect(header.get("frame_id"), int, "frame_id"),
        capture_ns=expect(header.get("capture_ns"), int, "capture_ns"),
        source=expect(header.get("source"), str, "source"),
        image=image,
        instances=tuple(instance_from_wire(item, f"instances[{i}]") for i, item in enumerate(instances)),
        meta=meta,
        trace=tuple(hop_from_wire(item, i) for i, item in enumerate(trace)),
    )


def is_placeholder_image(image: np.ndarray) -> bool:
    """Whether ``image`` is the all-zero stand-in :func:`decode` makes for an omitted image.

    The stand-in is a zero-stride broadcast (no memory behind it), so forwarding such a frame
    omits the image again instead of materialising megabytes of zeros.
    """
    return image.size > 0 and not any(image.strides) and not image.flat[0]


def _pack(header: dict[str, Any]) -> bytes:
    try:
        return msgpack.packb(header, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:  # e.g. an int over 64 bits
        raise WireError("schema", f"cannot pack header: {exc}") from exc


def _unpack(view: memoryview) -> Any:
    try:
        return msgpack.unpackb(view, raw=False, strict_map_key=True, use_list=True)
    except Exception as exc:
        # msgpack documents that unpacking bad data may raise exceptions beyond its own
        # (ValueError, TypeError, UnicodeDecodeError, StackError...), so the try is kept
        # minimal and catches them all: none may escape decode.
        raise WireError("msgpack", f"header is not valid msgpack: {type(exc).__name__}: {exc}") from exc


def _byte_view(part: Any, index: int) -> memoryview:
    try:
        view = memoryview(part)  # zmq.Frame, bytes, bytearray and memoryview all export buffers
        if not view.c_contiguous:  # np.frombuffer and msgpack need one contiguous block
            raise TypeError("not contiguous")
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    except (TypeError, ValueError) as exc:
        raise WireError("parts", f"part {index} is not a contiguous byte buffer ({type(part).__name__})") from exc


def _image_from_wire(desc: Any, image_views: list[memoryview]) -> np.ndarray:
    desc = expect(desc, dict, "image")
    dtype = wire_dtype(expect(desc.get("dtype"), str, "image.dtype"), "image.dtype")
    shape = check_shape(desc.get("shape"), "image.shape", ndims=(2, 3))
    sent = expect(desc.get("sent"), bool, "image.sent")
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_IMAGE_BYTES:
        raise WireError("schema", f"image.shape {list(shape)} {dtype.name} is over {MAX_IMAGE_BYTES} bytes")
    if len(image_views) != int(sent):
        raise WireError(
            "parts", f"a frame with image.sent={sent} has {1 + int(sent)} parts, got {1 + len(image_views)}"
        )
    if not sent:
        # Read-only zero strides over a few zero bytes: no memory, and ~10x cheaper than
        # np.broadcast_to (it matters: the process runner decodes every header this way).
        return np.ndarray(tuple(shape), dtype=dtype, buffer=_ZEROS, strides=(0,) * len(shape))
    if image_views[0].nbytes != expected:
        raise WireError(
            "image_size",
            f"image part has {image_views[0].nbytes} bytes, shape {shape} {dtype.name} needs {expected}",
        )
    image = np.frombuffer(image_views[0], dtype=dtype).reshape(shape)
    image.flags.writeable = False  # even over a writable bytearray: frames are immutable
    return image


__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "FORMAT_VERSION",
    "MAX_IMAGE_BYTES",
    "decode",
    "encode",
    "is_placeholder_image",
]
