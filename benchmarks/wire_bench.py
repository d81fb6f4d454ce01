"""How long one frame hop takes over ZeroMQ with the flowpose wire format (not run in tests).

Each variant times ``encode -> send_multipart -> recv_multipart(copy=False) -> decode`` of one
frame at a time between a PUSH and a PULL socket in two separate ZeroMQ contexts (so sender and
receiver have their own I/O threads, as two processes would), and compares it with a plain
``np.copyto`` of the same image: the least any hop that moves the pixels can cost.

A shared-memory variant copies the image into a slot of a ``multiprocessing.shared_memory``
ring and sends only the header plus the slot number over ipc://; the receiver wraps the slot.

Usage::

    python benchmarks/wire_bench.py [--iters 200] [--sizes 640x480,1920x1080]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import zmq

from flowpose.frame import Frame, Instance
from flowpose.transport import decode, encode

log = logging.getLogger("wire_bench")


@dataclass
class Variant:
    """One way of sending a frame.

    Attributes:
        name: Table label.
        transport: "ipc" or "tcp".
        copy: ``copy`` argument of ``send_multipart``.
        options: Socket options set on both sockets before connecting.
        copy_threshold: ``zmq.COPY_THRESHOLD`` while the variant runs (parts smaller than
            this are copied even with ``copy=False``; pyzmq's default is 64 kB).
        shm: Send the image through a shared-memory slot instead of the socket.
    """

    name: str
    transport: str = "ipc"
    copy: bool = False
    options: dict[int, int] = field(default_factory=dict)
    copy_threshold: int = zmq.COPY_THRESHOLD
    shm: bool = False


VARIANTS = [
    Variant("ipc copy=False (defaults, HWM 1000)"),
    Variant("ipc copy=False HWM=2", options={zmq.SNDHWM: 2, zmq.RCVHWM: 2}),
    Variant("ipc copy=True HWM=2", copy=True, options={zmq.SNDHWM: 2, zmq.RCVHWM: 2}),
    Variant("ipc copy=False COPY_THRESHOLD=0", copy_threshold=0, options={zmq.SNDHWM: 2, zmq.RCVHWM: 2}),
    Variant(
        "ipc copy=False SNDBUF/RCVBUF=8MiB HWM=2",
        options={zmq.SNDHWM: 2, zmq.RCVHWM: 2, zmq.SNDBUF: 8 << 20, zmq.RCVBUF: 8 << 20},
    ),
    Variant("tcp 127.0.0.1 copy=False HWM=2", transport="tcp", options={zmq.SNDHWM: 2, zmq.RCVHWM: 2}),
    Variant("shm slot + ipc header HWM=2", shm=True, options={zmq.SNDHWM: 2, zmq.RCVHWM: 2}),
]


def make_frame(width: int, height: int) -> Frame:
    """A frame with a random image and two 17-keypoint instances (a typical pose result)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    people = tuple(Instance([10, 20, 200, 400], 0.9, "person", i, rng.random((17, 2)) * 100) for i in range(2))
    return Frame(frame_id=1, capture_ns=time.time_ns(), source="bench", image=image, instances=people)


@contextmanager
def socket_pair(variant: Variant, directory: Path) -> Iterator[tuple[zmq.Socket, zmq.Socket]]:
    """A connected (PUSH, PULL) pair, each in its own context, closed on exit."""
    contexts = [zmq.Context(), zmq.Context()]
    push, pull = contexts[0].socket(zmq.PUSH), contexts[1].socket(zmq.PULL)
    try:
        for sock in (push, pull):
            sock.linger = 0
            for option, value in variant.options.items():
                sock.setsockopt(option, value)
        if variant.transport == "ipc":
            address = f"ipc://{directory / variant.name.replace(' ', '_').replace('/', '_')}.sock"
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


def bench_socket(variant: Variant, frame: Frame, iters: int, warmup: int, directory: Path) -> list[float]:
    """Latency of one hop of ``frame`` with ``variant``, in ms per frame."""
    saved_threshold = zmq.COPY_THRESHOLD
    zmq.COPY_THRESHOLD = variant.copy_threshold
    ring = ShmRing(frame.image.nbytes, slots=4) if variant.shm else None
    try:
        with socket_pair(variant, directory) as (push, pull):

            def hop() -> Frame:
                if ring is None:
                    push.send_multipart(encode(frame), copy=variant.copy)
                    return decode(pull.recv_multipart(copy=False))
                slot = ring.put(frame.image)
                push.send_multipart([*encode(frame, include_image=False), slot.to_bytes(1, "little")])
                header, slot_part = pull.recv_multipart(copy=False)
                received = decode([header])
                return received.replace(image=ring.view(slot_part.bytes[0], frame.image))

            got = hop()
            assert np.array_equal(got.image, frame.image), variant.name
            del got  # a shared-memory view must be gone before the ring closes
            return time_calls(hop, iters, warmup)
    finally:
        zmq.COPY_THRESHOLD = saved_threshold
        if ring is not None:
            ring.close()


class ShmRing:
    """Fixed-size image slots in one shared-memory block, reused round-robin.

    A real runner must not reuse a slot before every reader released it (an ack, or a ring
    longer than the socket HWM plus frames in flight); the benchmark only times the copies.
    """

    def __init__(self, slot_bytes: int, slots: int) -> None:
        self.slot_bytes, self.slots, self.next = slot_bytes, slots, 0
        self.memory = shared_memory.SharedMemory(create=True, size=slot_bytes * slots)

    def put(self, image: np.ndarray) -> int:
        """Copy ``image`` into the next slot and return the slot number."""
        slot, self.next = self.next, (self.next + 1) % self.slots
        np.copyto(self.view(slot, image, writable=True), image)
        return slot

    def view(self, slot: int, like: np.ndarray, *, writable: bool = False) -> np.ndarray:
        """The image in ``slot``, shaped like ``like``; read-only unless ``writable``."""
        array = np.ndarray(like.shape, like.dtype, buffer=self.memory.buf, offset=slot * self.slot_bytes)
        array.flags.writeable = writable
        return array

    def close(self) -> None:
        self.memory.close()
        self.memory.unlink()


def bench_stream(frame: Frame, hwm: int, count: int, directory: Path) -> float:
    """Frames per second when a sender pushes ``count`` frames back to back over ipc://."""
    variant = Variant(f"stream_hwm{hwm}", options={zmq.SNDHWM: hwm, zmq.RCVHWM: hwm})
    with socket_pair(variant, directory) as (push, pull):
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


def summarize(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of ``times``."""
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--sizes", default="640x480,1920x1080")
    parser.add_argument("--stream", type=int, default=100, help="frames for the throughput test, 0 = skip")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("pyzmq %s, libzmq %s, numpy %s", zmq.__version__, zmq.zmq_version(), np.__version__)

    rows = []
    with tempfile.TemporaryDirectory(prefix="fpbench") as tmp:
        directory = Path(tmp)
        for size in args.sizes.split(","):
            width, height = map(int, size.split("x"))
            frame = make_frame(width, height)
            target = np.empty_like(frame.image)
            base_median, base_p95 = summarize(
                time_calls(lambda: np.copyto(target, frame.image), args.iters, args.warmup)  # noqa: B023
            )
            rows.append((size, "np.copyto (memcpy baseline)", base_median, base_p95, 1.0))
            for variant in VARIANTS:
                median, p95 = summarize(bench_socket(variant, frame, args.iters, args.warmup, directory))
                rows.append((size, variant.name, median, p95, median / base_median))
            if args.stream:
                for hwm in (2, 1000):
                    fps = bench_stream(frame, hwm, args.stream, directory)
                    rows.append((size, f"stream ipc HWM={hwm}: {fps:.0f} frames/s", 1e3 / fps, float("nan"), 0.0))

    # The table is the script's output, hence print rather than logging.
    print(f"\n{'size':<10} {'variant':<42} {'median ms':>10} {'p95 ms':>9} {'x memcpy':>9}")
    for size, name, median, p95, ratio in rows:
        ratio_text = f"{ratio:9.1f}" if ratio else f"{'':>9}"
        print(f"{size:<10} {name:<42} {median:10.3f} {p95:9.3f} {ratio_text}")


if __name__ == "__main__":
    main()
