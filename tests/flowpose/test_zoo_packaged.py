"""Zoo entries that point at a file shipped inside the package: no download, no cache."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from flowpose.zoo import ModelNotFoundError, ZooEntry, download, resolve_model, zoo_entries
from flowpose.zoo.registry import PACKAGED_ENTRIES

ROOT = Path(__file__).resolve().parents[2]


def _entry(url: str) -> dict[str, ZooEntry]:
    return {"shipped": ZooEntry(name="shipped", url=url, sha256=None, filename="shipped.yaml")}


def test_package_url_resolves_inside_the_installed_package(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path / "cache"))
    # Any file shipped as package data serves to exercise the mechanism.
    entries = _entry("package://flowpose.meta/data/coco17.yaml")
    path = resolve_model("zoo:shipped", entries)
    assert path == ROOT / "flowpose" / "meta" / "data" / "coco17.yaml"
    assert download("shipped", entries=entries, progress=False) == path  # nothing to fetch, no flag needed
    assert not (tmp_path / "cache").exists()


def test_missing_packaged_file_says_to_reinstall() -> None:
    entries = _entry("package://flowpose.zoo/models/nope.onnx")
    with pytest.raises(ModelNotFoundError, match=r"ships inside flowpose.*reinstall"):
        resolve_model("zoo:shipped", entries)


def test_default_models_are_packaged_and_listed() -> None:
    assert set(PACKAGED_ENTRIES) == {"flowpose-person", "flowpose-animal", "flowpose-det-synthetic"}
    assert set(PACKAGED_ENTRIES) <= set(zoo_entries())
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "models/*.onnx" in data["flowpose.zoo"]
    for name in PACKAGED_ENTRIES:
        path = resolve_model(f"zoo:{name}")
        assert path.parent == ROOT / "flowpose" / "zoo" / "models" and path.suffix == ".onnx"
        assert path.stat().st_size < 6_500_000  # small enough to ship (ShuffleNetV2-1.5, float16 weights: 5.6 MB)


def test_default_models_open_as_pose_models() -> None:
    from flowpose.pose import open_pose_model

    person = open_pose_model("zoo:flowpose-person")
    animal = open_pose_model("zoo:flowpose-animal")
    assert person.card.keypoint_layout == "coco17" and person.card.labels == ("person",)
    assert animal.card.keypoint_layout == "ap10k" and "dog" in animal.card.labels
    assert person.fixed_batch is None and animal.fixed_batch is None  # the node batches all crops
