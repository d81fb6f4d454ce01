"""What ``flowpose train``, ``flowpose eval`` and ``flowpose export`` do (imports torch).

Reached lazily from :mod:`flowpose.cli.train_commands`; these functions return exit codes
and print the results a user asked for.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
import yaml

from flowpose.trainer.engine import (
    Trainer,
    TrainSettings,
    build_task,
    cleanup_distributed,
    init_distributed,
    load_checkpoint,
    make_loader,
    pick_device,
)
from flowpose.trainer.engine.bench import bench_training, format_bench
from flowpose.trainer.engine.config import config_base_dir, load_config
from flowpose.trainer.engine.distributed import DistInfo
from flowpose.trainer.engine.next_steps import next_steps

__all__ = ["evaluate_command", "export_command", "train_command"]

log = logging.getLogger(__name__)


def train_command(
    config_path: str,
    overrides: list[str],
    output_dir: str | None,
    resume: str | None,
    bench: bool = False,
    bench_batches: int = 20,
) -> int:
    """Train (or with ``bench``, time loader vs model) from a config file."""
    config = load_config(config_path, overrides)
    settings = TrainSettings.from_dict(config.get("train"))
    task = build_task(config, config_base_dir(config))
    if bench:
        print(format_bench(bench_training(task, settings, bench_batches, int(config.get("seed", 0)))))
        return 0
    out = Path(output_dir or config.get("output_dir") or Path("runs") / Path(config_path).stem)
    info = init_distributed(settings.device)
    try:
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        trainer = Trainer(task, settings, out, seed=int(config.get("seed", 0)), dist_info=info)
        result = trainer.fit(resume=resume)
    finally:
        cleanup_distributed()
    if info.is_main:
        print(f"trained {result.epoch} epochs; checkpoints in {out} (last.pt, best.pt)")
        if result.metrics:
            print(_format_metrics(result.metrics))
        if result.best is not None:
            print(f"best {task.best_metric}: {result.best:.4f} (on val)")
        if result.test_metrics:
            print(f"test, best.pt on frames never trained or selected on (also in {out / 'test_metrics.json'}):")
            print(_format_metrics(result.test_metrics))
        print("\n".join(next_steps(config_path, config, out, result.best_checkpoint)))
    return 0


def evaluate_command(
    config_path: str, checkpoint: str, overrides: list[str], json_path: str | None, split: str = "val"
) -> int:
    """Evaluate a checkpoint on the config's validation data (``split="test"``: its held-out test data)."""
    config = load_config(config_path, overrides)
    settings = TrainSettings.from_dict(config.get("train"))
    task = build_task(config, config_base_dir(config))
    val = task.test_dataset() if split == "test" else task.val_dataset()
    if val is None:  # before the checkpoint: a config without the data fails fast
        where = "data.test (or a dlc data.val with test_fraction > 0)" if split == "test" else "data.val"
        raise ValueError(f"{config_path}: no {where} to evaluate on")
    ckpt = load_checkpoint(Path(checkpoint))
    model = task.build_model(pretrained=False)
    model.load_state_dict(ckpt.model)
    device = pick_device(settings.device, DistInfo())
    model.to(device).eval()
    with torch.no_grad():
        metrics = task.evaluate(model, make_loader(task, val, settings, train=False, seed=0), device)
    print(_format_metrics(metrics))
    if json_path:
        Path(json_path).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return 0


def export_command(checkpoint: str, output: str, options: dict[str, Any]) -> int:
    """Export a checkpoint's model to ONNX with its card; prints the ORT-vs-torch difference."""
    ckpt = load_checkpoint(Path(checkpoint))
    task = build_task(ckpt.config, config_base_dir(ckpt.config))
    model = task.build_model(pretrained=False)
    model.load_state_dict(ckpt.model)
    report = task.export(model.eval(), Path(output), **options)
    print(f"wrote {report['path']} ({report['size_bytes'] / 1e6:.2f} MB)")
    line = f"max |onnxruntime - pytorch| = {report['max_abs_diff']:.3g}"
    if report.get("weights", "float32") != "float32":
        line += f" ({report['weights']} weights; with float32 weights {report['float32_max_abs_diff']:.3g})"
    print(line)
    return 0


def _format_metrics(metrics: dict[str, float]) -> str:
    width = max(len(k) for k in metrics)
    return "\n".join(f"  {k:<{width}}  {v:.4f}" for k, v in metrics.items())
