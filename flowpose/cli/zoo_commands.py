"""``flowpose zoo list|download|verify`` and ``flowpose model info``."""

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
    from flowpose.zoo.offline import add_offline_argument  # light: no zoo import

    zoo = subparsers.add_parser("zoo", help="list, download and verify pretrained models")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    zoo_sub.add_parser("list", help="the models the zoo knows, upstream's AP and CPU latency, and the cache state")
    dl = zoo_sub.add_parser(
        "download", help="download a model into the cache ahead of time (first use downloads it anyway)"
    )
    dl.add_argument("name", help="zoo name, as in 'flowpose zoo list'")
    dl.add_argument(
        "--allow-unverified", action="store_true", help="accepted for compatibility; no longer needed (no effect)"
    )
    dl.add_argument("--force", action="store_true", help="download again even if cached")
    dl.add_argument("--no-progress", action="store_true", help="no progress bar")
    verify = zoo_sub.add_parser("verify", help="re-hash every cached model against its pin; remove mismatches")
    verify.add_argument("names", nargs="*", metavar="NAME", help="only these zoo models (default: all)")

    model = subparsers.add_parser("model", help="inspect model files")
    model_sub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    info = model_sub.add_parser("info", help="show a model's card and inputs/outputs")
    info.add_argument("file", help="an .onnx file or zoo:NAME")
    info.add_argument("--preset", help="for a model without card: yolox, rtmdet_end2end, rtmpose_simcc")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    add_offline_argument(info)


def dispatch(args: argparse.Namespace) -> int:
    """Run a ``zoo`` or ``model`` command; returns the exit code.

    0: done; 1: a failure (network, digest mismatch); 2: not found (or offline and not cached);
    130 / 143: a download stopped by Ctrl-C / SIGTERM (its partial is kept for the next try).
    """
    from flowpose.models import CardNotFoundError
    from flowpose.zoo import DownloadInterrupted, ModelNotFoundError, ZooError, download
    from flowpose.zoo.offline import apply_offline_argument

    apply_offline_argument(args)
    try:
        if args.command == "zoo" and args.zoo_command == "list":
            from flowpose.zoo.listing import format_zoo_list

            print(format_zoo_list())
            return 0
        if args.command == "zoo" and args.zoo_command == "verify":
            return _verify(args.names)
        if args.command == "zoo":
            path = download(args.name, progress=not args.no_progress, force=args.force)
            print(path)
            return 0
        return _info(args.file, args.preset, args.json)
    except DownloadInterrupted as exc:  # one line, no traceback; the partial download is kept
        print(f"flowpose: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ModelNotFoundError, CardNotFoundError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ZooError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _verify(names: list[str]) -> int:
    """Re-hash the cache: one line per model (OK / pinned now / MISMATCH / missing); 1 on any mismatch."""
    from flowpose.zoo import cache_dir, get_entry, verify_cache, zoo_entries
    from flowpose.zoo.pins import PINS_FILE

    entries = zoo_entries()
    if names:
        entries = {name: get_entry(name, entries) for name in names}
    cache = cache_dir()
    results = verify_cache(entries, cache)
    width = max((len(r.name) for r in results), default=4)
    for r in results:
        print(f"{r.name:<{width}}  {r.state:<10}  {r.detail}")
    bad = sum(r.state == "MISMATCH" for r in results)
    print(f"\n{len(results)} checked, {bad} mismatched; cache {cache}, pins {cache / PINS_FILE}")
    return 1 if bad else 0


def _info(ref: str, preset: str | None, as_json: bool) -> int:
    from flowpose.models import find_card
    from flowpose.zoo import resolve_model

    path = resolve_model(ref)  # a zoo model not cached yet is downloaded (unless --offline)
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


def _describe_layout(card: ModelCard) -> str:
    layout = card.embedded_layout()
    if layout is None:
        return ""
    names = layout.keypoint_names
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
    pairs = ", ".join(f"{names[a]}/{names[b]}" for a, b in layout.flip_pairs) or "none"
    return f"embedded, {len(names)} keypoints ({shown}); {len(layout.skeleton)} links; flip pairs {pairs}"


def describe_card(card: ModelCard) -> str:
    """A card as aligned ``key: value`` lines, long lists shortened."""
    lines = []
    for key, value in card.to_dict().items():
        if value == "":
            continue
        if key == "layout":  # the embedded keypoint layout: what it holds, not its JSON
            value = _describe_layout(card)
        elif isinstance(value, list) and len(value) > 8:
            value = ", ".join(map(str, value[:6])) + f", ... ({len(value)} in all)"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        lines.append(f"  {key + ':':<16}{value}")
    return f"{card.task} model card\n" + "\n".join(lines)
