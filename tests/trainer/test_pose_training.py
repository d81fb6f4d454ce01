"""A tiny CPU training learns; a resumed run equals an uninterrupted one; best.pt follows the metric;
the exported model runs unchanged in the TopdownPoseEstimator node."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flowpose.cli.main import main  # noqa: E402
from flowpose.geometry import get_warp_matrix, transform_points  # noqa: E402
from flowpose.trainer.data.records import PoseInstance  # noqa: E402
from flowpose.trainer.engine import FitResult, Trainer, TrainSettings, build_task, load_checkpoint  # noqa: E402
from flowpose.trainer.pipeline.topdown import TopdownTransform  # noqa: E402
from trainer_support import tiny_config, write_config  # noqa: E402


def _fit(config: dict, out: Path, **kwargs):
    task = build_task(config, Path("."))
    return Trainer(task, TrainSettings.from_dict(config["train"]), out, seed=config["seed"]).fit(**kwargs)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, FitResult]:
    """One tiny training shared by the tests that need a trained model (also test_pose_export)."""
    out = tmp_path_factory.mktemp("tiny_run")
    config = tiny_config(train={"epochs": 20, "lr": 0.01, "val_every": 10})
    return out, _fit(config, out)


@pytest.mark.slow
def test_tiny_training_lowers_the_loss_and_reaches_pck(tiny_run) -> None:
    tmp_path, result = tiny_run
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 20
    assert losses[-1] < 0.8 * losses[0]  # cross-entropy: its floor is the targets' entropy, not 0
    # 24 fixed images, 60 steps: the model fits them (measured: PCK@0.2 0.95, PCK@0.1 0.74,
    # 4.4 px); an untrained model scores PCK@0.2 ~0.01.
    assert result.metrics["pck@0.2"] >= 0.8
    assert result.metrics["pck@0.1"] >= 0.5
    assert result.metrics["epe"] < 8.0
    # metrics.csv has a row per epoch; validation columns where it ran (epochs 10 and 20).
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 21))
    assert rows[9]["val_pck@0.1"] and not rows[8]["val_pck@0.1"]
    assert float(rows[-1]["val_pck@0.2"]) == pytest.approx(result.metrics["pck@0.2"])
    best = load_checkpoint(tmp_path / "best.pt")
    assert best.best == max(float(rows[9]["val_pck@0.1"]), float(rows[19]["val_pck@0.1"]))
    assert not best.optimizer  # model only: small, for eval/export


@pytest.mark.slow
def test_resume_gives_the_same_model_as_an_uninterrupted_run(tmp_path: Path) -> None:
    config = tiny_config(train={"epochs": 4, "val_every": 2})
    whole = _fit(config, tmp_path / "whole")
    first = _fit(config, tmp_path / "split", stop_after=2)
    assert first.epoch == 2
    resumed = _fit(config, tmp_path / "split", resume=tmp_path / "split" / "last.pt")
    assert resumed.epoch == 4
    a = load_checkpoint(tmp_path / "whole" / "last.pt")
    b = load_checkpoint(tmp_path / "split" / "last.pt")
    assert a.step == b.step == 4 * 3
    for key, value in a.model.items():
        assert torch.equal(value, b.model[key]), key
    assert resumed.metrics == whole.metrics
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    # The history survives the resume: one CSV row per epoch, not just the resumed ones.
    assert len(list(csv.DictReader((tmp_path / "split" / "metrics.csv").open()))) == 4


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path: Path) -> None:
    config = tiny_config(train={"epochs": 1, "batch_size": 32})
    with pytest.raises(ValueError, match="fewer than one batch"):
        _fit(config, tmp_path)


@pytest.mark.slow
def test_exported_model_runs_unchanged_in_the_pose_node(tiny_run, tmp_path: Path) -> None:
    """Train -> export -> TopdownPoseEstimator in a graph: the node sees what PyTorch sees."""
    run_dir, _ = tiny_run
    onnx_path = tmp_path / "tiny.onnx"
    assert main(["export", str(run_dir / "best.pt"), "-o", str(onnx_path)]) == 0
    frames = _run_graph(f"""\
        nodes:
          - {{name: scene, type: SyntheticScene, outputs: [detections], params: {{width: 160, height: 120, count: 3,
              live: false, people: 1, animals: 0, occluders: 0, emit_instances: true, seed: 5}}}}
          - {{name: pose, type: TopdownPoseEstimator, inputs: [detections], outputs: [poses],
              params: {{model: '{onnx_path}', intra_op_threads: 1}}}}
          - {{name: sink, type: 'testnodes:Collect', inputs: [poses]}}
        """)
    assert len(frames) == 3
    ckpt = load_checkpoint(run_dir / "best.pt")
    task = build_task(ckpt.config, Path("."))
    model = task.build_model(pretrained=False)
    model.load_state_dict(ckpt.model)
    model.eval()
    transform = TopdownTransform(task.pipeline, task.codec, task.layout, train=False)
    checked = 0
    for frame in frames:
        for inst in frame.instances:
            assert inst.layout == "coco17" and inst.keypoints.shape == (17, 2)
            # The PyTorch path: the trainer's own evaluation crop, model and decoding.
            fake = PoseInstance(inst.bbox, np.zeros((17, 2)), np.zeros(17), 1.0)
            sample = transform(frame.image, fake, None)
            with torch.no_grad():
                out = task.forward(model, {"image": torch.from_numpy(sample["image"][None])})
            crop_kpts = task.codec.decode(*(o.numpy() for o in out)).keypoints[0]
            inverse = get_warp_matrix(sample["center"], sample["scale"], 0.0, task.pipeline.input_size, inv=True)
            np.testing.assert_allclose(inst.keypoints, transform_points(crop_kpts, inverse), atol=0.02)
            checked += 1
    assert checked == 3


def _run_graph(text: str) -> list:
    import textwrap

    import testnodes
    from flowpose.engine.runtime import GraphRunner
    from flowpose.graph.validate import validate_text

    result = GraphRunner(validate_text(textwrap.dedent(text), "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0, result.failure
    return testnodes.COLLECTED.pop("sink")


def test_bench_prints_loader_and_model_rates_side_by_side(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path / "tiny.yaml", tiny_config(train={"workers": 1}))
    assert main(["train", str(config), "--bench", "--bench-batches", "3"]) == 0
    out = capsys.readouterr().out
    rates = {}
    for label in ("loader, 0 workers", "loader, 1 workers", "model train step"):
        line = next(line for line in out.splitlines() if label in line)
        rates[label] = float(line.split()[-2])
    assert all(rate > 0 for rate in rates.values())
    assert "loader / model = " in out
    assert not (tmp_path / "runs").exists()  # a bench trains nothing and writes no run folder


@pytest.mark.slow
def test_eval_command_reproduces_the_metrics_of_best_pt(tiny_run, tmp_path: Path, capsys) -> None:
    run_dir, _ = tiny_run
    best = load_checkpoint(run_dir / "best.pt")
    config = write_config(tmp_path / "tiny.yaml", best.config)
    out = tmp_path / "metrics.json"
    assert main(["eval", str(config), str(run_dir / "best.pt"), "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics == pytest.approx(best.metrics)
    assert "pck@0.1" in capsys.readouterr().out


@pytest.mark.slow
def test_init_from_starts_where_the_other_run_ended(tiny_run, tmp_path: Path) -> None:
    trained, result = tiny_run
    # Zero learning-rate epochs leave the weights as loaded: the metrics equal the trained run's.
    config = tiny_config(train={"epochs": 1, "lr": 1e-12, "warmup_epochs": 0, "init_from": str(trained / "last.pt")})
    tuned = _fit(config, tmp_path / "tuned")
    assert tuned.metrics["pck@0.1"] == pytest.approx(result.metrics["pck@0.1"], abs=0.02)
    scratch = _fit(tiny_config(train={"epochs": 1, "lr": 1e-12, "warmup_epochs": 0}), tmp_path / "scratch")
    assert scratch.metrics["pck@0.1"] < result.metrics["pck@0.1"] - 0.3


def test_init_from_a_different_model_names_the_mismatch(tiny_run, tmp_path: Path) -> None:
    trained, _ = tiny_run
    config = tiny_config(train={"epochs": 1, "init_from": str(trained / "last.pt")})
    config["model"]["decoder_channels"] = 16
    with pytest.raises(ValueError, match=r"init_from .*last.pt: its model does not match.*shapes differ"):
        _fit(config, tmp_path)


def test_init_from_a_missing_file_is_named(tmp_path: Path) -> None:
    config = tiny_config(train={"epochs": 1, "init_from": "nowhere/best.pt"})
    with pytest.raises(FileNotFoundError, match=r"nowhere/best\.pt"):
        _fit(config, tmp_path)


@pytest.mark.slow
def test_flip_test_evaluation_scores_like_the_plain_one(tiny_run) -> None:
    trained, result = tiny_run
    config = tiny_config(eval={"flip_test": True, "oks": False})
    task = build_task(config, Path("."))
    model = task.build_model(pretrained=False)
    model.load_state_dict(load_checkpoint(trained / "last.pt").model)
    from flowpose.trainer.engine import make_loader

    settings = TrainSettings.from_dict(config["train"])
    loader = make_loader(task, task.val_dataset(), settings, train=False, seed=0)
    with torch.no_grad():
        flipped = task.evaluate(model.eval(), loader, torch.device("cpu"))
    # Averaging with the mirrored crops keeps a model's accuracy (a wrong flip-back, e.g. a
    # missing left/right swap or a shifted axis, would drop it far below).
    assert flipped["pck@0.2"] >= result.metrics["pck@0.2"] - 0.1
    assert flipped["epe"] <= result.metrics["epe"] * 1.3
