"""``flowpose bench smoothing``: our filters against raw detections and other projects' settings.

:func:`add_parsers` adds the ``smoothing`` command to whichever command group it is given
(today ``bench``, since ``flowpose eval`` is the trainer's checkpoint evaluation).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "dispatch"]


def add_parsers(subparsers: Any) -> None:
    """Add ``smoothing`` to a command group's sub-parsers (argparse set-up only: nothing heavy is imported)."""
    sm = subparsers.add_parser(
        "smoothing",
        help="jitter, lag and error of the smoothing filters on noisy synthetic keypoints",
        description="Renders synthetic scenes, passes the true keypoints through a simulated detector (jitter, "
        "outliers, missed keypoints, dropped frames) and scores each filter against the truth.",
    )
    sm.add_argument("--sequences", type=int, default=4, help="number of synthetic scenes (default 4)")
    sm.add_argument("--frames", type=int, default=300, help="frames per scene (default 300)")
    sm.add_argument("--fps", type=float, default=30.0, help="frame rate of the scenes (default 30)")
    sm.add_argument("--seed", type=int, default=0, help="seed of the scenes and the noise (default 0)")
    sm.add_argument("--json", metavar="FILE", help="also write the figures as JSON ('-' for stdout)")
    sm.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    sm.add_argument("--check", action="store_true", help="exit 1 when our default one_euro misses a target")


def dispatch(args: argparse.Namespace) -> int:
    """Run ``smoothing``; returns the exit code (1: a missed target with ``--check``, 2: bad arguments)."""
    from flowpose.evaluation.smoothing_data import EvalConfig
    from flowpose.evaluation.smoothing_eval import run
    from flowpose.evaluation.smoothing_report import check_targets, markdown, target_lines, to_json

    try:
        config = EvalConfig(sequences=args.sequences, frames=args.frames, fps=args.fps, seed=args.seed)
    except ValueError as exc:
        print(f"error: flowpose bench smoothing: {exc}", file=sys.stderr)
        return 2
    result = run(config)
    table = markdown(result)
    if args.json != "-":
        print(table)
        print("\n".join(target_lines(result)))
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        text = json.dumps(to_json(result), indent=2, allow_nan=True)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 1 if args.check and not check_targets(result)["passed"] else 0
