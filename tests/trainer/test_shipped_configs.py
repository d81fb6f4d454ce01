"""Every recipe under trainer/configs parses and builds its task (typos fail here, not an hour in)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from flowpose.trainer.engine import TrainSettings, build_task
from flowpose.trainer.engine.config import config_base_dir, load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "trainer" / "configs").glob("*.yaml"))
# Where the recipes' relative data paths point: the repository's ../shared (real data).
REPO_SHARED = ROOT.parent / "shared"


def _data_paths(section: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every string value under a config's ``data`` section, as (dotted key, value)."""
    if isinstance(section, dict):
        for key, value in section.items():
            yield from _data_paths(value, (*keys, str(key)))
    elif isinstance(section, str):
        yield ".".join(keys), section


def _shared_overrides(path: Path, shared: Path) -> list[str]:
    """Overrides that point a recipe's ../shared data paths at ``shared`` (empty: no real data)."""
    config = load_config(path)
    overrides = []
    for key, value in _data_paths(config.get("data"), ("data",)):
        resolved = (path.parent / value).resolve()
        if resolved.is_relative_to(REPO_SHARED.resolve()):
            overrides.append(f"{key}={shared / resolved.relative_to(REPO_SHARED.resolve())}")
    return overrides


def _param(path: Path) -> Any:
    # A recipe that reads ../shared data needs it: `realdata`, skipped on a fresh clone.
    marks = [pytest.mark.realdata] if _shared_overrides(path, REPO_SHARED) else []
    return pytest.param(path, marks=marks, id=path.stem)


@pytest.mark.parametrize("path", [_param(p) for p in CONFIGS])
def test_config_builds(path: Path, shared_dir: Path) -> None:
    config = load_config(path, _shared_overrides(path, shared_dir))
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
