"""Every recipe under trainer/configs parses and builds its task (typos fail here, not an hour in)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from flowpose.trainer.engine import TrainSettings, build_task
from flowpose.trainer.engine.config import config_base_dir, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "trainer" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_builds(path: Path) -> None:
    config = load_config(path)
    settings = TrainSettings.from_dict(config.get("train"))
    task = build_task(config, config_base_dir(config))
    assert settings.epochs >= 1 and task.best_metric


def test_stage_two_configs_start_from_stage_one() -> None:
    for kind in ("person", "animal"):
        stage1 = load_config(CONFIGS[0].parent / f"{kind}_synthetic.yaml")
        stage2 = load_config(CONFIGS[0].parent / f"{kind}_scenes.yaml")
        assert stage2["model"] == stage1["model"]  # init_from needs the same model
        assert stage2["train"]["init_from"] == f"../../runs/{kind}/best.pt"  # stage 1's documented -o
        assert f"-o runs/{kind}\n" in (CONFIGS[0].parent / f"{kind}_synthetic.yaml").read_text()
