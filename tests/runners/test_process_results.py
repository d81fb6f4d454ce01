"""Process nodes give the same results as threads: ids, meta, instances, images, joins."""

from __future__ import annotations

import numpy as np
import pytest

import testnodes
from process_support import alive, all_child_pids, run, stats_of

GRAPH = """\
defaults: {{runner: {default}}}
nodes:
  - {{name: camera, type: TestPattern, outputs: [frames], params: {{count: 40, fps: 0, live: false, width: 320,
     height: 240}}, runner: {src}}}
  - {{name: tag, type: 'testnodes:Tag', inputs: [frames], outputs: [tagged], params: {{key: a, value: 7}},
     runner: {mid}}}
  - {{name: person, type: 'process_support:AddPerson', inputs: [tagged], outputs: [people]}}
  - {{name: drop, type: 'testnodes:DropEvery', inputs: [frames], outputs: [kept], params: {{n: 4}}}}
  - {{name: join, type: 'testnodes:Join', inputs: [people, kept], outputs: [joined], runner: {mid}}}
  - {{name: sink, type: 'testnodes:Collect', inputs: [joined], runner: thread}}
"""


def _collect(default: str, src: str, mid: str) -> list:
    testnodes.reset()
    runner, result = run(GRAPH.format(default=default, src=src, mid=mid))
    assert result.exit_code == 0, result.failure
    assert not any(alive(p) for p in all_child_pids(runner))
    return list(testnodes.COLLECTED["sink"])


def _same(a, b) -> None:
    assert [f.frame_id for f in a] == [f.frame_id for f in b]
    for x, y in zip(a, b, strict=True):
        assert (x.source, x.meta) == (y.source, y.meta)
        assert np.array_equal(x.image, y.image)
        assert [h.node for h in x.trace] == [h.node for h in y.trace]
        assert len(x.instances) == len(y.instances)
        for i, j in zip(x.instances, y.instances, strict=True):
            assert (i.label, i.score, i.track_id, i.layout) == (j.label, j.score, j.track_id, j.layout)
            assert np.array_equal(i.bbox, j.bbox) and np.array_equal(i.keypoints, j.keypoints)
            assert np.array_equal(i.keypoint_scores, j.keypoint_scores)


@pytest.mark.parametrize(
    ("default", "src", "mid"),
    [("thread", "thread", "process"), ("thread", "process", "thread"), ("process", "process", "process")],
    ids=["middle-in-processes", "source-in-a-process", "all-but-sink-in-processes"],
)
def test_mixed_graph_gives_the_same_results_as_threads(default: str, src: str, mid: str) -> None:
    threads = _collect("thread", "thread", "thread")
    assert [f.frame_id for f in threads] == [i for i in range(40) if i % 4]
    _same(_collect(default, src, mid), threads)


def test_stats_and_trace_include_children() -> None:
    runner, result = run(
        """\
        nodes:
          - {name: camera, type: TestPattern, outputs: [frames], params: {count: 30, fps: 0, live: false}}
          - {name: relay, type: 'process_support:Stamp', inputs: [frames], outputs: [out], runner: process}
          - {name: sink, type: 'testnodes:Collect', inputs: [out]}
        """,
        trace=True,
    )
    assert result.exit_code == 0
    relay = stats_of(result, "relay")
    assert (relay.runner, relay.frames, relay.drops) == ("process", 30, 0)
    assert relay.proc_ms_p50 is not None
    pids = {f.meta["pid_relay"] for f in testnodes.COLLECTED["sink"]}
    assert pids == set(runner.runners["relay"].pids)  # it really ran in its own process
    assert len(runner.trace.events["relay"]) == 30
    assert runner.buffer_table()["out"]["written"] == 30
