"""Running the `flowpose` command in a real subprocess, the way a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FLOWPOSE = [sys.executable, "-m", "flowpose.cli.main"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``flowpose ARGS`` and return its exit code and captured text output."""
    return subprocess.run([*FLOWPOSE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
