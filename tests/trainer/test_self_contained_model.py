"""A model of your own keypoints runs anywhere: its card carries the layout, no side file needed.

Import a DeepLabCut project, train a tiny model, export it, delete the training run and the
import folder (which held the only layout file), then run a graph with the model and check
that the recording names the project's keypoints.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from flowpose.cli.main import main  # noqa: E402
from flowpose.engine.runtime import GraphRunner  # noqa: E402
from flowpose.graph.validate import validate_text  # noqa: E402
from flowpose.models import read_card  # noqa: E402
from flowpose.trainer.engine import Trainer, TrainSettings, build_task  # noqa: E402
from import_support import BODYPARTS, make_dlc_project, write_frames  # noqa: E402
from trainer_support import tiny_config  # noqa: E402


def _train_and_export(project: Path, work: Path, size: int, flip_pairs: list[list[str]]) -> Path:
    """Train one short epoch on ``project`` and export; returns the ONNX file."""
    source = {"type": "dlc", "project": str(project), "val_fraction": 0.25, "category": "mouse",
              "flip_pairs": flip_pairs, "cache_dir": str(work / "import")}  # fmt: skip
    config = tiny_config(
        data={
            "train": {**source, "part": "train"},
            "val": {**source, "part": "val"},
            "pipeline": {
                "input_size": [size, size],
                "flip_prob": 0.0,
                "half_body_prob": 0.0,
                "shift": 0.0,
                "scale": [1.0, 1.0],
                "rotate_prob": 0.0,
                "photometric": None,
            },
        },
        train={"epochs": 1, "batch_size": 4, "warmup_epochs": 0},
        export={"name": "tiny-mouse", "labels": ["mouse"]},
    )
    config["data"].pop("layout")  # implied by the DeepLabCut project
    task = build_task(config, work)
    Trainer(task, TrainSettings.from_dict(config["train"]), work / "run", seed=0).fit()
    onnx_path = work / "model" / "mouse.onnx"
    assert main(["export", str(work / "run" / "best.pt"), "-o", str(onnx_path)]) == 0
    return onnx_path


def _run_graph(model: Path, frames: Path, out: Path, runner: str = "thread") -> list[dict]:
    graph = f"""\
        nodes:
          - {{name: cam, type: Camera, outputs: [frames], params: {{source: '{frames}', realtime: false}}}}
          - {{name: box, type: 'import_support:WholeFrame', inputs: [frames], outputs: [boxes],
              params: {{label: mouse}}}}
          - {{name: pose, type: TopdownPoseEstimator, inputs: [boxes], outputs: [poses],
              params: {{model: '{model}', intra_op_threads: 1}}}}
          - {{name: vis, type: Visualizer, inputs: [poses], outputs: [shown], runner: {runner}}}
          - {{name: rec, type: PoseRecorder, inputs: [shown], params: {{path: '{out}'}}, runner: {runner}}}
        """
    result = GraphRunner(validate_text(textwrap.dedent(graph), "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    return [json.loads(line) for line in out.read_text().splitlines()]


def _check_self_contained(
    tmp_path: Path,
    project: Path,
    names: tuple[str, ...],
    size: int,
    pairs: list[list[str]],
    links: int,
    process: bool = False,
) -> None:
    model = _train_and_export(project, tmp_path / "work", size, pairs)
    card = read_card(model)
    assert card is not None and card.layout is not None
    layout = card.embedded_layout()
    assert layout.keypoint_names == names and layout.name == card.keypoint_layout
    assert [[names[a], names[b]] for a, b in layout.flip_pairs] == pairs
    assert len(layout.skeleton) == links  # the project's links travel too
    # Nothing of the training is left: no run, no import folder with its layout file.
    shutil.rmtree(tmp_path / "work" / "run")
    shutil.rmtree(tmp_path / "work" / "import")
    frames = write_frames(tmp_path / "frames", n=3, size=size)
    records = _run_graph(model, frames, tmp_path / "out" / "poses.jsonl")
    assert len(records) == 3
    insts = [inst for r in records for inst in r["instances"]]
    assert len(insts) == 3 and all(len(i["keypoints"]) == len(names) for i in insts)
    assert records[0]["keypoint_names"] == {card.keypoint_layout: list(names)}
    assert all("keypoint_names" not in r for r in records[1:])  # said once per layout
    if process:  # the recorder in its own process learns the layout from the frames
        again = _run_graph(model, frames, tmp_path / "out" / "process.jsonl", runner="process")
        assert again[0]["keypoint_names"] == {card.keypoint_layout: list(names)}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_tiny_project_model_runs_without_its_import_folder(tmp_path: Path) -> None:
    project = make_dlc_project(tmp_path / "proj", n=8, size=64)
    _check_self_contained(tmp_path, project, BODYPARTS, 64, [["left_ear", "right_ear"]], links=3, process=True)
    shutil.rmtree(project)  # the project itself is not needed either


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_openfield_model_runs_without_its_import_folder(shared_dir: Path, tmp_path: Path) -> None:
    project = shared_dir / "data" / "dlc_openfield"
    names = ("snout", "leftear", "rightear", "tailbase")
    _check_self_contained(tmp_path, project, names, 64, [["leftear", "rightear"]], links=0)  # no skeleton in its config
