"""Streams in the engine: per-stream ``latest``, a stream ending alone, batching across streams."""

from __future__ import annotations

import textwrap
import threading

import numpy as np
import pytest
from streams_engine_support import read_log

from flowpose.engine.buffers import LATEST, TIMED_OUT, Inbox, QueueSpec
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import EndOfStream, Frame
from flowpose.graph.validate import validate_text
from flowpose.node import BatchLimits
from flowpose.runners.batching import BatchGatherer
from flowpose.transport import decode, encode

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(stream: str, frame_id: int) -> Frame:
    return Frame(frame_id=frame_id, capture_ns=0, source=stream, image=IMAGE)


def test_latest_keeps_the_newest_frame_of_each_stream() -> None:
    inbox = Inbox([QueueSpec("b", LATEST, 1)])
    for msg in (frame("a", 0), frame("b", 0), frame("a", 1), frame("c", 0), frame("b", 1)):
        inbox.put(0, msg)
    got = [inbox.get(0) for _ in range(3)]
    assert [(m.source, m.frame_id) for _, m in got] == [("a", 1), ("c", 0), ("b", 1)]
    assert inbox.drops == [2]


def test_get_with_a_timeout_says_so() -> None:
    inbox = Inbox([QueueSpec("b", LATEST, 1)])
    assert inbox.get(0.01) is TIMED_OUT
    inbox.close()
    assert inbox.get(0.01) is None


def test_a_batch_of_one_stream_closes_at_once() -> None:
    inbox = Inbox([QueueSpec("b", "lossless", 8)])
    inbox.put(0, frame("a", 0))
    gatherer = BatchGatherer(inbox, BatchLimits(8, 30.0))  # a wait it must never sit out
    timer = threading.Timer(0.3, inbox.put, (0, frame("a", 1)))
    timer.start()
    assert [f.frame_id for f in gatherer.next().frames] == [0]  # the frame a wait would have added
    timer.join()
    assert [f.frame_id for f in gatherer.next().frames] == [1]


def test_a_batch_takes_what_is_queued_waits_for_the_streams_seen_and_holds_max_batch() -> None:
    inbox = Inbox([QueueSpec("b", "lossless", 8)])
    gatherer = BatchGatherer(inbox, BatchLimits(3, 0.05))
    for s in "abcd":
        inbox.put(0, frame(s, 0))
    assert [f.source for f in gatherer.next().frames] == ["a", "b", "c"]  # queued ones join; max_batch
    threading.Timer(0.01, inbox.put, (0, frame("a", 1))).start()
    assert [f.source for f in gatherer.next().frames] == ["d", "a"]  # d waits for the others


def test_a_late_stream_joins_the_batch_that_waits_for_it() -> None:
    inbox = Inbox([QueueSpec("b", "lossless", 8)])
    gatherer = BatchGatherer(inbox, BatchLimits(8, 30.0))
    inbox.put(0, frame("a", 0))
    inbox.put(0, frame("b", 0))
    assert len(gatherer.next().frames) == 2  # both streams are now known
    inbox.put(0, frame("a", 1))
    threading.Timer(0.05, inbox.put, (0, frame("b", 1))).start()
    assert [f.source for f in gatherer.next().frames] == ["a", "b"]


def test_a_stream_end_closes_the_batch_and_the_stream_is_no_longer_waited_for() -> None:
    inbox = Inbox([QueueSpec("b", "lossless", 8)])
    gatherer = BatchGatherer(inbox, BatchLimits(8, 30.0))
    inbox.put(0, frame("a", 0))
    inbox.put(0, frame("b", 0))
    gatherer.next()
    inbox.put(0, frame("a", 1))
    inbox.put(0, EndOfStream("src", "b"))
    batch = gatherer.next()
    assert [f.source for f in batch.frames] == ["a"] and batch.end == EndOfStream("src", "b")
    inbox.put(0, frame("a", 2))
    assert [f.frame_id for f in gatherer.next().frames] == [2]  # b is gone: no wait


def test_a_stream_end_crosses_the_wire() -> None:
    for eos in (EndOfStream("cam"), EndOfStream("cam", "cam3")):
        assert decode(encode(eos)) == eos


def run(text: str, tmp_path) -> int:
    graph = validate_text(textwrap.dedent(text).replace("{tmp}", str(tmp_path)), "t.yaml")
    return GraphRunner(graph).run(handle_signals=False).exit_code


@pytest.mark.parametrize("runner", ["thread", "process"])
def test_a_stream_that_ends_ends_alone(tmp_path, runner: str) -> None:
    code = run(
        f"""\
        nodes:
          - {{name: cams, type: 'streams_engine_support:Streams', outputs: [frames],
              params: {{streams: 3, count: 12, end: s1, end_after: 4}}}}
          - {{name: batch, type: 'streams_engine_support:Batches', inputs: [frames], outputs: [out],
              runner: {runner}, params: {{log: '{{tmp}}/batch.jsonl'}}}}
          - {{name: sink, type: 'streams_engine_support:Record', inputs: [out], params: {{log: '{{tmp}}/sink.jsonl'}}}}
        """,
        tmp_path,
    )
    assert code == 0
    sink = read_log(tmp_path / "sink.jsonl")
    ends = [i for i, r in enumerate(sink) if "end" in r]
    assert [sink[i]["end"] for i in ends] == ["s1"]  # told once, passed on once
    s1 = [i for i, r in enumerate(sink) if r.get("frame") == "s1"]
    assert len(s1) == 4 and max(s1) < ends[0]  # nothing of s1 after its end
    after = [r["frame"] for r in sink[ends[0] :] if "frame" in r]
    assert after.count("s0") >= 8 and after.count("s2") >= 8  # the others go on to their end
    assert sum(r.get("frame") == "s0" for r in sink) == 12
    assert {"end": "s1"} in read_log(tmp_path / "batch.jsonl")


def test_a_joined_node_passes_a_stream_end_on_once_both_inputs_carried_it(tmp_path) -> None:
    code = run(
        """\
        nodes:
          - {name: cams, type: 'streams_engine_support:Streams', outputs: [frames],
              params: {streams: 2, count: 8, end: s0, end_after: 3}}
          - {name: left, type: PassThrough, inputs: [frames], outputs: [l]}
          - {name: right, type: PassThrough, inputs: [frames], outputs: [r]}
          - {name: both, type: 'testnodes:Join', inputs: [l, r], outputs: [out]}
          - {name: sink, type: 'streams_engine_support:Record', inputs: [out], params: {log: '{tmp}/sink.jsonl'}}
        """,
        tmp_path,
    )
    assert code == 0
    sink = read_log(tmp_path / "sink.jsonl")
    assert [r["end"] for r in sink if "end" in r] == ["s0"]
    assert sum(r.get("frame") == "s0" for r in sink) == 3 and sum(r.get("frame") == "s1" for r in sink) == 8


@pytest.mark.parametrize("runner", ["thread", "process"])
def test_frames_of_many_streams_are_batched_and_stay_in_order(tmp_path, runner: str) -> None:
    code = run(
        f"""\
        nodes:
          - {{name: cams, type: 'streams_engine_support:Streams', outputs: [frames],
              params: {{streams: 4, count: 15}}}}
          - {{name: batch, type: 'streams_engine_support:Batches', inputs: [frames], outputs: [out],
              runner: {runner}, params: {{work_ms: 10, log: '{{tmp}}/batch.jsonl'}}}}
          - {{name: sink, type: 'streams_engine_support:Record', inputs: [out], params: {{log: '{{tmp}}/sink.jsonl'}}}}
        buffers:
          frames: {{size: 4}}
        """,
        tmp_path,
    )
    assert code == 0
    batches = [r["batch"] for r in read_log(tmp_path / "batch.jsonl") if "batch" in r]
    assert sum(map(len, batches)) == 60 and max(map(len, batches)) > 1
    assert max(map(len, batches)) <= 8
    sink = read_log(tmp_path / "sink.jsonl")
    for s in ("s0", "s1", "s2", "s3"):
        ids = [r["id"] for r in sink if r.get("frame") == s]
        assert len(ids) == 15 and ids == sorted(ids)
