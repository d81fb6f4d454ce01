"""WebRTCView watched by a Python viewer (aiortc's RTCPeerConnection): streams, leaving, latency.

The latency run stamps each frame's number into its top rows as black and white blocks, sends
the frames at 30 fps through the node, and reads the number back from every decoded frame: the
time from ``capture_ns`` to the decoded frame in the viewer is encode, SRTP over loopback UDP,
depacketise and decode (no jitter buffer, no display: "glass-to-glass-ish"). Figures are printed
(``pytest -s``), never asserted. Skipped without aiortc (the ``webrtc`` extra).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

pytest.importorskip("aiortc", reason="WebRTCView needs the webrtc extra: pip install 'flowpose[webrtc]'")

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from flowpose.frame import Frame
from flowpose.nodes.synthetic_scene import SyntheticScene
from flowpose.nodes.webrtc_view import WebRTCView
from flowpose.web.webrtc_track import NewestFrames, NewestFrameTrack
from web_support import taken_port

BITS = 16  # frame numbers up to 65535: 36 minutes at 30 fps
BLOCK = 40  # px: big enough to survive VP8 and H.264 at a few hundred kbit/s
LATENCY_FRAMES = int(os.environ.get("FLOWPOSE_WEBRTC_FRAMES", "150"))


def stamp(image: np.ndarray, number: int) -> np.ndarray:
    """A copy of ``image`` with ``number`` drawn as BITS blocks across its top rows (white = 1)."""
    out = image.copy()
    for bit in range(BITS):
        out[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if number >> bit & 1 else 0
    return out


def read_stamp(image: np.ndarray) -> int:
    """The number :func:`stamp` drew, read from the centre of each block."""
    mid = BLOCK // 2
    centres = image[mid - 8 : mid + 8, : BITS * BLOCK].reshape(16, BITS, BLOCK, 3)[:, :, mid - 8 : mid + 8]
    return sum(1 << bit for bit, level in enumerate(centres.mean(axis=(0, 2, 3))) if level > 128)


@pytest.fixture
def node() -> Iterator[WebRTCView]:
    view = WebRTCView("view", {"port": 0, "banner": False})
    view.setup()
    yield view
    view.close()


@dataclass
class Feeder:
    """Sends frames of one or more streams through ``node.process`` at ``fps`` from a thread.

    Frame ``n`` of every stream carries ``n`` stamped in its top rows; ``sent[n]`` is when.
    """

    node: WebRTCView
    streams: dict[str, Callable[[int], np.ndarray]]
    fps: float = 30.0
    sent: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        number, next_t = 0, time.monotonic()
        while not self._stop.wait(max(next_t - time.monotonic(), 0)):
            next_t += 1 / self.fps
            for stream, background in self.streams.items():
                image = stamp(background(number), number)
                now = time.time_ns()
                self.sent.setdefault(number, now)
                self.node.process(Frame(number, now, stream, image))
            number += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def plain(colour: tuple[int, int, int], size: tuple[int, int] = (240, 640)) -> Callable[[int], np.ndarray]:
    image = np.full((*size, 3), colour, np.uint8)
    return lambda number: image


def scene(width: int = 640, height: int = 480) -> Callable[[int], np.ndarray]:
    """Frames of a SyntheticScene (moving people and animals: real content for the encoder)."""
    source = SyntheticScene("scene", {"width": width, "height": height, "live": False, "count": 100_000})
    source.setup()
    frames = iter(source._scene)
    return lambda number: next(frames).image


@dataclass
class Received:
    number: int
    at_ns: int
    image: np.ndarray


async def watch(
    base: str, stream: str, count: int, codec: str | None = None, timeout: float = 60.0
) -> tuple[list[Received], RTCPeerConnection]:
    """Connect like the page does (offer POSTed to /offer), decode ``count`` frames; the pc stays open."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver("video", direction="recvonly")
    if codec:
        codecs = RTCRtpReceiver.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in codecs if c.mimeType in (f"video/{codec}", "video/rtx")])
    track_ready: asyncio.Future = asyncio.get_running_loop().create_future()
    pc.on("track", track_ready.set_result)
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate first
    body = json.dumps({"sdp": pc.localDescription.sdp, "type": "offer", "stream": stream}).encode()

    def post() -> dict:
        req = urllib.request.Request(f"{base}/offer", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    answer = await asyncio.get_running_loop().run_in_executor(None, post)
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    if codec:
        assert sent_codec(answer["sdp"]) == codec, f"the view answered {sent_codec(answer['sdp'])}, not {codec}"
    track = await asyncio.wait_for(track_ready, timeout)
    got: list[Received] = []
    while len(got) < count:
        frame = await asyncio.wait_for(track.recv(), timeout)
        image = frame.to_ndarray(format="bgr24")
        got.append(Received(read_stamp(image), time.time_ns(), image))
    return got, pc


def sent_codec(sdp: str) -> str:
    """The codec an answer puts first for video (what the sender will use)."""
    lines = sdp.splitlines()
    first_pt = next(line for line in lines if line.startswith("m=video")).split()[3]
    rtpmap = next(line for line in lines if line.startswith(f"a=rtpmap:{first_pt} "))
    return rtpmap.split()[1].split("/")[0]


def viewers(base: str) -> int:
    with urllib.request.urlopen(f"{base}/streams.json", timeout=10) as resp:
        return int(json.load(resp)["viewers"])


def wait_viewers(base: str, count: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while (now := viewers(base)) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    return now


def test_stamp_reads_back() -> None:
    background = np.random.default_rng(0).integers(0, 256, (480, 640, 3), np.uint8)
    for number in (0, 1, 2, 1234, 65535):
        assert read_stamp(stamp(background, number)) == number


def test_viewers_pick_a_stream_and_are_let_go_when_they_leave(node: WebRTCView) -> None:
    base = f"http://127.0.0.1:{node.server.port}"
    feeder = Feeder(node, {"red": plain((0, 0, 255)), "green": plain((0, 255, 0))})
    try:

        async def main() -> tuple[np.ndarray, np.ndarray, int]:
            (first, pc1), (second, pc2) = await asyncio.gather(watch(base, "", 5), watch(base, "green", 5))
            both = await asyncio.get_running_loop().run_in_executor(None, viewers, base)
            await pc1.close()
            await pc2.close()
            return first[-1].image, second[-1].image, both

        default, green, both = asyncio.run(main())
    finally:
        feeder.stop()
    assert both == 2
    # Below the stamp: the stream's own colour (BGR), through a lossy codec.
    assert np.abs(default[BLOCK + 10 :].mean(axis=(0, 1)) - (0, 0, 255)).max() < 20  # the first stream
    assert np.abs(green[BLOCK + 10 :].mean(axis=(0, 1)) - (0, 255, 0)).max() < 20
    assert default.shape == green.shape == (240, 640, 3)
    assert wait_viewers(base, 0) == 0  # both closed their connections: nobody is left
    node.end_stream("red")  # that camera is gone for good; the other goes on
    with urllib.request.urlopen(f"{base}/streams.json", timeout=10) as resp:
        assert json.load(resp)["streams"] == ["green"]


@pytest.mark.slow
def test_a_viewer_that_vanishes_is_let_go(node: WebRTCView) -> None:
    """A viewer that goes silent (a laptop closed, Wi-Fi lost) is dropped when ICE consent fails (~30 s)."""
    base = f"http://127.0.0.1:{node.server.port}"
    feeder = Feeder(node, {"cam": plain((255, 0, 0))})
    loop = asyncio.new_event_loop()  # the viewer's loop: not running it freezes the viewer
    pc: RTCPeerConnection | None = None
    try:
        got, pc = loop.run_until_complete(watch(base, "", 3))
        assert len(got) == 3 and viewers(base) == 1
        assert wait_viewers(base, 0, timeout=90) == 0  # no close, no DTLS goodbye: consent checks fail
    finally:
        feeder.stop()
        if pc is not None:
            loop.run_until_complete(pc.close())
        loop.close()


def test_bind_address_and_a_taken_port() -> None:
    with taken_port() as port:
        node = WebRTCView("view", {"port": port, "banner": False})
        node.setup()  # the port is taken: any free one instead, as the log says
        try:
            assert node.server.port not in (port, 0)
            assert node.server.httpd.server_address[0] == "127.0.0.1"
            assert node.url == f"http://127.0.0.1:{node.server.port}/"
        finally:
            node.close()


def test_track_sends_the_newest_frame_never_a_queue() -> None:
    async def main() -> list[int]:
        frames = NewestFrames(asyncio.get_running_loop())
        track = NewestFrameTrack(frames, "cam")
        image = np.zeros((31, 41, 3), np.uint8)  # odd sides: cropped to even for yuv420p
        for number in range(5):
            frames.put("cam", stamp_small(image, number), number)
        first = await track.recv()
        assert (first.width, first.height) == (40, 30)
        waiting = asyncio.ensure_future(track.recv())  # nothing newer yet: it waits
        await asyncio.sleep(0.05)
        assert not waiting.done()
        frames.put("cam", stamp_small(image, 7), 7)
        second = await asyncio.wait_for(waiting, 5)
        frames.close()
        with pytest.raises(MediaStreamError):  # closed: the track ends
            await asyncio.wait_for(track.recv(), 5)
        return [read_small(first), read_small(second)]

    assert asyncio.run(main()) == [4, 7]


def stamp_small(image: np.ndarray, number: int) -> np.ndarray:
    out = image.copy()
    out[:, :, 2] = number * 30  # red level says the number (lossless here: no codec involved)
    return out


def read_small(frame: object) -> int:
    return round(float(frame.to_ndarray(format="bgr24")[:, :, 2].mean()) / 30)  # type: ignore[attr-defined]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_latency_capture_to_decoded_frame(node: WebRTCView, codec: str) -> None:
    base = f"http://127.0.0.1:{node.server.port}"
    feeder = Feeder(node, {"cam": scene()}, fps=30)
    try:
        got = asyncio.run(_watch_and_close(base, LATENCY_FRAMES, codec))
    finally:
        feeder.stop()
    numbers = [r.number for r in got]
    assert all(n in feeder.sent for n in numbers), "a decoded frame carries a number that was never sent"
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "frames came twice or out of order"
    assert got[-1].image.shape == (480, 640, 3)
    ms = np.array([(r.at_ns - feeder.sent[r.number]) / 1e6 for r in got[len(got) // 10 :]])  # skip the start
    skipped = numbers[-1] - numbers[0] + 1 - len(numbers)
    print(
        f"\nWebRTCView {codec} 640x480@30 loopback, {len(ms)} frames: capture -> decoded "
        f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms; "
        f"{skipped} of {numbers[-1] - numbers[0] + 1} frames skipped (newest-only)"
    )


async def _watch_and_close(base: str, count: int, codec: str) -> list[Received]:
    got, pc = await watch(base, "", count, codec)
    await pc.close()
    return got
