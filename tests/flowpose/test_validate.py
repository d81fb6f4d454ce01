"""Graph validation: every kind of problem is reported, all at once, with file, line, node and field."""

from __future__ import annotations

import textwrap

import pytest

from flowpose.graph.problems import GraphError, Problem
from flowpose.graph.validate import load_graph, validate_text

GOOD = """\
name: ok
nodes:
  - {name: camera, type: TestPattern, outputs: [frames], params: {count: 5, live: false}}
  - {name: relay, type: PassThrough, inputs: [frames], outputs: [out]}
  - {name: sink, type: NullSink, inputs: [out]}
"""


def problems(text: str, overrides: tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(GraphError) as info:
        validate_text(textwrap.dedent(text), "g.yaml", overrides)
    return info.value.problems


def only(text: str, overrides: tuple[str, ...] = ()) -> Problem:
    found = problems(text, overrides)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_good_graph_validates() -> None:
    graph = validate_text(GOOD, "g.yaml")
    assert [n.name for n in graph.spec.nodes] == ["camera", "relay", "sink"]
    assert graph.writers == {"frames": "camera", "out": "relay"}
    assert graph.params["camera"].count == 5


def test_yaml_syntax_error_has_line() -> None:
    p = only("name: x\nnodes:\n  - {name: a, type: NullSink\n  - name: b\n")
    assert p.line is not None and p.line >= 3
    assert "YAML syntax error" in p.message
    assert str(p).startswith("g.yaml:")


def test_unknown_type_suggests_close_match() -> None:
    p = only(GOOD.replace("type: PassThrough", "type: PasThrough"))
    assert (p.node, p.field, p.line) == ("relay", "type", 4)
    assert "did you mean 'PassThrough'" in p.message


def test_unknown_param_suggests_close_match() -> None:
    p = only(GOOD.replace("count: 5", "count: 5, heigth: 100"))
    assert (p.node, p.field, p.line) == ("camera", "params.heigth", 3)
    assert "unknown param 'heigth'" in p.message and "did you mean 'height'" in p.message


def test_mistyped_param() -> None:
    p = only(GOOD.replace("count: 5", "count: lots"))
    assert (p.node, p.field) == ("camera", "params.count")
    assert "lots" in p.message and "integer" in p.message


def test_missing_required_param() -> None:
    text = GOOD.replace("type: PassThrough", "type: 'testnodes:Needs'")
    p = only(text)
    assert (p.node, p.field) == ("relay", "params.threshold")
    assert "missing" in p.message


def test_buffer_read_but_never_written() -> None:
    p = only(GOOD.replace("inputs: [out]", "inputs: [outt]"))
    assert (p.node, p.field, p.line) == ("sink", "inputs", 5)
    assert "'outt' is read but no node writes it" in p.message and "did you mean 'out'" in p.message


def test_buffer_written_by_two_nodes() -> None:
    found = problems(GOOD + "  - {name: other, type: PassThrough, inputs: [frames], outputs: [out]}\n")
    assert {(p.node, p.field) for p in found} == {("relay", "outputs"), ("other", "outputs")}
    assert all("written by 2 nodes" in p.message for p in found)


def test_duplicate_node_names() -> None:
    found = problems(GOOD + "  - {name: sink, type: NullSink, inputs: [frames]}\n")
    assert [(p.node, p.field, p.line) for p in found] == [("sink", "name", 5), ("sink", "name", 6)]


def test_cycle_is_reported_with_its_path() -> None:
    text = """\
    nodes:
      - {name: camera, type: TestPattern, outputs: [frames]}
      - {name: a, type: 'testnodes:Join', inputs: [frames, back], outputs: [x]}
      - {name: b, type: PassThrough, inputs: [x], outputs: [back]}
    """
    p = only(text)
    assert p.node == "a" and "cycle: a -> b -> a" in p.message


def test_all_problems_reported_at_once() -> None:
    text = """\
    nodes:
      - {name: camera, type: TestPatern, outputs: [frames]}
      - {name: relay, type: PassThrough, inputs: [frame], outputs: [out], params: {work_ms: fast}}
      - {name: relay, type: NullSink, inputs: [out]}
    """
    found = problems(text)
    fields = {(p.node, p.field) for p in found}
    assert ("camera", "type") in fields
    assert ("relay", "params.work_ms") in fields
    assert ("relay", "inputs") in fields
    assert ("relay", "name") in fields
    assert len(found) >= 5


def test_structural_errors_of_the_file() -> None:
    found = problems("nodes:\n  - {name: a b, type: NullSink, inputs: [x], runner: fiber}\nbogus: 1\n")
    fields = {p.field for p in found}
    assert {"name", "runner", "bogus"} <= fields


def test_source_with_inputs_and_filter_without() -> None:
    text = """\
    nodes:
      - {name: camera, type: TestPattern, inputs: [x], outputs: [frames]}
      - {name: relay, type: PassThrough, outputs: [x]}
    """
    found = {(p.node, p.field): p.message for p in problems(text)}
    assert "source and takes no inputs" in found[("camera", "inputs")]
    assert "needs at least one input" in found[("relay", "inputs")]


def test_node_check_hook_runs() -> None:
    p = only(GOOD.replace("count: 5, live: false", "live: false"))
    assert (p.node, p.field) == ("camera", "params.count") and "count > 0" in p.message


@pytest.mark.parametrize(
    ("override", "attr", "expected"),
    [
        ("camera.count=7", "count", 7),
        ("camera.fps=12.5", "fps", 12.5),
        ("camera.live=false", "live", False),
    ],
)
def test_set_overrides_are_typed(override: str, attr: str, expected: object) -> None:
    graph = validate_text(GOOD, "g.yaml", [override])
    assert getattr(graph.params["camera"], attr) == expected
    assert type(getattr(graph.params["camera"], attr)) is type(expected)


def test_set_override_string_list_and_union() -> None:
    text = GOOD.replace("type: PassThrough", "type: 'testnodes:Needs'").replace(
        "outputs: [out]}", "outputs: [out], params: {threshold: 0.5}}"
    )
    graph = validate_text(
        text, "g.yaml", ["relay.labels=[person, dog]", "relay.name_or_index=rtsp://x", "relay.threshold=1"]
    )
    params = graph.params["relay"]
    assert params.labels == ["person", "dog"]
    assert params.name_or_index == "rtsp://x"
    assert params.threshold == 1.0


def test_set_override_errors_point_at_the_command_line() -> None:
    found = problems(GOOD, ("camera.count=many", "nobody.x=1", "broken"))
    texts = [str(p) for p in found]
    assert any(t.startswith("--set: node 'camera': params.count") and "camera.count=many" in t for t in texts)
    assert any("no node named 'nobody'" in t for t in texts)
    assert any("expected NODE.PARAM=VALUE" in t for t in texts)


def test_missing_file_is_a_problem(tmp_path) -> None:
    with pytest.raises(GraphError) as info:
        load_graph(tmp_path / "nope.yaml")
    assert "not found" in info.value.report()


def test_report_format() -> None:
    err = GraphError([Problem("g.yaml", 3, "cam", "params.fps", "bad"), Problem("--set", None, "", "", "worse")])
    assert err.report() == "2 problems found:\n  - g.yaml:3: node 'cam': params.fps: bad\n  - --set: worse"


def test_process_runner_is_accepted_and_unknown_runners_are_refused() -> None:
    graph = validate_text(GOOD.replace("outputs: [out]}", "outputs: [out], runner: process}"), "g.yaml")
    assert graph.spec.node("relay").runner == "process"
    found = problems(GOOD.replace("outputs: [out]}", "outputs: [out], runner: fiber}"))
    assert ("relay", "runner") in {(p.node, p.field) for p in found}


def test_a_validators_own_words_come_without_pydantics_prefix_or_the_value_type() -> None:
    problem = only("""\
    nodes:
      - {name: camera, type: Camera, outputs: [frames], params: {sources: [{id: 'bad id', source: 0}]}}
      - {name: sink, type: NullSink, inputs: [frames]}
    """)
    assert problem.field == "params.sources" and "stream id 'bad id'" in problem.message
    assert "Value error" not in problem.message and "(got" not in problem.message
