"""What ``flowpose train`` prints when it is done: where the best model is, and the next commands."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

__all__ = ["next_steps"]


def _q(path: str | Path) -> str:
    return shlex.quote(str(path))


def next_steps(config_path: str | Path, config: dict[str, Any], out: Path, best: Path | None) -> list[str]:
    """Lines naming the best model and the commands that take it further: export, eval, run.

    Args:
        config_path: The config as given on the command line (``flowpose eval`` needs it).
        config: The parsed config (its ``data`` says whether ``eval labels`` applies).
        out: The run folder.
        best: ``best.pt`` when one was written, else None (then ``last.pt`` is named).
    """
    model = best if best is not None and best.is_file() else out / "last.pt"
    onnx = out / "model.onnx"
    lines = [f"best model: {model}" if model.name == "best.pt" else f"no best.pt (never evaluated); last: {model}"]
    lines.append("next:")
    lines.append(f"  flowpose export {_q(model)} -o {_q(onnx)}")
    val = (config.get("data") or {}).get("val") or {}
    if isinstance(val, dict) and val.get("type") == "dlc":
        project = Path(str(val.get("project", "PROJECT")))
        base = Path(str(config.get("_config_dir") or "."))
        project = project if project.is_absolute() else (base / project).resolve()
        lines.append(f"  flowpose eval labels {_q(onnx)} --data {_q(project)} --split test")
    lines.append(f"  flowpose eval {_q(config_path)} {_q(model)}")
    if isinstance(val, dict) and val.get("type") == "dlc":
        # One animal, no detector: the lab graph looks at the whole frame and follows the animal.
        run = f"  flowpose run graphs/lab_animal.yaml --set pose.model={_q(onnx)} --set camera.source=VIDEO.mp4"
    else:
        run = f"  flowpose run graphs/video_file.yaml --set camera.source=VIDEO.mp4 --set animal_pose.model={_q(onnx)}"
    lines.append(run)
    return lines
