"""``flowpose bench transport``: one frame over ZeroMQ with the flowpose wire format, vs a memcpy.

Each variant times ``encode -> send -> receive -> decode`` of one frame at a time between two
sockets in two ZeroMQ contexts (so each end has its own I/O thread, as two processes would),
and compares it with a plain ``np.copyto`` of the same image: the least any hop that moves
the pixels can cost. The shared-memory variant is the process runner's own path: the image is
copied into a :class:`~flowpose.runners.shm.SlotWriter` slot, only the header travels, and the
receiver gets a read-only view of the slot. The CurveZMQ variant shows what encryption costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import zmq

from flowpose.frame import Frame, Instance
from flowpose.runners.shm import SlotReader, remove_segments, segment_prefix, shm_available
from flowpose.runners.shm_writer import SlotWriter
from flowpose.transport import BadMessageCounter, decode, encode


@dataclass
class Variant:
    """One way of sending a frame: transport, ``copy`` flag, socket options, shm, curve."""

    name: str
    transport: str = "ipc"
    copy: bool = False
    options: dict[int, int] = field(default_factory=dict)
    shm: bool = False
    curve: bool = False


HWM2 = {zmq.SNDHWM: 2, zmq.RCVHWM: 2}
VARIANTS = [
    Variant("ipc copy=False (defaults, HWM 1000)"),
    Variant("ipc copy=False HWM=2", options=HWM2),
    Variant("ipc copy=True HWM=2", copy=True, options=HWM2),
    Variant("tcp 127.0.0.1 copy=False HWM=2", transport="tcp", options=HWM2),
    Variant("tcp 127.0.0.1 + CurveZMQ", transport="tcp", options=HWM2, curve=True),
    Variant("shm slot (view) + ipc header", shm=True, options=HWM2),
]


def make_frame(width: int, height: int) -> Frame:
    """A frame with a random image and two 17-keypoint instances (a typical pose result)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    people = tuple(Instance([10, 20, 200, 400], 0.9, "person", i, rng.random((17, 2)) * 100) for i in range(2))
    return Frame(frame_id=1, capture_ns=time.time_ns(), source="bench", image=image, instances=people)


@contextmanager
def socket_pair(variant: Variant, folder: Path) -> Iterator[tuple[zmq.Socket, zmq.Socket]]:
    """A connected (PUSH, PULL) pair, each in its own context, closed on exit."""
    contexts = [zmq.Context(), zmq.Context()]
    push, pull = contexts[0].socket(zmq.PUSH), contexts[1].socket(zmq.PULL)
    try:
        for sock in (push, pull):
            sock.linger = 0
            for option, value in variant.options.items():
                sock.setsockopt(option, value)
        if variant.curve:  # the receiver is the server; no ZAP handler: any client key is accepted
            server_public, server_secret = zmq.curve_keypair()
            pull.curve_secretkey, pull.curve_publickey, pull.curve_server = server_secret, server_public, True
            push.curve_publickey, push.curve_secretkey = zmq.curve_keypair()
            push.curve_serverkey = server_public
        if variant.transport == "ipc":
            address = f"ipc://{folder / str(abs(hash(variant.name)))}"
            pull.bind(address)
        else:
            address = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        push.connect(address)
        yield push, pull
    finally:
        push.close()
        pull.close()
        for ctx in contexts:
            ctx.term()


def time_calls(step: Callable[[], object], iters: int, warmup: int) -> list[float]:
    """Milliseconds per call of ``step``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        start = time.perf_counter_ns()
        step()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def bench_variant(variant: Variant, frame: Frame, iters: int, warmup: int, folder: Path) -> list[float]:
    """Milliseconds per hop of ``frame`` with ``variant``."""
    released: deque[int] = deque()
    writer = SlotWriter(f"ipc://{folder}/slots") if variant.shm else None
    reader = SlotReader(released.append)
    bad = BadMessageCounter("bench")
    seq = iter(range(1 << 62))
    try:
        with socket_pair(variant, folder) as (push, pull):

            def hop() -> Frame:
                if writer is None:
                    push.send_multipart(encode(frame), copy=variant.copy)
                    return decode(pull.recv_multipart(copy=False))  # type: ignore[return-value]
                n = next(seq)
                while released:  # what the runner's acknowledgements carry back
                    writer.release(released.popleft())
                info, parts = writer.put(frame, n)
                push.send_multipart([info, *parts], copy=False)
                got_info, header = pull.recv_multipart(copy=False)
                got = reader.fill(decode([header]), got_info.bytes, n, bad)  # type: ignore[arg-type]
                assert got is not None, bad.counts
                return got

            got = hop()
            assert np.array_equal(got.image, frame.image), variant.name
            del got
            return time_calls(hop, iters, warmup)
    finally:
        if writer is not None:
            writer.close()
            remove_segments(segment_prefix(f"ipc://{folder}/slots"))  # slots still held when we stopped


def bench_stream(frame: Frame, hwm: int, count: int, folder: Path) -> float:
    """Frames per second when a sender pushes ``count`` frames back to back over ipc://."""
    with socket_pair(Variant(f"stream_hwm{hwm}", options={zmq.SNDHWM: hwm, zmq.RCVHWM: hwm}), folder) as (push, pull):
        done = threading.Event()

        def drain() -> None:
            for _ in range(count):
                decode(pull.recv_multipart(copy=False))
            done.set()

        reader = threading.Thread(target=drain, daemon=True)
        start = time.perf_counter()
        reader.start()
        for _ in range(count):
            push.send_multipart(encode(frame), copy=False)
        done.wait()
        return count / (time.perf_counter() - start)


def _summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main(args: argparse.Namespace) -> int:
    """Entry point of ``flowpose bench transport``: prints a Markdown table."""
    print(f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}, numpy {np.__version__}\n")
    print("| size | variant | median ms | p95 ms | x memcpy |\n|---|---|---|---|---|")
    variants = [v for v in VARIANTS if not v.shm or shm_available()]
    with tempfile.TemporaryDirectory(prefix="fpbench", dir="/tmp" if Path("/tmp").is_dir() else None) as tmp:
        folder = Path(tmp)
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.lower().split("x"))
            frame = make_frame(width, height)
            target = np.empty_like(frame.image)
            copy = time_calls(lambda: np.copyto(target, frame.image), args.iters, args.warmup)  # noqa: B023
            base, p95 = _summary(copy)
            print(f"| {size} | np.copyto (memcpy yardstick) | {base:.3f} | {p95:.3f} | 1.0 |")
            for variant in variants:
                median, p95 = _summary(bench_variant(variant, frame, args.iters, args.warmup, folder))
                print(f"| {size} | {variant.name} | {median:.3f} | {p95:.3f} | {median / base:.1f} |")
            for hwm in (2, 1000) if args.stream else ():
                fps = bench_stream(frame, hwm, args.stream, folder)
                print(f"| {size} | stream ipc HWM={hwm}: {fps:,.0f} frames/s | {1e3 / fps:.3f} | - | - |")
    return 0
