"""Publisher: a real SUB socket receives the results; the documented subscriber example works."""

from __future__ import annotations

import re
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from flowpose.engine.runtime import GraphRunner
from flowpose.frame import EndOfStream, Frame
from flowpose.graph.validate import validate_text
from flowpose.nodes.publisher import Publisher
from flowpose.transport import decode, is_placeholder_image
from sinks_support import people_frame

DOCS = Path(__file__).resolve().parents[2] / "docs" / "nodes.md"
TIMEOUT_MS = 10_000


@pytest.fixture
def address(tmp_path: Path) -> str:
    return f"ipc://{tmp_path}/pub.sock"


@pytest.fixture
def sub():
    socket = zmq.Context.instance().socket(zmq.SUB)
    socket.setsockopt(zmq.SUBSCRIBE, b"")
    socket.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)  # a failing test ends instead of hanging
    socket.setsockopt(zmq.LINGER, 0)
    yield socket
    socket.close()


def runner_for(address: str, count: int = 0) -> GraphRunner:
    text = f"""\
    nodes:
      - name: cam
        type: 'sinks_support:People'
        outputs: [frames]
        params: {{count: {count}, fps: 50, pace: true, live: true, animal: true}}
      - {{name: pub, type: Publisher, inputs: [frames], params: {{address: '{address}'}}}}
    """
    return GraphRunner(validate_text(textwrap.dedent(text), "t.yaml"))


def test_subscriber_receives_results_without_images_then_end_of_stream(address: str, sub: zmq.Socket) -> None:
    sub.connect(address)  # before the bind: ZeroMQ reconnects until the publisher is there
    runner = runner_for(address)
    results = []
    thread = threading.Thread(target=lambda: results.append(runner.run(handle_signals=False)))
    thread.start()
    try:
        received: list[tuple[bytes, Frame]] = []
        while len(received) < 5:
            topic, *parts = sub.recv_multipart()
            assert len(parts) == 1  # header only: no image by default
            msg = decode(parts)
            assert isinstance(msg, Frame)
            received.append((topic, msg))
    finally:
        runner.request_stop(143)
        thread.join(timeout=30)
    assert results and results[0].exit_code == 143
    ids = [f.frame_id for _, f in received]
    assert ids == sorted(set(ids))
    topic, frame = received[-1]
    assert topic == b"cam" and frame.source == "cam"
    assert is_placeholder_image(frame.image) and frame.image.shape == (480, 640, 3)
    assert [i.label for i in frame.instances] == ["person"] * 5 + ["dog"]
    person = frame.instances[2]
    assert person.layout == "coco17" and person.keypoints.shape == (17, 2) and person.track_id == 2
    assert np.allclose(person.keypoints, people_frame(frame.frame_id).instances[2].keypoints)
    assert [h.node for h in frame.trace] == ["cam"]
    # After the stop, the end-of-stream marker for the source follows the last frame.
    while not isinstance(msg := decode(sub.recv_multipart()[1:]), EndOfStream):
        pass
    assert msg.source == "cam"


def test_include_image_sends_the_pixels(sub: zmq.Socket) -> None:
    node = Publisher("pub", {"address": "tcp://127.0.0.1:*", "include_image": True})
    node.setup()
    try:
        sub.connect(node.endpoint)
        frame = people_frame(3).replace(image=np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8))
        # A PUB socket drops messages until the subscription has arrived: publish until one lands.
        deadline = time.monotonic() + TIMEOUT_MS / 1e3
        while not sub.poll(50):
            assert time.monotonic() < deadline, "nothing received"
            node.process(frame)
        topic, *parts = sub.recv_multipart()
        assert topic == b"cam" and len(parts) == 2
        got = decode(parts)
        assert isinstance(got, Frame) and np.array_equal(got.image, frame.image)
        assert node.counters["published"] >= 1
    finally:
        node.close()


def test_address_in_use_is_a_clear_error() -> None:
    first = Publisher("a", {"address": "tcp://127.0.0.1:*"})  # (ipc:// would take the path over)
    first.setup()
    try:
        with pytest.raises(RuntimeError, match=re.escape(f"cannot bind {first.endpoint}")):
            Publisher("b", {"address": first.endpoint}).setup()
    finally:
        first.close()


def test_documented_subscriber_example(address: str) -> None:
    code = DOCS.read_text().split("<!-- subscriber-example")[1].split("```python\n")[1].split("```")[0]
    assert len(code.splitlines()) <= 16
    code = code.replace("tcp://127.0.0.1:5560", address)
    printed: list[tuple] = []
    example = threading.Thread(target=exec, args=(code, {"print": lambda *a: printed.append(a)}), daemon=True)
    example.start()  # it connects first and waits; the graph then publishes 60 frames and ends
    assert runner_for(address, count=60).run(handle_signals=False).exit_code == 0
    example.join(timeout=TIMEOUT_MS / 1e3)
    assert not example.is_alive(), "the example did not see the end of the stream"
    assert printed, "the example received no frame"
    frame_id, label, track_id, _bbox, num_keypoints = printed[0]
    assert (label, track_id, num_keypoints) == ("person", 0, 17)
    assert len(printed) % 6 == 0 and frame_id >= 0  # whole frames: 5 people and a dog each
