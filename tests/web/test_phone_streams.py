"""PhoneCamera's phones as streams: listed, paused and removed through the stream registry, over real WebSockets."""

from __future__ import annotations

import json
import ssl
import struct

import cv2
import numpy as np
import pytest
import stream_sinks
from stream_sinks import wait_until
from websockets.sync.client import ClientConnection, connect

from flowpose.nodes.phone_hub import lookup
from flowpose.streams import StreamError, find_control, registered
from web_support import RunningGraph

GRAPH = """
nodes:
  - {name: phone, type: PhoneCamera, outputs: [frames], params: {host: 127.0.0.1, port: 0, banner: false}}
  - {name: sink, type: 'stream_sinks:StreamSink', inputs: [frames]}
"""

INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE  # self-signed
INSECURE.maximum_version = ssl.TLSVersion.TLSv1_2  # as in test_phone_protocol.py (a sync-client quirk)
JPEG = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()


def hello(ws: ClientConnection, client: str, name: str) -> None:
    ws.send(json.dumps({"type": "hello", "client": client, "name": name}))
    assert json.loads(ws.recv(timeout=10))["type"] == "welcome"


def send(ws: ClientConnection, seq: int) -> bool:
    """Send one frame; whether the node dropped it (from its ack)."""
    ws.send(struct.pack(">I", seq) + JPEG)
    ack = json.loads(ws.recv(timeout=10))
    assert ack["type"] == "ack" and ack["seq"] == seq
    return ack["dropped"]


@pytest.mark.timeout(60)
def test_phones_are_streams_that_can_be_paused_and_removed() -> None:
    stream_sinks.reset()
    with RunningGraph(GRAPH) as graph:
        hub = lookup("phone")
        assert hub is not None and hub.serving.wait(20)
        url = hub.url.replace("https://", "wss://").replace("/?", "/ws?")
        with connect(url, ssl=INSECURE, open_timeout=10) as a, connect(url, ssl=INSECURE, open_timeout=10) as b:
            hello(a, "client-a", "a")
            hello(b, "client-b", "b")
            assert not send(a, 1) and not send(b, 1)
            wait_until(lambda: len(stream_sinks.arrived("sink")) == 2, "both frames arrive")
            control = find_control("phone")
            listed = {i.id: i for i in control.list_streams()}
            assert {k: (i.state, i.frames) for k, i in listed.items()} == {
                "phone/a": ("running", 1),
                "phone/b": ("running", 1),
            }

            with pytest.raises(StreamError, match="phones join from the page: open https://") as info:
                control.add_stream("http://elsewhere/video")
            assert info.value.status == 400

            assert control.pause_stream("phone/a", True).state == "paused"
            assert send(a, 2) is True  # acked as dropped: the page sends on, nothing queues
            control.pause_stream("phone/a", False)
            assert send(a, 3) is False

            control.remove_stream("phone/b")
            wait_until(lambda: stream_sinks.ended("sink") == ["phone/b"], "phone/b's end reaches the sink")
            assert send(b, 2) is True and not send(a, 4)
            wait_until(lambda: len(stream_sinks.arrived("sink", "phone/a")) == 3, "phone/a goes on")
            assert [g.stream for g in stream_sinks.arrived("sink")].count("phone/b") == 1
            assert {i.id: i.state for i in control.list_streams()}["phone/b"] == "ended"
            with pytest.raises(StreamError) as unknown:
                control.pause_stream("phone/zz", True)
            assert unknown.value.status == 404
        result = graph.stop()
    assert result.exit_code == 0 and result.failure is None
    assert "phone" not in registered()
