"""Trainer UX: --resume warns about each config change, epoch log lines fit 100 columns, and the
end of `flowpose train` names the best model and the next commands."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flowpose.trainer.engine.config import config_changes

torch = pytest.importorskip("torch")

from flowpose.trainer.engine import Trainer, TrainSettings, build_task  # noqa: E402
from flowpose.trainer.engine.logs import _PREFIX, LINE_COLUMNS, epoch_lines  # noqa: E402
from flowpose.trainer.engine.loop import warn_config_changes  # noqa: E402
from flowpose.trainer.engine.next_steps import next_steps  # noqa: E402
from trainer_support import tiny_config  # noqa: E402


def test_config_changes_lists_each_changed_key_old_and_new() -> None:
    old = {"train": {"epochs": 60, "lr": 0.003}, "data": {"pipeline": {"input_size": [128, 128]}}, "_config_dir": "a"}
    new = {"train": {"epochs": 80, "lr": 0.003, "grad_clip": 1.0}, "data": {"pipeline": {"input_size": [96, 96]}},
           "_config_dir": "b"}  # fmt: skip
    assert config_changes(old, new) == [
        ("train.epochs", 60, 80),
        ("train.grad_clip", None, 1.0),
        ("data.pipeline.input_size", [128, 128], [96, 96]),
    ]
    assert config_changes(old, old) == []


def test_warning_lines_say_old_and_new(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        lines = warn_config_changes({"train": {"lr": 0.003}}, {"train": {"lr": 0.001}}, "run/last.pt")
    assert lines == ["--resume run/last.pt: train.lr changed: 0.003 -> 0.001"]
    assert [r.getMessage() for r in caplog.records] == lines


def _fit(config: dict, out: Path, **kwargs) -> object:
    task = build_task(config, out)
    return Trainer(task, TrainSettings.from_dict(config["train"]), out, seed=config["seed"]).fit(**kwargs)


def test_resume_with_a_changed_config_warns_once_per_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tiny_config(train={"epochs": 2})
    _fit(config, tmp_path, stop_after=1)
    changed = tiny_config(train={"epochs": 2, "lr": 0.004})
    changed["data"]["pipeline"]["input_size"] = [64, 64]  # unchanged: no warning
    with caplog.at_level(logging.WARNING, logger="flowpose.trainer.engine.loop"):
        _fit(changed, tmp_path, resume=tmp_path / "last.pt")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"--resume {tmp_path / 'last.pt'}: train.lr changed: 0.005 -> 0.004"]


def test_epoch_lines_fit_100_columns_with_the_log_prefix() -> None:
    row = {"epoch": 123, "step": 99999, "lr": 0.00123456789, "loss": 0.000123456789, "loss_ce": 1.0,
           "loss_coord": 2.0, "samples_per_s": 12345.678, "data_wait": 0.1234, "epoch_s": 1234.5678,
           **{f"val_{k}": 0.123456789 for k in ("pck@0.05", "pck@0.1", "pck@0.2", "epe", "oks_AP", "oks_AP50",
                                              "oks_AP75", "oks_APm", "oks_APl", "oks_AR", "oks_AR50")}}  # fmt: skip
    lines = epoch_lines(row, 1000, "pck@0.1", 0.123456789)
    assert len(lines) == 2
    assert all(_PREFIX + len(line) <= LINE_COLUMNS for line in lines), [len(x) for x in lines]
    assert lines[0].startswith("epoch 123/1000 loss 0.0001235 lr 0.0012")
    assert lines[1].startswith("  val pck@0.1 0.1235 (best) epe 0.1235")
    assert epoch_lines({k: v for k, v in row.items() if not k.startswith("val_")}, 1000, "epe", None)[1:] == []


def test_next_steps_name_the_best_model_and_the_commands(tmp_path: Path) -> None:
    (tmp_path / "best.pt").write_bytes(b"")
    dlc = {"data": {"val": {"type": "dlc", "project": "/data/mouse project"}}}
    lines = next_steps("cfg.yaml", dlc, tmp_path, tmp_path / "best.pt")
    assert lines[0] == f"best model: {tmp_path / 'best.pt'}"
    text = "\n".join(lines)
    assert f"flowpose export {tmp_path / 'best.pt'} -o {tmp_path / 'model.onnx'}" in text
    assert f"flowpose eval labels {tmp_path / 'model.onnx'} --data '/data/mouse project' --split test" in text
    assert f"flowpose eval cfg.yaml {tmp_path / 'best.pt'}" in text
    # One animal from a labelled project: the lab graph (no detector), with the exported model.
    assert f"flowpose run graphs/lab_animal.yaml --set pose.model={tmp_path / 'model.onnx'}" in text
    # Not DeepLabCut data: no eval labels line, the detector graph.
    other = "\n".join(next_steps("cfg.yaml", {"data": {}}, tmp_path, tmp_path / "best.pt"))
    assert "eval labels" not in other and "flowpose run graphs/video_file.yaml" in other


def test_train_command_ends_with_the_best_model_and_next_commands(tmp_path: Path) -> None:
    import subprocess
    import sys

    from trainer_support import write_config

    config = write_config(tmp_path / "tiny.yaml", tiny_config(train={"epochs": 1}))
    run = [sys.executable, "-m", "flowpose.cli.main", "train", str(config), "-o", str(tmp_path / "run")]
    res = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"best model: {tmp_path / 'run' / 'best.pt'}" in res.stdout
    assert f"flowpose export {tmp_path / 'run' / 'best.pt'} -o {tmp_path / 'run' / 'model.onnx'}" in res.stdout
    epoch_log = [line for line in res.stderr.splitlines() if "engine.loop: " in line and "epoch 1/1" in line]
    assert epoch_log and all(len(line) <= LINE_COLUMNS for line in epoch_log), epoch_log
    # `eval --split test` on a config without test data: one line, exit code 2.
    ev = [sys.executable, "-m", "flowpose.cli.main", "eval", str(config), str(tmp_path / "run" / "best.pt")]
    res = subprocess.run([*ev, "--split", "test"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "no data.test" in res.stderr and "Traceback" not in res.stderr
