"""Two training processes under torchrun (DDP, gloo backend, CPU) on a tiny run."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from flowpose.trainer.engine import load_checkpoint  # noqa: E402
from trainer_support import tiny_config, write_config  # noqa: E402


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "tiny.yaml", tiny_config(train={"epochs": 2, "val_every": 2}))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "flowpose.cli.main", "train", str(config), "-o", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=subprocess_env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    # Both ranks joined one gloo group...
    assert "DDP: rank 0 of 2 (gloo backend, cpu)" in res.stderr
    assert "DDP: rank 1 of 2 (gloo backend, cpu)" in res.stderr
    # ...and each took half of every epoch: 24 samples / (batch 8 x 2 processes) = 1 step per
    # epoch, where one process takes 3.
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt.epoch == 2 and ckpt.step == 2
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and rows[1]["val_pck@0.1"]
    # Only rank 0 printed the summary.
    assert res.stdout.count("trained 2 epochs") == 1
