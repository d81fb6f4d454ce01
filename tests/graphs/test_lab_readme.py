"""The README's "Your own animals, live" runs as written: import, train, export, eval, lab graph."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from cli_support import run_cli

ROOT = Path(__file__).resolve().parents[2]
GRAPH = ROOT / "graphs" / "lab_animal.yaml"


def lab_commands() -> list[list[str]]:
    """The README's marked block, one argument list per command (comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- lab-commands[^>]*-->\n```bash\n(.*?)```", readme, flags=re.S)
    assert match, "README lost its marked 'Your own animals' commands"
    commands = [shlex.split(line, comments=True) for line in match.group(1).splitlines() if line.strip()]
    assert all(c[0] == "flowpose" for c in commands) and len(commands) <= 10
    return [c[1:] for c in commands]


def test_the_section_is_import_train_export_eval_run() -> None:
    assert [c[0] for c in lab_commands()] == ["data", "train", "export", "eval", "run"]


def test_lab_graph_runs_a_pose_model_with_no_detector() -> None:
    nodes = {n["name"]: n for n in yaml.safe_load(GRAPH.read_text(encoding="utf-8"))["nodes"]}
    assert "Detector" not in {n["type"] for n in nodes.values()}
    assert nodes["pose"]["inputs"] == ["frames"] and nodes["pose"]["params"]["box"] == "frame"
    assert nodes["pose"]["params"]["dynamic_crop"] is True
    assert {"Trigger", "Smoother", "VideoRecorder", "PoseRecorder"} <= {n["type"] for n in nodes.values()}


@pytest.mark.realdata
def test_readme_lab_commands_run_as_written(shared_dir: Path, tmp_path: Path) -> None:
    # A checkout as a user has it: the repository's files (symlinked) with ../shared beside it.
    repo = tmp_path / "flowpose"
    repo.mkdir()
    for name in ("trainer", "graphs"):
        (repo / name).symlink_to(ROOT / name)
    (tmp_path / "shared").symlink_to(shared_dir)
    outputs = []
    for args in lab_commands():
        res = run_cli(*args, cwd=repo, timeout=900)
        assert res.returncode == 0, f"flowpose {shlex.join(args)}\n{res.stderr[-3000:]}"
        assert "Traceback" not in res.stderr
        outputs.append(res.stdout + res.stderr)
    data_out, _, _, eval_out, run_out = outputs
    assert "frames: 116 labelled images" in data_out and "keypoints (4): snout, leftear, rightear, tailbase" in data_out
    mean_px = float(re.search(r"pixel error: mean ([\d.]+) px", eval_out).group(1))
    assert mean_px < 8.0  # measured 4.15 px on the 17 held-out frames (seeded)
    assert "test part" in eval_out
    # The self-contained model names its keypoints in the recorded poses; the mouse is found.
    lines = [json.loads(line) for line in (repo / "out" / "lab_animal.jsonl").read_text().splitlines()]
    assert len([rec for rec in lines if "instances" in rec]) == 2330
    found = [rec for rec in lines if any(inst.get("keypoints") for inst in rec.get("instances", []))]
    assert len(found) >= 0.95 * 2330
    assert "snout" in (repo / "out" / "lab_animal.jsonl").read_text()[:5000]
    assert "capture to action" in run_out
