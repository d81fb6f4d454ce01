"""Offline mode: no downloads, and a message naming every file to fetch by hand.

Offline is a process-wide switch kept in the environment (``FLOWPOSE_OFFLINE=1``), so nodes
that run in child processes see it too. ``--offline`` on a command sets it; any command can
offer the flag with :func:`add_offline_argument` and :func:`apply_offline_argument`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowpose.zoo.registry import ZooEntry

__all__ = [
    "OFFLINE_ENV",
    "add_offline_argument",
    "apply_offline_argument",
    "is_offline",
    "missing_model_message",
    "set_offline",
]

OFFLINE_ENV = "FLOWPOSE_OFFLINE"
_FALSE = ("", "0", "false", "no", "off")


def is_offline() -> bool:
    """Whether downloads are off: ``FLOWPOSE_OFFLINE`` is set to anything but 0/false/no/off."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in _FALSE


def set_offline(offline: bool = True) -> None:
    """Turn downloads off (or back on) for this process and the processes it starts."""
    if offline:
        os.environ[OFFLINE_ENV] = "1"
    else:
        os.environ.pop(OFFLINE_ENV, None)


def add_offline_argument(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--offline`` flag (cheap: imports nothing)."""
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"never download models; name the files to fetch by hand instead (same as {OFFLINE_ENV}=1)",
    )


def apply_offline_argument(args: argparse.Namespace) -> None:
    """Act on ``--offline`` when the command has it and it was given (never turns offline off)."""
    if getattr(args, "offline", False):
        set_offline(True)


def missing_model_message(entry: ZooEntry, target: Path) -> str:
    """The offline error for a zoo model not in the cache: its URL, and where to put what.

    Example:
        zoo model 'yolox-nano' is not downloaded and downloads are off (--offline or
        FLOWPOSE_OFFLINE=1): download https://.../yolox_nano.onnx and save it as
        /home/me/.cache/flowpose/models/yolox_nano.onnx
    """
    head = (
        f"zoo model {entry.name!r} is not downloaded and downloads are off (--offline or {OFFLINE_ENV}=1): "
        f"download {entry.url}"
    )
    if entry.member:
        return f"{head}, extract '{entry.member}' from the zip (at any depth) and save it as {target}"
    return f"{head} and save it as {target}"
