"""Real data: the DeepLabCut openfield mouse, trained from scratch on 95 frames, evaluated on 21."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from flowpose.trainer.engine import Trainer, TrainSettings, build_task  # noqa: E402
from flowpose.trainer.engine.config import config_base_dir, load_config  # noqa: E402

CONFIG = Path(__file__).resolve().parents[2] / "trainer" / "configs" / "dlc_openfield.yaml"


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.timeout(900)  # ~60 s of CPU; allow for a shared, busy machine
def test_openfield_mouse_from_scratch(shared_dir: Path, tmp_path: Path) -> None:
    project = shared_dir / "data" / "dlc_openfield"
    overrides = [f"data.{part}.{key}={value}" for part in ("train", "val")
                 for key, value in (("project", project), ("cache_dir", tmp_path / "dlc"))]  # fmt: skip
    config = load_config(CONFIG, [*overrides, "train.progress=false"])
    task = build_task(config, config_base_dir(config))
    assert len(task.train_dataset()) == 95 and len(task.val_dataset()) == 21
    settings = TrainSettings.from_dict(config["train"])
    result = Trainer(task, settings, tmp_path / "run", seed=config["seed"]).fit()
    metrics = result.metrics
    print(f"openfield val: {metrics}")
    # 640x480 frames, mouse ~100 px long. Measured with this recipe: ~4.9 px, PCK@0.1 ~0.99.
    assert metrics["epe"] <= 6.0
    assert metrics["pck@0.1"] >= 0.95
    assert metrics["pck@0.05"] >= 0.8
