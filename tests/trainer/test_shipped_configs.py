"""Every recipe under trainer/configs parses and builds its task (typos fail here, not an hour in)."""

from __future__ import annotations

import itertools
import re
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


def test_each_stage_starts_from_the_documented_output_of_the_one_before() -> None:
    folder = CONFIGS[0].parent
    # (config, the run folder its header says to write, the checkpoint the next stage starts from)
    chains = {
        "person": [("person_synthetic", "runs/person", "best.pt"), ("person_scenes", "runs/person_scenes", None)],
        "animal": [
            ("animal_synthetic", "runs/animal", "last.pt"),
            ("animal_synthetic_more", "runs/animal_more", "best.pt"),
            ("animal_scenes", "runs/animal_scenes", None),
        ],
    }
    for chain in chains.values():
        first = load_config(folder / f"{chain[0][0]}.yaml")
        for (name, out, handoff), (next_name, _, _) in itertools.pairwise(chain):
            header = (folder / f"{name}.yaml").read_text()
            assert re.search(rf"flowpose train trainer/configs/{name}.yaml -o {out}\s", header), name
            following = load_config(folder / f"{next_name}.yaml")
            assert following["model"] == first["model"]  # init_from needs the same model
            assert following["train"]["init_from"] == f"../../{out}/{handoff}"
