"""Buffer policies across processes: lossless never drops, latest drops (counted) and stays fresh."""

from __future__ import annotations

import testnodes
from process_support import run, stats_of


def test_lossless_delivers_every_frame_in_order_behind_a_slow_process_node() -> None:
    _, result = run("""\
    defaults: {buffer: {policy: lossless, size: 1}}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 40, fps: 0, live: true}}
      - {name: slow, type: PassThrough, inputs: [frames], outputs: [out], params: {work_ms: 5}, runner: process}
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    """)
    assert result.exit_code == 0, result.failure
    assert [f.frame_id for f in testnodes.COLLECTED["sink"]] == list(range(40))
    assert stats_of(result, "slow").drops == 0 and stats_of(result, "sink").drops == 0


def test_lossless_from_a_process_source_into_a_slow_thread() -> None:
    _, result = run("""\
    defaults: {buffer: {policy: lossless, size: 2}}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 30, fps: 0, live: false}, runner: process}
      - {name: sink, type: 'testnodes:Collect', inputs: [frames], params: {work_ms: 3}}
    """)
    assert result.exit_code == 0, result.failure
    assert [f.frame_id for f in testnodes.COLLECTED["sink"]] == list(range(30))


def test_latest_drops_are_counted_and_the_newest_frame_arrives() -> None:
    runner, result = run("""\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 60, fps: 0, live: true}}
      - {name: slow, type: PassThrough, inputs: [frames], outputs: [out], params: {work_ms: 5}, runner: process}
      - {name: sink, type: 'testnodes:Collect', inputs: [out]}
    buffers:
      frames: {size: 1}
      out: {policy: lossless}
    """)
    assert runner.buffers["frames"].spec.policy == "latest"
    assert result.exit_code == 0, result.failure
    got = [f.frame_id for f in testnodes.COLLECTED["sink"]]
    slow = stats_of(result, "slow")
    assert slow.drops > 0 and slow.drops + len(got) == 60  # every frame either arrived or was counted
    assert got == sorted(got) and got[-1] == 59  # never a stale frame after a newer one; the newest arrives


def test_latest_between_two_processes_keeps_order_and_counts() -> None:
    _, result = run("""\
    defaults: {runner: process}
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames], params: {count: 50, fps: 0, live: true}}
      - {name: slow, type: PassThrough, inputs: [frames], outputs: [out], params: {work_ms: 4}}
      - {name: sink, type: 'testnodes:Collect', inputs: [out], runner: thread}
    buffers:
      frames: {size: 1}
      out: {policy: lossless}
    """)
    assert result.exit_code == 0, result.failure
    got = [f.frame_id for f in testnodes.COLLECTED["sink"]]
    assert stats_of(result, "slow").drops + len(got) == 50
    assert got == sorted(got) and got[-1] == 49
