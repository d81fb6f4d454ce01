"""A node joining inputs from different sources is refused: it would wait forever and process nothing."""

from __future__ import annotations

import textwrap

import pytest

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.problems import GraphError
from flowpose.graph.validate import validate_text


def graph(nodes: str) -> str:
    return textwrap.dedent(nodes)


TWO_CAMERAS = graph("""\
    nodes:
      - {name: cam1, type: TestPattern, outputs: [a], params: {count: 5, fps: 0, live: false}}
      - {name: cam2, type: TestPattern, outputs: [b], params: {count: 5, fps: 0, live: false}}
      - {name: relay, type: PassThrough, inputs: [b], outputs: [bb]}
      - {name: both, type: MergeInstances, inputs: [a, bb], outputs: [c]}
      - {name: log, type: LogSink, inputs: [c]}
    """)


def test_inputs_from_two_sources_are_refused_with_what_to_do() -> None:
    with pytest.raises(GraphError) as info:
        validate_text(TWO_CAMERAS, "g.yaml")
    report = info.value.report()
    assert "1 problem found" in report
    assert "node 'both': inputs: joins inputs from different sources ('a' from 'cam1', 'bb' from 'cam2')" in report
    assert "Give each source its own chain of nodes" in report


def test_branches_of_one_source_still_join_and_run() -> None:
    text = graph("""\
        nodes:
          - {name: cam, type: TestPattern, outputs: [frames], params: {count: 5, fps: 0, live: false}}
          - {name: left, type: PassThrough, inputs: [frames], outputs: [l]}
          - {name: right, type: PassThrough, inputs: [frames], outputs: [r]}
          - {name: both, type: MergeInstances, inputs: [l, r], outputs: [c]}
          - {name: log, type: NullSink, inputs: [c]}
        """)
    result = GraphRunner(validate_text(text, "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0
    assert next(s for s in result.stats if s.name == "log").frames == 5
