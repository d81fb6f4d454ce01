"""Real data: `flowpose eval labels` on the exported openfield model reports, through the node's ONNX code,
the trainer's own test figures (same split, same frames, same crops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from flowpose.cli.main import main  # noqa: E402
from flowpose.trainer.engine import Trainer, TrainSettings, build_task  # noqa: E402
from flowpose.trainer.engine.config import config_base_dir, load_config  # noqa: E402

CONFIG = Path(__file__).resolve().parents[2] / "trainer" / "configs" / "dlc_openfield.yaml"


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.timeout(900)  # ~25 s of CPU
def test_eval_labels_reproduces_the_trainers_test_figures(shared_dir: Path, tmp_path: Path) -> None:
    project = shared_dir / "data" / "dlc_openfield"
    overrides = [f"data.{part}.{key}={value}" for part in ("train", "val")
                 for key, value in (("project", project), ("cache_dir", tmp_path / "dlc"))]  # fmt: skip
    # A shorter run than the recipe: the point is agreement, not accuracy.
    config = load_config(CONFIG, [*overrides, "train.progress=false", "train.epochs=20", "train.val_every=20"])
    task = build_task(config, config_base_dir(config))
    result = Trainer(task, TrainSettings.from_dict(config["train"]), tmp_path / "run", seed=config["seed"]).fit()
    assert result.test_metrics, "the dlc recipe has a test part"
    onnx = tmp_path / "mouse.onnx"
    assert main(["-q", "export", str(result.best_checkpoint), "-o", str(onnx)]) == 0
    padding = str(config["data"]["pipeline"]["padding"])  # the trainer's crops: its padding
    out = tmp_path / "labels.json"
    argv = ["-q", "eval", "labels", str(onnx), "--data", str(project), "--padding", padding, "--json", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 17 and report["split"] == "test"
    figures, test = report["figures"], result.test_metrics
    assert figures["error_px_mean"] == pytest.approx(test["epe"], abs=0.02)
    for key in ("pck@0.05", "pck@0.1", "pck@0.2"):
        assert figures[key] == pytest.approx(test[key], abs=1e-6), key
    assert figures["body_length_px"] == pytest.approx(test["body_length_px"], abs=1e-3)  # float32 labels there
