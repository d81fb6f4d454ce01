"""The thread runner end to end: drain, policies, joins, failures, restarts, stopping."""

from __future__ import annotations

import textwrap
import threading

import pytest

import testnodes
from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.graph.validate import validate_text


def make(text: str, trace: bool = False) -> GraphRunner:
    return GraphRunner(validate_text(textwrap.dedent(text), "t.yaml"), trace=trace)


def run(text: str) -> tuple[GraphRunner, RunResult]:
    runner = make(text)
    return runner, runner.run(handle_signals=False)


def stats_of(result: RunResult, name: str):
    return next(s for s in result.stats if s.name == name)


FILE_CHAIN = """\
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {count: 50, fps: 0, live: false}}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: sink, type: 'testnodes:Collect', inputs: [out]}
"""


def test_file_source_drains_completely() -> None:
    runner, result = run(FILE_CHAIN)
    assert result.exit_code == 0 and result.failure is None
    frames = testnodes.COLLECTED["sink"]
    assert [f.frame_id for f in frames] == list(range(50))
    assert [h.node for h in frames[0].trace] == ["camera", "relay"]  # a sink's own hop goes nowhere
    assert all(h.t_in <= h.t_out for h in frames[0].trace)
    assert testnodes.CLOSED["sink"] == 1
    assert runner.buffers["frames"].spec.policy == "lossless"  # file-like source -> lossless
    sink = stats_of(result, "sink")
    assert sink.frames == 50 and sink.latency_ms_p50 is not None and sink.drops == 0


def test_fan_out_graph() -> None:
    _, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 30, fps: 0, live: false}}
      - {name: a, type: 'testnodes:Collect', inputs: [frames]}
      - {name: b, type: 'testnodes:Collect', inputs: [frames], params: {work_ms: 1}}
    """)
    assert result.exit_code == 0
    assert [f.frame_id for f in testnodes.COLLECTED["a"]] == list(range(30))
    assert [f.frame_id for f in testnodes.COLLECTED["b"]] == list(range(30))


def test_live_source_defaults_to_latest_and_drops_behind_a_slow_node() -> None:
    runner, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 60, fps: 0, live: true}}
      - {name: slow, type: 'testnodes:Collect', inputs: [frames], params: {work_ms: 5}}
    buffers:
      frames: {size: 1}
    """)
    assert runner.buffers["frames"].spec.policy == "latest"
    assert result.exit_code == 0
    got = [f.frame_id for f in testnodes.COLLECTED["slow"]]
    slow = stats_of(result, "slow")
    assert slow.drops > 0 and slow.drops + len(got) == 60
    assert got == sorted(got) and got[-1] == 59  # the newest frame is never the one dropped


def test_explicit_lossless_never_drops_behind_a_slow_node() -> None:
    _, result = run("""\
    defaults: {buffer: {policy: lossless, size: 1}}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 40, fps: 0, live: true}}
      - {name: slow, type: 'testnodes:Collect', inputs: [frames], params: {work_ms: 2}}
    """)
    assert result.exit_code == 0
    assert [f.frame_id for f in testnodes.COLLECTED["slow"]] == list(range(40))
    assert stats_of(result, "slow").drops == 0


def test_join_with_drops_on_both_branches_never_stalls() -> None:
    _, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 60, fps: 0, live: false}}
      - {name: thirds, type: 'testnodes:DropEvery', inputs: [frames], outputs: [a], params: {n: 3}}
      - {name: fifths, type: 'testnodes:DropEvery', inputs: [frames], outputs: [b], params: {n: 5}}
      - {name: tag, type: 'testnodes:Tag', inputs: [b], outputs: [b2], params: {key: tagged}}
      - {name: join, type: 'testnodes:Join', inputs: [a, b2], outputs: [joined]}
      - {name: sink, type: 'testnodes:Collect', inputs: [joined]}
    """)
    assert result.exit_code == 0
    frames = testnodes.COLLECTED["sink"]
    assert [f.frame_id for f in frames] == [i for i in range(60) if i % 3 and i % 5]
    assert all(f.meta == {"tagged": 1, "joined": True} for f in frames)


def test_failing_node_stops_the_graph_and_is_named() -> None:
    _, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 200}}
      - {name: boom, type: 'testnodes:Fail', inputs: [frames], outputs: [out], params: {fail_at: 3}}
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    """)
    assert result.exit_code == 1
    assert result.failure is not None and result.failure.node == "boom"
    assert "RuntimeError: boom at frame" in result.failure.error
    assert "Traceback" in result.failure.traceback and "testnodes.py" in result.failure.traceback
    assert testnodes.CLOSED["boom"] == 1 and testnodes.CLOSED["sink"] == 1  # everyone closed cleanly
    assert result.stuck == []


def test_restart_on_failure_recovers() -> None:
    _, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 20, fps: 0, live: false}}
      - name: flaky
        type: 'testnodes:Fail'
        inputs: [frames]
        outputs: [out]
        params: {fail_at: 5, times: 2}
        restart: on-failure
        max_restarts: 3
        backoff: 0.01
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    """)
    assert result.exit_code == 0
    assert stats_of(result, "flaky").restarts == 2
    assert testnodes.CLOSED["flaky"] == 3
    # The two frames that raised are lost; everything else arrives in order.
    assert [f.frame_id for f in testnodes.COLLECTED["sink"]] == [i for i in range(20) if i not in (5, 6)]


def test_restarts_are_bounded() -> None:
    _, result = run("""\
    defaults: {restart: on-failure, max_restarts: 2, backoff: 0.01}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 50, fps: 0, live: false}}
      - {name: flaky, type: 'testnodes:Fail', inputs: [frames], params: {fail_at: 1}}
    """)
    assert result.exit_code == 1
    assert result.failure is not None and result.failure.node == "flaky"
    assert stats_of(result, "flaky").restarts == 2


def test_stop_leaves_a_stuck_node_behind() -> None:
    runner = make("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 100}}
      - {name: hang, type: 'testnodes:Hang', inputs: [frames]}
    """)
    threading.Timer(0.3, runner.request_stop, args=(130,)).start()
    result = runner.run(handle_signals=False)
    assert result.exit_code == 130
    assert result.stuck == ["hang"]


def test_stop_request_ends_a_live_graph() -> None:
    runner = make("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 100}}
      - {name: sink, type: 'testnodes:Collect', inputs: [frames]}
    """)
    threading.Timer(0.3, runner.request_stop, args=(143,)).start()
    result = runner.run(handle_signals=False)
    assert result.exit_code == 143 and result.stuck == []
    assert testnodes.CLOSED["sink"] == 1 and len(testnodes.COLLECTED["sink"]) > 0


def test_trace_records_spans_for_every_node() -> None:
    runner = make(FILE_CHAIN, trace=True)
    assert runner.run(handle_signals=False).exit_code == 0
    chrome = runner.trace.to_chrome()
    spans = [e for e in chrome["traceEvents"] if e["ph"] == "X"]
    assert {e["name"] for e in spans} == {"camera", "relay", "sink"}
    assert sum(e["name"] == "relay" for e in spans) == 50
    names = {e["args"]["name"] for e in chrome["traceEvents"] if e.get("name") == "thread_name"}
    assert names == {"camera", "relay", "sink"}


def test_a_node_can_end_the_graph_cleanly_and_counters_reach_stats() -> None:
    _, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {fps: 200}}
      - {name: quit, type: 'testnodes:StopAt', inputs: [frames], outputs: [out], params: {at: 5}}
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    """)
    assert result.exit_code == 0 and result.failure is None
    assert stats_of(result, "quit").counters == {"seen": 6}
    assert testnodes.CLOSED["sink"] == 1


def _run_with_backstop(text: str, seconds: float = 20.0) -> RunResult:
    """Run; a stop request after ``seconds`` ends a graph the watchdog failed to end (exit 130)."""
    runner = make(text)
    backstop = threading.Timer(seconds, runner.request_stop, args=(130,))
    backstop.start()
    try:
        return runner.run(handle_signals=False)
    finally:
        backstop.cancel()


@pytest.mark.parametrize("phase", ["process", "setup"])
def test_a_node_hung_past_its_timeout_stops_the_graph_with_its_stack(phase: str) -> None:
    result = _run_with_backstop(f"""\
    nodes:
      - {{name: camera, type: TestPattern, outputs: [frames], params: {{fps: 100}}}}
      - {{name: hang, type: 'testnodes:Hang', inputs: [frames], timeout_s: 0.3,
         params: {{in_setup: {str(phase == "setup").lower()}}}}}
    """)
    assert result.exit_code == 1
    assert result.failure is not None and result.failure.node == "hang"
    assert f"hung: in {phase}() for" in result.failure.error and "timeout_s 0.3" in result.failure.error
    assert f"in {phase}" in result.failure.traceback and "time.sleep" in result.failure.traceback
    assert result.stuck == ["hang"]


def test_a_slow_node_within_its_timeout_is_left_alone() -> None:
    result = _run_with_backstop("""\
    defaults: {timeout_s: 5}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 5, fps: 0, live: false}}
      - {name: sink, type: 'testnodes:Collect', inputs: [frames], params: {work_ms: 50}}
    """)
    assert result.exit_code == 0 and result.failure is None
    assert len(testnodes.COLLECTED["sink"]) == 5
