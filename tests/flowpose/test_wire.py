"""Tests of the ZeroMQ/msgpack wire format: round trips, every error kind, fuzzing, real sockets."""

from __future__ import annotations

import ast
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowpose.transport as transport
from flowpose.frame import EndOfStream, Frame, Hop, Instance
from flowpose.transport import (
    DEFAULT_MAX_HEADER_BYTES,
    WIRE_ERROR_KINDS,
    BadMessageCounter,
    WireError,
    decode,
    encode,
    is_placeholder_image,
)

RNG = np.random.default_rng(0)


def make_image(height: int = 48, width: int = 64, channels: int | None = 3, dtype: Any = np.uint8) -> np.ndarray:
    shape = (height, width) if channels is None else (height, width, channels)
    return (RNG.random(shape) * 255).astype(dtype)


def make_instance(num_keypoints: int | None = 17, track_id: int = -1) -> Instance:
    keypoints = None if num_keypoints is None else RNG.random((num_keypoints, 2)) * 100
    return Instance(
        bbox=[1.5, 2.0, 30.25, 40.0],
        score=0.875,
        label="person" if num_keypoints else "dog",
        track_id=track_id,
        keypoints=keypoints,
        keypoint_scores=None if keypoints is None else RNG.random(num_keypoints),
        layout="coco17" if num_keypoints else "",
    )


def make_frame(image: np.ndarray | None = None, **changes: Any) -> Frame:
    frame = Frame(frame_id=7, capture_ns=1_700_000_000_123_456_789, source="cam0", image=make_image())
    if image is not None:
        changes["image"] = image
    return frame.replace(**changes)


def assert_same_message(got: Any, want: Any) -> None:
    assert type(got) is type(want)
    if isinstance(want, EndOfStream):
        assert got == want
        return
    assert (got.frame_id, got.capture_ns, got.source) == (want.frame_id, want.capture_ns, want.source)
    assert got.image.shape == want.image.shape and got.image.dtype == want.image.dtype
    np.testing.assert_array_equal(got.image, want.image)
    assert got.trace == want.trace
    assert got.meta == want.meta
    assert len(got.instances) == len(want.instances)
    for a, b in zip(got.instances, want.instances, strict=True):
        assert (a.score, a.label, a.track_id, a.layout) == (b.score, b.label, b.track_id, b.layout)
        for name in ("bbox", "keypoints", "keypoint_scores"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None), name
            if y is not None:
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)


def round_trip(msg: Any, **options: Any) -> Any:
    return decode(encode(msg, **options))


def repacked(frame: Frame, mutate: Callable[[dict], Any], *, image_part: Any = None) -> list[Any]:
    """Parts of ``frame`` with its header unpacked, changed by ``mutate`` and packed again."""
    parts = encode(frame)
    header = msgpack.unpackb(parts[0])
    result = mutate(header)
    header = header if result is None else result
    packed = msgpack.packb(header, use_bin_type=True)
    return [packed, *parts[1:]] if image_part is None else [packed, image_part]


# --- round trips --------------------------------------------------------------------------------

ROUND_TRIPS = {
    "no instances": make_frame(),
    "several instances": make_frame(instances=(make_instance(17, 1), make_instance(None), make_instance(5, 2))),
    "keypoints without explicit scores": make_frame(
        instances=(Instance([0, 0, 5, 5], keypoints=np.zeros((3, 2)), layout="tri"),)
    ),
    "zero keypoints": make_frame(instances=(Instance([0, 0, 5, 5], keypoints=np.zeros((0, 2))),)),
    "meta": make_frame(
        meta={
            "gt": {"boxes": [[1, 2, 3, 4]], "ok": True, "none": None},
            "blob": b"\x00\xff",
            "pi": 3.25,
            "big": 2**64 - 1,
            "neg": -(2**63),
            "text": "héllo",
        }
    ),
    "trace": make_frame(trace=(Hop("camera", 10, 20), Hop("detector", 25, 2**62))),
    "grayscale": make_frame(make_image(channels=None)),
    "float32 image": make_frame(make_image(dtype=np.float32)),
    "uint16 4-channel": make_frame(make_image(channels=4, dtype=np.uint16)),
    "empty image": make_frame(np.zeros((0, 0, 3), np.uint8)),
    "1080p": make_frame(make_image(1080, 1920)),
    "eos": EndOfStream("cam0"),
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_round_trip(name: str) -> None:
    assert_same_message(round_trip(ROUND_TRIPS[name]), ROUND_TRIPS[name])


def test_decoded_image_is_a_read_only_view_of_the_image_part() -> None:
    frame = make_frame(make_image(480, 640))
    parts = encode(frame)
    assert len(parts) == 2 and parts[1].nbytes == 480 * 640 * 3
    assert np.shares_memory(np.frombuffer(parts[1], np.uint8), frame.image), "contiguous image was copied"
    got = decode(parts)
    assert np.shares_memory(got.image, frame.image), "decode copied the image"
    assert not got.image.flags.writeable
    assert not decode([parts[0], bytearray(parts[1])]).image.flags.writeable


@pytest.mark.parametrize(
    "view",
    [
        lambda im: im[::2, ::3],  # strided
        lambda im: im[:, 10:50],  # column crop: rows are not adjacent
        lambda im: im[::-1],  # negative strides
        lambda im: np.asfortranarray(im),
        lambda im: im.astype(im.dtype.newbyteorder(">")),  # big-endian pixels go out little-endian
    ],
)
def test_non_contiguous_images_are_copied_once_and_round_trip(view: Callable) -> None:
    image = view(make_image(dtype=np.uint16))
    frame = make_frame(image)
    parts = encode(frame)
    assert not np.shares_memory(np.frombuffer(parts[1], np.uint8), image)
    got = decode(parts)
    assert got.image.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(got.image, image)


def test_row_crop_is_contiguous_and_sent_without_copy() -> None:
    image = make_image(100, 64)
    parts = encode(make_frame(image[10:20]))
    assert np.shares_memory(np.frombuffer(parts[1], np.uint8), image)


def test_meta_tuples_arrive_as_lists() -> None:
    got = round_trip(make_frame(meta={"size": (640, 480), "nested": [(1, (2,))]}))
    assert got.meta == {"size": [640, 480], "nested": [[1, [2]]]}


def test_numpy_integers_in_ids_are_accepted() -> None:
    frame = make_frame(frame_id=np.int64(3), capture_ns=np.uint64(5), trace=(Hop("n", np.int64(1), 2),))
    got = round_trip(frame)
    assert (got.frame_id, got.capture_ns, got.trace) == (3, 5, (Hop("n", 1, 2),))
    assert type(got.frame_id) is int


def test_frame_without_image_gets_a_placeholder_of_the_right_shape() -> None:
    frame = make_frame(make_image(1080, 1920), instances=(make_instance(),))
    parts = encode(frame, include_image=False)
    assert len(parts) == 1
    got = decode(parts)
    assert got.image.shape == (1080, 1920, 3) and (got.height, got.width) == (1080, 1920)
    assert is_placeholder_image(got.image) and not got.image.flags.writeable and not got.image.any()
    assert_same_message(got.replace(image=frame.image), frame)
    # Forwarding the frame must not materialise 6 MB of zeros.
    assert len(encode(got)) == 1
    assert not is_placeholder_image(frame.image)


def test_header_stays_small() -> None:
    frame = make_frame(
        make_image(1080, 1920),
        instances=tuple(make_instance(17, i) for i in range(20)),
        trace=tuple(Hop(f"node{i}", i, i + 1) for i in range(6)),
    )
    header = encode(frame)[0]
    assert len(header) < 8_000  # 20 instances x 17 keypoints


# --- errors -------------------------------------------------------------------------------------

FRAME = make_frame(instances=(make_instance(),), trace=(Hop("camera", 1, 2),))
GOOD = encode(FRAME)


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def mutate(header: dict) -> None:
        target = header
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key: str) -> Callable[[dict], None]:
    def mutate(header: dict) -> None:
        del header[key]

    return mutate


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth):
        value = [value]
    return value


BAD_DECODE: dict[str, tuple[str, Callable[[], list[Any]]]] = {
    "not msgpack": ("msgpack", lambda: [b"\xc1", GOOD[1]]),
    "truncated header": ("msgpack", lambda: [GOOD[0][:-3], GOOD[1]]),
    "trailing bytes": ("msgpack", lambda: [GOOD[0] + b"\x00", GOOD[1]]),
    "non-str map key": ("msgpack", lambda: [msgpack.packb({1: 2}), GOOD[1]]),
    "no parts": ("parts", lambda: []),
    "three parts": ("parts", lambda: [*GOOD, b""]),
    "parts not a list": ("parts", lambda: GOOD[0]),
    "part not a buffer": ("parts", lambda: [GOOD[0], "pixels"]),
    "none part": ("parts", lambda: [None]),
    "image missing": ("parts", lambda: [GOOD[0]]),
    "image not announced": ("parts", lambda: repacked(FRAME, _set(("image", "sent"), False))),
    "eos with image": ("parts", lambda: [encode(EndOfStream("x"))[0], b"abc"]),
    "image truncated": ("image_size", lambda: [GOOD[0], GOOD[1][:-1]]),
    "image too long": ("image_size", lambda: [GOOD[0], bytes(GOOD[1]) + b"\x00"]),
    "image shape lies": ("image_size", lambda: repacked(FRAME, _set(("image", "shape"), [48, 64, 4]))),
    "image dtype lies": ("image_size", lambda: repacked(FRAME, _set(("image", "dtype"), "uint16"))),
    "version 2": ("version", lambda: repacked(FRAME, _set(("v",), 2))),
    "version missing": ("version", lambda: repacked(FRAME, _delete("v"))),
    "version as bool": ("version", lambda: repacked(FRAME, _set(("v",), True))),
    "version as float": ("version", lambda: repacked(FRAME, _set(("v",), 1.0))),
    "header not a map": ("schema", lambda: [msgpack.packb([1, "frame"]), GOOD[1]]),
    "unknown kind": ("schema", lambda: repacked(FRAME, _set(("kind",), "video"))),
    "frame_id missing": ("schema", lambda: repacked(FRAME, _delete("frame_id"))),
    "frame_id a string": ("schema", lambda: repacked(FRAME, _set(("frame_id",), "7"))),
    "frame_id a bool": ("schema", lambda: repacked(FRAME, _set(("frame_id",), True))),
    "source missing": ("schema", lambda: repacked(FRAME, _delete("source"))),
    "eos source missing": ("schema", lambda: [msgpack.packb({"v": 1, "kind": "eos"})]),
    "image dtype object": ("schema", lambda: repacked(FRAME, _set(("image", "dtype"), "object"))),
    "image dtype with byte order": ("schema", lambda: repacked(FRAME, _set(("image", "dtype"), ">u1"))),
    "image dtype float128": ("schema", lambda: repacked(FRAME, _set(("image", "dtype"), "float128"))),
    "negative shape": ("schema", lambda: repacked(FRAME, _set(("image", "shape"), [-48, -64, 3]))),
    "too many dims": ("schema", lambda: repacked(FRAME, _set(("image", "shape"), [1, 48, 64, 3, 1]))),
    "absurd dim": ("schema", lambda: repacked(FRAME, _set(("image", "shape"), [2**40, 1, 3]))),
    "placeholder too big": (
        "schema",
        lambda: repacked(FRAME, _set(("image",), {"dtype": "float64", "shape": [2**20, 2**20, 3], "sent": False})),
    ),
    "part not contiguous": ("parts", lambda: [GOOD[0], memoryview(np.zeros(20, np.uint8))[::2]]),
    "float dim": ("schema", lambda: repacked(FRAME, _set(("image", "shape"), [48.0, 64, 3]))),
    "image desc missing": ("schema", lambda: repacked(FRAME, _delete("image"))),
    "instances not a list": ("schema", lambda: repacked(FRAME, _set(("instances",), {"a": 1}))),
    "bbox of 3": (
        "schema",
        lambda: repacked(FRAME, _set(("instances", 0, "bbox"), ["float32", [3], bytes(12)])),
    ),
    "bbox bytes short": (
        "schema",
        lambda: repacked(FRAME, _set(("instances", 0, "bbox"), ["float32", [4], bytes(15)])),
    ),
    "bbox as list": ("schema", lambda: repacked(FRAME, _set(("instances", 0, "bbox"), [1.0, 2.0, 3.0, 4.0]))),
    "keypoints K x 3": (
        "schema",
        lambda: repacked(FRAME, _set(("instances", 0, "keypoints"), ["float32", [17, 3], bytes(17 * 12)])),
    ),
    "keypoint scores length": (
        "schema",
        lambda: repacked(FRAME, _set(("instances", 0, "keypoint_scores"), ["float32", [16], bytes(64)])),
    ),
    "scores without keypoints": (
        "schema",
        lambda: repacked(FRAME, _set(("instances", 0, "keypoints"), None)),
    ),
    "score a string": ("schema", lambda: repacked(FRAME, _set(("instances", 0, "score"), "high"))),
    "trace hop short": ("schema", lambda: repacked(FRAME, _set(("trace", 0), ["camera", 1]))),
    "meta not a map": ("schema", lambda: repacked(FRAME, _set(("meta",), [1, 2]))),
    "meta ext type": ("schema", lambda: repacked(FRAME, _set(("meta",), {"x": msgpack.ExtType(5, b"ab")}))),
    "meta timestamp": ("schema", lambda: repacked(FRAME, _set(("meta",), {"t": msgpack.Timestamp(1, 0)}))),
    "meta too deep": ("schema", lambda: repacked(FRAME, _set(("meta",), {"x": _nested(40)}))),
}


@pytest.mark.parametrize("name", list(BAD_DECODE))
def test_bad_message_gives_its_kind(name: str) -> None:
    kind, make_parts = BAD_DECODE[name]
    with pytest.raises(WireError) as info:
        decode(make_parts())
    assert info.value.kind == kind, info.value


def test_all_kinds_are_exercised() -> None:
    kinds = {kind for kind, _ in BAD_DECODE.values()} | {"header_size"}
    assert kinds == set(WIRE_ERROR_KINDS)


def test_header_size_limit() -> None:
    big = make_frame(meta={"blob": bytes(DEFAULT_MAX_HEADER_BYTES)})
    with pytest.raises(WireError) as info:
        decode(encode(big))
    assert info.value.kind == "header_size"
    with pytest.raises(WireError, match="header_size"):
        decode(GOOD, max_header_bytes=100)
    assert decode(encode(big), max_header_bytes=2 * DEFAULT_MAX_HEADER_BYTES).meta["blob"] == bytes(1 << 20)


class NotPlain:
    pass


BAD_ENCODE = {
    "numpy float in meta": (make_frame(meta={"x": np.float32(1)}), ".item()"),
    "array in meta": (make_frame(meta={"a": {"b": np.zeros(3)}}), ".tolist()"),
    "object in meta": (make_frame(meta={"o": [NotPlain()]}), "meta['o'][0]"),
    "set in meta": (make_frame(meta={"s": {1, 2}}), "builtins.set"),
    "int key in meta": (make_frame(meta={1: "one"}), "keys must be str"),
    "int over 64 bits": (make_frame(meta={"n": 2**64}), "64 bits"),
    "meta not a dict": (make_frame(meta=[1]), "Frame.meta"),
    "complex image": (make_frame(np.zeros((2, 2, 3), np.complex64)), "complex64"),
    "image too big": (make_frame(np.broadcast_to(np.uint8(1), (2**16, 2**16, 3))), "over"),
    "1-d image": (make_frame(np.zeros(12, np.uint8)), "H x W"),
    "list image": (make_frame([[0]]), "numpy array"),
    "frame_id a float": (make_frame(frame_id=1.5), "frame_id"),
    "score a string": (make_frame(instances=(make_instance().replace(score="high"),)), "score"),
    "hop as tuple": (make_frame(trace=(("n", 1, 2),)), "trace[0]"),
    "not a message": ("frame", "Frame or EndOfStream"),
}


@pytest.mark.parametrize("name", list(BAD_ENCODE))
def test_encode_rejects_and_explains(name: str) -> None:
    msg, explanation = BAD_ENCODE[name]
    with pytest.raises(WireError) as info:
        encode(msg)
    assert info.value.kind == "schema"
    assert explanation in str(info.value)


def test_wire_error_is_a_value_error_with_a_fixed_kind() -> None:
    error = WireError("parts", "two expected")
    assert isinstance(error, ValueError) and (error.kind, error.detail) == ("parts", "two expected")
    copy = pickle.loads(pickle.dumps(error))  # errors may be reported from a child process
    assert (copy.kind, copy.detail) == ("parts", "two expected")
    with pytest.raises(ValueError, match="unknown WireError kind"):
        WireError("oops", "x")  # type: ignore[arg-type]


def test_bad_message_counter_counts_and_logs_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    counter = BadMessageCounter(name="pose")
    with caplog.at_level(logging.DEBUG, logger="flowpose.transport"):
        assert counter.decode([b"\xc1"]) is None
        assert counter.decode([b"\xc1"]) is None
        assert counter.decode([]) is None
        assert_same_message(counter.decode(GOOD), FRAME)
    assert counter.counts == {"msgpack": 2, "parts": 1} and counter.total == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("pose" in r.getMessage() for r in warnings)
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 1


def test_no_pickle_in_the_transport() -> None:
    for path in Path(transport.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert not any("pickle" in name for name in names), path


# --- fuzzing: nothing but WireError, whatever the input -----------------------------------------

# FLOWPOSE_FUZZ_EXAMPLES=20000 runs a long fuzz session without editing the file.
FUZZ = settings(
    max_examples=int(os.environ.get("FLOWPOSE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def decode_or_wire_error(parts: Any, **options: Any) -> None:
    try:
        msg = decode(parts, **options)
    except WireError as error:
        assert error.kind in WIRE_ERROR_KINDS
    else:
        assert isinstance(msg, (Frame, EndOfStream))
        if isinstance(msg, Frame):
            assert msg.image.ndim in (2, 3)


@FUZZ
@given(st.binary(max_size=512), st.none() | st.binary(max_size=64))
def test_fuzz_arbitrary_bytes(header: bytes, image: bytes | None) -> None:
    decode_or_wire_error([header] if image is None else [header, image])


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=64), st.integers(), st.text(max_size=8), st.none()), max_size=4))
def test_fuzz_arbitrary_lists_of_parts(parts: list[Any]) -> None:
    decode_or_wire_error(parts)


@FUZZ
@given(st.data())
def test_fuzz_byte_mutations_of_valid_messages(data: st.DataObject) -> None:
    header = bytearray(GOOD[0])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(header) - 1))
        operation = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if operation == "flip":
            header[position] = data.draw(st.integers(0, 255))
        elif operation == "delete" and len(header) > 1:
            del header[position]
        else:
            header.insert(position, data.draw(st.integers(0, 255)))
    image = data.draw(st.sampled_from([GOOD[1], bytes(GOOD[1])[:100], b""]))
    decode_or_wire_error([bytes(header), image], max_header_bytes=data.draw(st.sampled_from([50, 1 << 20])))


MSGPACK_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=16)
    | st.sampled_from(["float32", "uint8", "object", "frame", "eos"])
    | st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=8)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += _paths(child, (*prefix, index))
    return paths


@FUZZ
@given(st.data())
def test_fuzz_structural_mutations_of_valid_messages(data: st.DataObject) -> None:
    header = msgpack.unpackb(GOOD[0])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(header)))
        if not path:
            header = data.draw(MSGPACK_VALUES)
            continue
        parent = header
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(MSGPACK_VALUES)
        else:
            del parent[path[-1]]
    parts = [msgpack.packb(header, use_bin_type=True)]
    image = data.draw(st.sampled_from([GOOD[1], b"", None]))
    decode_or_wire_error(parts if image is None else [*parts, image])


# --- real sockets -------------------------------------------------------------------------------


@pytest.fixture
def context() -> Any:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.mark.parametrize("transport_name", ["ipc", "tcp"])
@pytest.mark.parametrize("pattern", [(zmq.PUSH, zmq.PULL), (zmq.PAIR, zmq.PAIR)], ids=["push-pull", "pair"])
def test_frames_cross_a_real_socket(context: Any, tmp_path: Path, transport_name: str, pattern: tuple) -> None:
    receiver, sender = context.socket(pattern[1]), context.socket(pattern[0])
    for sock in (receiver, sender):
        sock.linger = 0
        sock.sndhwm = sock.rcvhwm = 4  # small HWM, as the runners will use on frame sockets
    receiver.rcvtimeo = 5000  # fail instead of hanging if nothing arrives
    if transport_name == "ipc":
        address = f"ipc://{tmp_path / 'frames.sock'}"
        receiver.bind(address)
    else:
        address = f"tcp://127.0.0.1:{receiver.bind_to_random_port('tcp://127.0.0.1')}"
    sender.connect(address)

    frames = [
        make_frame(make_image(480, 640), instances=(make_instance(17, 1),), meta={"i": 0}),
        make_frame(make_image(1080, 1920)[::2, ::2], frame_id=8, trace=(Hop("cam", 1, 2),)),
        make_frame(make_image(720, 1280), frame_id=9),
    ]
    for frame in frames:
        sender.send_multipart(encode(frame), copy=False)
        if frame.frame_id == 9:
            sender.send_multipart(encode(frame, include_image=False), copy=False)
    sender.send_multipart(encode(EndOfStream("cam0")), copy=False)

    for frame in frames:
        parts = receiver.recv_multipart(copy=False)
        assert len(parts) == 2
        assert len(parts[0].bytes) < 2_000, "the header must not carry the image"
        assert len(parts[1]) == frame.image.nbytes
        got = decode(parts)
        del parts  # the decoded image must keep the received zmq buffer alive on its own
        assert_same_message(got, frame)
        if frame.frame_id == 9:
            header_only = receiver.recv_multipart(copy=False)
            assert len(header_only) == 1 and len(header_only[0].bytes) < 2_000
            assert is_placeholder_image(decode(header_only).image)
    assert decode(receiver.recv_multipart(copy=False)) == EndOfStream("cam0")
