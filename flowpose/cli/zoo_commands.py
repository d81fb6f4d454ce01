"""``flowpose zoo list|download`` and ``flowpose model info``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowpose.models import ModelCard

__all__ = ["add_parsers", "dispatch"]


def add_parsers(subparsers: Any) -> None:
    """Add the ``zoo`` and ``model`` commands to the top-level sub-parsers.

    Imports nothing heavy: building the parser must stay cheap for every other command.
    """
    zoo = subparsers.add_parser("zoo", help="list and download pretrained models")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    zoo_sub.add_parser("list", help="the models the zoo knows, and which are downloaded")
    dl = zoo_sub.add_parser("download", help="download a model into the cache ($FLOWPOSE_CACHE)")
    dl.add_argument("name", help="zoo name, as in 'flowpose zoo list'")
    dl.add_argument("--allow-unverified", action="store_true", help="accept a model without a pinned sha256")
    dl.add_argument("--force", action="store_true", help="download again even if cached")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")

    model = subparsers.add_parser("model", help="inspect model files")
    model_sub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    info = model_sub.add_parser("info", help="show a model's card and inputs/outputs")
    info.add_argument("file", help="an .onnx file or zoo:NAME")
    info.add_argument("--preset", help="for a model without card: yolox, rtmdet_end2end, rtmpose_simcc")
    info.add_argument("--json", action="store_true", help="print the card as JSON")


def dispatch(args: argparse.Namespace) -> int:
    """Run a ``zoo`` or ``model`` command; returns the exit code (2: not found, 1: other errors)."""
    from flowpose.models import CardNotFoundError
    from flowpose.zoo import ModelNotFoundError, ZooError, download

    try:
        if args.command == "zoo" and args.zoo_command == "list":
            return _list()
        if args.command == "zoo":
            path = download(
                args.name,
                allow_unverified=args.allow_unverified,
                progress=not args.no_progress,
                force=args.force,
            )
            print(path)
            return 0
        return _info(args.file, args.preset, args.json)
    except (ModelNotFoundError, CardNotFoundError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ZooError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _list() -> int:
    from flowpose.zoo import cache_dir, zoo_entries

    cache = cache_dir()
    entries = zoo_entries()
    width = max(len(name) for name in entries)
    for name, entry in entries.items():
        packaged = entry.packaged_path
        if packaged is not None:
            state = "packaged" if packaged.is_file() else "missing"
        else:
            state = "downloaded" if (cache / entry.filename).is_file() else "-"
        check = "-" if packaged is not None else "sha256" if entry.verified else "unverified"
        print(f"{name:<{width}}  {state:<10}  {check:<10}  {entry.description}")
    print(f"\ncache: {cache}")
    print("get one with 'flowpose zoo download NAME'; use it in a graph as 'model: zoo:NAME'")
    return 0


def _info(ref: str, preset: str | None, as_json: bool) -> int:
    from flowpose.models import find_card
    from flowpose.zoo import resolve_model

    path = resolve_model(ref)
    found = find_card(path, preset)
    if as_json:
        payload = {
            "file": str(path),
            "source": found.source,
            "origin": found.origin,
            "card": found.card.to_dict(),
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"file:   {path}")
    print(f"card:   {found.source} ({found.origin})")
    for name, shape in found.io.inputs:
        print(f"input:  {name} {shape}")
    for name, shape in found.io.outputs:
        print(f"output: {name} {shape}")
    print(describe_card(found.card))
    return 0


def describe_card(card: ModelCard) -> str:
    """A card as aligned ``key: value`` lines, long lists shortened."""
    lines = []
    for key, value in card.to_dict().items():
        if value == "":
            continue
        if isinstance(value, list) and len(value) > 8:
            value = ", ".join(map(str, value[:6])) + f", ... ({len(value)} in all)"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        lines.append(f"  {key + ':':<16}{value}")
    return f"{card.task} model card\n" + "\n".join(lines)
