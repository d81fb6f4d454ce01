"""Several estimators in real graphs: in series (each serves its labels) and side by side with MergeInstances."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import testnodes
from flowpose.engine.runtime import GraphRunner
from flowpose.frame import Frame, Instance
from flowpose.graph.validate import validate_text
from flowpose.nodes.merge import MergeInstances
from flowpose.pose import TopdownModel, open_pose_model
from pose_models import build_marker_model, marker_card

ANIMALS = ("dog", "cat", "horse")
SCENE = (
    "{name: scene, type: SyntheticScene, outputs: [detections], params: {width: 320, height: 240, count: 4, "
    "live: false, people: 2, animals: 1, species: [dog], occluders: 0, emit_instances: true, seed: 3}}"
)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("graph_models")
    return {
        "people": build_marker_model(d / "people.onnx", "simcc", card=marker_card("simcc")),
        "animals": build_marker_model(
            d / "animals.onnx", "heatmap", layout="ap10k", card=marker_card("heatmap", "ap10k", ANIMALS)
        ),
    }


def estimator(name: str, model: Path, src: str, dst: str, runner: str = "thread") -> str:
    return (
        f"{{name: {name}, type: TopdownPoseEstimator, inputs: [{src}], outputs: [{dst}], runner: {runner}, "
        f"params: {{model: '{model}', intra_op_threads: 1, flip_test: true}}}}"
    )


def run(text: str) -> list[Frame]:
    result = GraphRunner(validate_text(textwrap.dedent(text), "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    return testnodes.COLLECTED.pop("sink")


def check_poses(frames: list[Frame], models: dict[str, Path]) -> None:
    """Every instance carries exactly what its own model says about it on that frame."""
    direct = {kind: TopdownModel(open_pose_model(models[kind]), intra_op_threads=1) for kind in models}
    assert [f.frame_id for f in frames] == [0, 1, 2, 3]
    for frame in frames:
        labels = [i.label for i in frame.instances]
        assert sorted(labels) == ["dog", "person", "person"]
        for inst in frame.instances:
            kind, layout = ("people", "coco17") if inst.label == "person" else ("animals", "ap10k")
            want = direct[kind](frame.image, inst.bbox[None], flip=True)
            assert inst.layout == layout
            np.testing.assert_allclose(inst.keypoints, want.keypoints[0], atol=1e-3)
            np.testing.assert_allclose(inst.keypoint_scores, want.scores[0], atol=1e-4)
        truth = {(g["label"], tuple(g["bbox"])): np.array(g["keypoints"]) for g in frame.meta["ground_truth"]}
        # The scene's ground-truth keypoints were replaced, not passed through.
        assert all(not np.allclose(i.keypoints, truth[(i.label, tuple(i.bbox.tolist()))]) for i in frame.instances)


def test_estimators_in_series_each_serve_their_labels(models) -> None:
    frames = run(f"""\
        nodes:
          - {SCENE}
          - {estimator("people", models["people"], "detections", "humans")}
          - {estimator("animals", models["animals"], "humans", "poses")}
          - {{name: sink, type: 'testnodes:Collect', inputs: [poses]}}
        """)
    check_poses(frames, models)


def test_estimators_side_by_side_merged(models) -> None:
    frames = run(f"""\
        nodes:
          - {SCENE}
          - {estimator("people", models["people"], "detections", "humans")}
          - {estimator("animals", models["animals"], "detections", "beasts")}
          - name: merge
            type: MergeInstances
            inputs: [detections, humans, beasts]
            outputs: [poses]
            params: {{base_input: true}}
          - {{name: sink, type: 'testnodes:Collect', inputs: [poses]}}
        """)
    check_poses(frames, models)


def test_estimator_in_its_own_process(models) -> None:
    frames = run(f"""\
        nodes:
          - {SCENE}
          - {estimator("people", models["people"], "detections", "humans", runner="process")}
          - {estimator("animals", models["animals"], "humans", "poses")}
          - {{name: sink, type: 'testnodes:Collect', inputs: [poses]}}
        """)
    check_poses(frames, models)


# MergeInstances on its own.

IMAGE = np.zeros((8, 8, 3), np.uint8)
KPTS = np.ones((17, 2), np.float32)


def branch(*instances: Instance) -> Frame:
    return Frame(3, 0, "cam", IMAGE, instances=instances)


def test_merge_takes_the_version_with_keypoints() -> None:
    person, dog = Instance([0, 0, 4, 4], label="person"), Instance([2, 2, 6, 6], label="dog")
    people = branch(person.replace(keypoints=KPTS, layout="coco17"), dog)
    animals = branch(person, dog.replace(keypoints=KPTS * 2, layout="ap10k"))
    out = MergeInstances("merge").process(people, animals)
    assert [i.layout for i in out.instances] == ["coco17", "ap10k"]
    assert out.instances[1].keypoints[0, 0] == 2.0


def test_merge_with_a_base_takes_what_each_branch_changed() -> None:
    base = branch(Instance([0, 0, 4, 4], label="person", keypoints=KPTS, layout="coco17"))
    changed = base.instances[0].replace(keypoints=KPTS * 3)
    node = MergeInstances("merge", {"base_input": True})
    assert node.process(base, base, branch(changed)).instances[0] is changed
    assert node.process(base, branch(changed), base).instances[0] is changed
    assert node.process(base, base, base).instances[0] is base.instances[0]
    other = changed.replace(keypoints=KPTS * 4)
    assert node.process(base, branch(other), branch(changed)).instances[0] is other
    assert node.counters["conflicts"] == 1


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (branch(), "input 1 has 1 instances, input 2 has 0"),
        (branch(Instance([0, 0, 5, 4], label="person")), r"instance 0 differs .* \[0.0, 0.0, 5.0, 4.0\]"),
        (branch(Instance([0, 0, 4, 4], label="dog")), "instance 0 differs between input 1 \\('person'"),
    ],
)
def test_merge_refuses_branches_of_different_detections(second, message) -> None:
    first = branch(Instance([0, 0, 4, 4], label="person"))
    with pytest.raises(ValueError, match=f"merge: frame 3 of 'cam': {message}"):
        MergeInstances("merge").process(first, second)
