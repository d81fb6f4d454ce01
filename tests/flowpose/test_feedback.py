"""Feedback buffers: a node reads the newest frame of a buffer written downstream, never waiting."""

from __future__ import annotations

import pytest

import testnodes
from flowpose.engine.runtime import GraphRunner
from flowpose.graph.problems import GraphError
from flowpose.graph.render import to_dot, to_mermaid
from flowpose.graph.validate import validate_text

LOOP = """\
nodes:
  - {{name: camera, type: TestPattern, outputs: [frames], params: {{count: 60, fps: 0, live: false, width: 64,
     height: 48}}}}
  - {{name: looker, type: 'testnodes:ShowFeedback', inputs: [frames], feedback: [slow_out], outputs: [looked],
     params: {{await_at: 30}}, runner: {looker}}}
  - {{name: slow, type: 'testnodes:Collect', inputs: [looked], outputs: [slow_out], params: {{work_ms: 2}},
     runner: {slow}}}
  - {{name: sink, type: 'testnodes:Collect', inputs: [slow_out]}}
"""


@pytest.mark.parametrize(
    ("looker", "slow"),
    [("thread", "thread"), ("process", "thread"), ("thread", "process"), ("process", "process")],
)
def test_feedback_closes_a_loop_without_deadlock(looker: str, slow: str) -> None:
    testnodes.reset()
    runner = GraphRunner(validate_text(LOOP.format(looker=looker, slow=slow)))
    result = runner.run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    frames = testnodes.COLLECTED["sink"]
    assert [f.frame_id for f in frames] == list(range(60))  # lossless behind a file: nothing lost
    seen = [f.meta["feedback"].get("slow_out") for f in frames]
    # Feedback always shows an older frame (it went through `slow` first) and does show up.
    assert all(s is None or s < f.frame_id for s, f in zip(seen, frames, strict=True))
    # How many early frames see feedback depends on how far the looker runs ahead (a child
    # process starts slower than a thread); frame 30 waits for the first feedback frame, so
    # from there on every frame must show one.
    assert all(s is not None for s in seen[30:]), seen
    # The newest feedback frame never goes backwards.
    ids = [s for s in seen if s is not None]
    assert ids == sorted(ids)


def test_feedback_is_no_cycle_but_an_input_loop_is() -> None:
    graph = validate_text(LOOP.format(looker="thread", slow="thread"))
    assert "-. slow_out (feedback) .->" in to_mermaid(graph.spec)
    assert "style=dashed" in to_dot(graph.spec)
    looped = LOOP.format(looker="thread", slow="thread").replace(
        "inputs: [frames], feedback: [slow_out]", "inputs: [frames, slow_out]"
    )
    with pytest.raises(GraphError, match="cycle: looker -> slow -> looker"):
        validate_text(looped)


@pytest.mark.parametrize(
    ("feedback", "message"),
    [
        ("[nowhere]", "buffer 'nowhere' is read but no node writes it"),
        ("[frames]", "both an input and a feedback buffer"),
        ("[slow_out, slow_out]", "listed twice"),
    ],
)
def test_bad_feedback_is_reported(feedback: str, message: str) -> None:
    text = LOOP.format(looker="thread", slow="thread").replace("feedback: [slow_out]", f"feedback: {feedback}")
    with pytest.raises(GraphError) as err:
        validate_text(text)
    assert message in str(err.value)
    assert "feedback" in str(err.value)


def test_a_source_cannot_take_feedback() -> None:
    text = LOOP.format(looker="thread", slow="thread").replace(
        "outputs: [frames], params", "outputs: [frames], feedback: [slow_out], params"
    )
    with pytest.raises(GraphError, match="feedback needs a node with inputs"):
        validate_text(text)
