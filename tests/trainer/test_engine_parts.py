"""Engine parts: schedule, settings checks, config overrides, checkpoints, task lookup, CLI laziness."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from flowpose.trainer.engine import Checkpoint, TrainSettings, build_task, load_checkpoint, save_checkpoint  # noqa: E402
from flowpose.trainer.engine.config import CONFIG_DIR_KEY, apply_overrides, load_config  # noqa: E402
from flowpose.trainer.engine.schedule import warmup_cosine  # noqa: E402


def test_warmup_then_cosine_to_the_floor() -> None:
    total, warm, floor = 100, 10, 0.05
    values = [warmup_cosine(i, total, warm, floor) for i in range(total + 5)]
    assert values[0] == pytest.approx(1 / 11)
    assert all(a < b for a, b in itertools.pairwise(values[: warm + 1]))  # rising
    assert values[warm] == pytest.approx(1.0)
    assert values[55] == pytest.approx(floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(a >= b for a, b in itertools.pairwise(values[warm:]))  # falling
    assert values[total] == pytest.approx(floor) and values[-1] == pytest.approx(floor)
    assert warmup_cosine(0, 10, 0, 0.0) == 1.0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"epochs": 0}, "train.epochs must be an integer >= 1"),
        ({"lr": -1}, "train.lr must be a number >= 0"),
        ({"amp": "yes"}, "train.amp must be true or false"),
        ({"device": "tpu"}, "train.device must be auto, cpu, cuda or cuda:N"),
        ({"workers": -1}, "train.workers must be an integer >= 0"),
        ({"batchsize": 8}, r"unknown key\(s\) \['batchsize'\] in 'train'"),
    ],
)
def test_train_settings_name_the_bad_key(section: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainSettings.from_dict(section)


def test_config_overrides_are_yaml_typed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("task: pose\ntrain: {epochs: 5}\n")
    config = load_config(
        path, ["train.epochs=2", "train.amp=false", "data.val.kind=animal", "export.labels=[cat, dog]"]
    )
    assert config["train"] == {"epochs": 2, "amp": False}
    assert config["data"] == {"val": {"kind": "animal"}}
    assert config["export"]["labels"] == ["cat", "dog"]
    assert config[CONFIG_DIR_KEY] == str(tmp_path.resolve())
    with pytest.raises(ValueError, match=r"section\.key=value"):
        apply_overrides(config, ["train.epochs"])
    with pytest.raises(ValueError, match="'task' is not a section"):
        apply_overrides(config, ["task.x=1"])


def test_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"config 'task' must be one of \['detection', 'pose'\]"):
        build_task({"task": "segmentation"}, Path("."))


def test_checkpoint_round_trip_and_refusal_of_other_files(tmp_path: Path) -> None:
    ckpt = Checkpoint(config={"task": "pose"}, model={"w": torch.arange(3.0)}, epoch=2, step=10, best=0.5,
                      metrics={"pck@0.1": 0.5}, history=[{"epoch": 1}])  # fmt: skip
    save_checkpoint(ckpt, tmp_path / "x.pt")
    back = load_checkpoint(tmp_path / "x.pt")
    assert back.epoch == 2 and back.best == 0.5 and back.history == [{"epoch": 1}]
    assert torch.equal(back.model["w"], torch.arange(3.0))
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a flowpose checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_cli_parsers_do_not_import_torch() -> None:
    probe = textwrap.dedent("""\
        import sys
        from flowpose.cli.main import build_parser
        args = build_parser().parse_args(["train", "cfg.yaml", "--set", "train.epochs=1"])
        assert args.overrides == ["train.epochs=1"]
        args = build_parser().parse_args(["export", "best.pt", "-o", "m.onnx"])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision"))
        sys.exit(1 if heavy else 0)
        """)
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_missing_config_is_a_clear_cli_error(tmp_path: Path) -> None:
    from flowpose.cli.main import main

    assert main(["train", str(tmp_path / "nope.yaml")]) == 2


def test_missing_train_extra_is_a_clear_message(monkeypatch, capsys) -> None:
    from flowpose.cli import train_commands
    from flowpose.cli.main import main

    # As on a light install: one of the extra's packages is not importable.
    monkeypatch.setattr(train_commands, "_EXTRA", (*train_commands._EXTRA, "flowpose_no_such_package"))
    assert main(["train", "anything.yaml"]) == 3
    err = capsys.readouterr().err
    assert "needs the train extra (flowpose_no_such_package missing)" in err
    assert "pip install 'flowpose[train]'" in err
