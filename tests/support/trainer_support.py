"""Tiny pose-training configs for the trainer tests (seconds on one CPU core)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

TINY: dict[str, Any] = {
    "task": "pose",
    "seed": 3,
    "data": {
        "layout": "coco17",
        # The same 24 fixed images for training and validation, no augmentation: a tiny model
        # can fit them within seconds, which is what these tests need to see happen.
        "train": {"type": "synthetic", "kind": "person", "num_samples": 24, "seed": 7, "fixed": True,
                  "scene": {"width": 160, "height": 120, "num_animals": [0, 0], "num_people": [1, 1],
                            "num_occluders": [0, 0], "max_roll_deg": 0.0}},
        "val": {"type": "synthetic", "kind": "person", "num_samples": 24, "seed": 7,
                "scene": {"width": 160, "height": 120, "num_animals": [0, 0], "num_people": [1, 1],
                          "num_occluders": [0, 0], "max_roll_deg": 0.0}},
        "pipeline": {"input_size": [64, 64], "flip_prob": 0.0, "half_body_prob": 0.0, "shift": 0.0,
                     "scale": [1.0, 1.0], "rotate_prob": 0.0, "photometric": None},
    },
    "model": {"backbone": "shufflenet_v2_x0_5", "pretrained": False, "decoder_channels": 32,
              "heatmap_stride": 4, "codec": {"type": "heatmap", "sigma": 1.5, "unbiased": True}},
    "train": {"epochs": 4, "batch_size": 8, "lr": 0.005, "warmup_epochs": 0.5, "workers": 0, "threads": 1,
              "progress": False, "tensorboard": False},
    "export": {"name": "tiny-test-model", "labels": ["person"]},
}  # fmt: skip


def tiny_config(**sections: Any) -> dict[str, Any]:
    """A deep copy of :data:`TINY` with ``sections`` merged one level deep (``train={"epochs": 2}``)."""
    config = copy.deepcopy(TINY)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as YAML and return the path."""
    import yaml

    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def assert_no_build_traces(onnx_path: Path) -> None:
    """The exported file carries no per-node debugging metadata, nor this checkout's path."""
    import onnx

    import flowpose

    checkout = str(Path(flowpose.__file__).resolve().parents[1]).encode()
    assert checkout not in Path(onnx_path).read_bytes(), f"{onnx_path} names {checkout!r}"
    model = onnx.load(str(onnx_path))
    assert not [n.name for n in model.graph.node if len(n.metadata_props) or n.doc_string]
