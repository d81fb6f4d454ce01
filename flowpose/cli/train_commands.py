"""``flowpose train``, ``flowpose eval`` and ``flowpose export`` (need the ``train`` extra).

Building the parsers imports nothing: torch is loaded only when one of these commands runs,
so ``flowpose run``/``validate`` stay fast and torch-free.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from flowpose.cli import coco_commands, labels_commands
from flowpose.cli.routing import FirstWordRouter

__all__ = ["add_parsers", "dispatch"]

COMMANDS = ("train", "eval", "export")
_EXTRA = ("torch", "torchvision", "onnx", "pycocotools")


def add_parsers(subparsers: Any) -> None:
    """Add the three commands to the top-level sub-parsers (argparse set-up only)."""
    over = {"dest": "overrides", "action": "append", "default": [], "metavar": "KEY=VALUE"}
    over_help = "override a config value, e.g. train.epochs=3 (YAML-typed, repeatable)"

    train = subparsers.add_parser("train", help="train a model from a YAML config (trainer/configs/*.yaml)")
    train.add_argument("config", help="training config (YAML)")
    train.add_argument("--set", help=over_help, **over)
    train.add_argument("-o", "--output-dir", help="run folder (default: the config's output_dir, else runs/NAME)")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue from a last.pt")
    train.add_argument("--bench", action="store_true", help="time the data loader against the model step; no training")
    train.add_argument("--bench-batches", type=int, default=20, help="batches per --bench measurement (20)")

    # `eval CONFIG CHECKPOINT` (a checkpoint) and `eval coco ...` (ONNX models on COCO-style
    # images, no torch) share the command: the first word picks the parser.
    ev = subparsers.add_parser(
        "eval",
        help="evaluate a checkpoint (eval CONFIG CHECKPOINT), the pose models on COCO-style images (eval coco) "
        "or an exported model on labelled frames (eval labels)",
        usage="flowpose eval CONFIG CHECKPOINT [--set KEY=VALUE] [--json FILE]\n"
        "       flowpose eval coco --images DIR --annotations FILE [...]  (see flowpose eval coco -h)\n"
        "       flowpose eval labels MODEL.onnx --data PROJECT [...]  (see flowpose eval labels -h)",
    )
    checkpoint = argparse.ArgumentParser(prog="flowpose eval", description="evaluate a checkpoint on its config's data")
    checkpoint.add_argument("config", help="training config (YAML) whose data.val is used")
    checkpoint.add_argument("checkpoint", help="a best.pt or last.pt")
    checkpoint.add_argument("--set", help=over_help, **over)
    checkpoint.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    checkpoint.add_argument(
        "--split",
        choices=("val", "test"),
        default="val",
        help="data.val (default) or the held-out test data (data.test, or a dlc source's test part)",
    )
    ev.add_argument(
        "eval_target",
        action=FirstWordRouter,
        routes={"coco": coco_commands.build_parser(), "labels": labels_commands.build_parser()},
        fallback=checkpoint,
        fallback_name="checkpoint",
        metavar="{CONFIG,coco,labels} ...",
        help="a training config (then CHECKPOINT), coco or labels",
    )

    ex = subparsers.add_parser("export", help="export a checkpoint to ONNX with its model card")
    ex.add_argument("checkpoint", help="a best.pt or last.pt")
    ex.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    ex.add_argument("--name", help="model name in the card")
    ex.add_argument("--description", help="description in the card")
    ex.add_argument("--bound", type=float, help="max accepted |onnxruntime - pytorch| (default 1e-3)")
    ex.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    ex.add_argument(
        "--weights",
        choices=("float32", "float16", "int8"),
        help="store weights as float16 (half the file) or int8 (about a quarter); computed in float32, same speed",
    )


def _missing_extra() -> list[str]:
    return [name for name in _EXTRA if importlib.util.find_spec(name) is None]


def dispatch(args: argparse.Namespace) -> int:
    """Run ``train``/``eval``/``export``; 0 ok, 1 failure, 2 missing file or bad config, 3 no extra."""
    if args.command == "eval" and getattr(args, "eval_target", None) == "labels":
        return labels_commands.dispatch(args)  # ONNX Runtime only: no train extra needed
    missing = _missing_extra()
    if missing:
        print(
            f"error: 'flowpose {args.command}' needs the train extra ({', '.join(missing)} missing): "
            "pip install 'flowpose[train]'",
            file=sys.stderr,
        )
        return 3
    from flowpose.trainer import commands  # imports torch

    try:
        if args.command == "train":
            return commands.train_command(
                args.config, args.overrides, args.output_dir, args.resume, args.bench, args.bench_batches
            )
        if args.command == "eval":
            return commands.evaluate_command(args.config, args.checkpoint, args.overrides, args.json, args.split)
        options: dict[str, Any] = {}
        card = {k: v for k, v in (("name", args.name), ("description", args.description)) if v}
        if card:
            options["card"] = card
        if args.bound is not None:
            options["bound"] = args.bound
        if args.opset is not None:
            options["opset"] = args.opset
        if args.weights is not None:
            options["weights"] = args.weights
        return commands.export_command(args.checkpoint, args.output, options)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, FloatingPointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
