"""The least any hop between two processes costs here: an 8-byte ZeroMQ message over ``ipc://``.

One way, from this process to a child (``python -m flowpose.bench.floor ENDPOINT``), paced so
each message finds both sides asleep, as a frame does in the paced chain: the sender's I/O
thread, the receiver's I/O thread and the receiving thread each wake once. A process hop of
the runtime pays this plus its own work (header, image copy, bookkeeping), so it is the
yardstick that shows what is left to gain.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

import numpy as np
import zmq


def measure_ipc_floor(samples: int = 400, gap_s: float = 0.003) -> np.ndarray:
    """One-way times (ms) of ``samples`` empty messages to a child process."""
    with tempfile.TemporaryDirectory(prefix="fpfloor", dir="/tmp") as tmp:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.linger = 0
        endpoint = f"ipc://{tmp}/floor"
        sock.bind(endpoint)
        child = subprocess.Popen([sys.executable, "-m", "flowpose.bench.floor", endpoint])
        try:
            if not sock.poll(60_000):
                raise RuntimeError("the floor benchmark's child did not start")
            sock.recv()  # ready
            for _ in range(samples):
                sock.send(time.time_ns().to_bytes(8, "little"))
                time.sleep(gap_s)
            sock.send(b"")
            gaps = np.frombuffer(sock.recv(), dtype=np.int64)
        finally:
            child.wait(10)
            sock.close()
            ctx.term()
    return gaps[samples // 10 :] / 1e6  # the first ones pay for connecting


def _child(endpoint: str) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(endpoint)
    sock.send(b"ready")
    gaps = []
    while message := sock.recv():
        gaps.append(time.time_ns() - int.from_bytes(message, "little"))
    sock.send(np.array(gaps, dtype=np.int64).tobytes())
    sock.close(linger=2000)
    ctx.term()


if __name__ == "__main__":
    _child(sys.argv[1])
