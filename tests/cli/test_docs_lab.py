"""docs/lab.md stays true: its conditions parse, its Trigger graph validates and runs with my_rig.py beside it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import yaml

from flowpose.closedloop import ConditionSpec
from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import load_graph
from flowpose.nodes.pose_estimator import TopdownPoseEstimator
from pose_models import build_marker_model, marker_card

DOC = Path(__file__).resolve().parents[2] / "docs" / "lab.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_every_condition_example_parses() -> None:
    examples = re.findall(r"`(\{kind: .*?\})`", DOC.read_text(encoding="utf-8"))
    assert len(examples) >= 3 and {yaml.safe_load(e)["kind"] for e in examples} == {"region", "distance", "speed"}
    for example in examples:
        ConditionSpec(**yaml.safe_load(example))


def test_the_estimator_example_params_are_valid() -> None:
    (block,) = [b for b in blocks("yaml") if "type: TopdownPoseEstimator" in b]
    node = next(n for n in yaml.safe_load(block.replace("{...}", "{}"))["nodes"] if n["name"] == "pose")
    TopdownPoseEstimator.Params(**node["params"])


def test_the_trigger_example_runs_with_my_rig_beside_the_graph(tmp_path, capfd) -> None:
    (rig,) = [b for b in blocks("python") if "def reward(" in b]
    (trigger,) = [b for b in blocks("yaml") if "type: Trigger" in b and "my_rig:reward" in b]
    (tmp_path / "my_rig.py").write_text(rig)  # found beside the graph: every node type is built in
    node = yaml.safe_load(textwrap.dedent(trigger))[0]
    assert node["params"]["min_frames_on"] == 3 and node["params"]["action"] == "my_rig:reward"
    # The marker model's keypoint 0 on a test pattern is somewhere in the frame: a region as
    # large as the frame, and any score, make the condition hold on every frame.
    node["params"]["condition"] = {**node["params"]["condition"], "keypoint": 0, "rect": [-1, -1, 641, 481]}
    node["params"]["min_score"] = -1e9
    model = build_marker_model(tmp_path / "m.onnx", "simcc", card=marker_card("simcc", labels=("mouse",)))
    graph = {
        "nodes": [
            {"name": "camera", "type": "TestPattern", "outputs": ["frames"], "params": {"count": 4, "fps": 0}},
            {
                "name": "pose",
                "type": "TopdownPoseEstimator",
                "inputs": ["frames"],
                "outputs": ["poses"],
                "params": {"model": str(model), "box": "frame", "intra_op_threads": 1},
            },
            node,
            {"name": "sink", "type": "NullSink", "inputs": ["triggered"]},
        ]
    }
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(graph))
    result = GraphRunner(load_graph(tmp_path / "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0
    assert re.findall(r"reward at frame (\d+)", capfd.readouterr().out) == ["2"]  # on after 3 frames, once
