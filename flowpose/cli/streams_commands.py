"""``flowpose streams ls|add|rm|pause|resume``: change the streams of a running ``flowpose serve``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from flowpose.serve import DEFAULT_URL
from flowpose.serve.auth import TOKEN_ENV

URL_ENV = "FLOWPOSE_URL"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``streams`` command and its actions."""
    streams = sub.add_parser(
        "streams",
        help="list, add, remove, pause streams of a running `flowpose serve`",
        description=f"Talks to `flowpose serve` at --url (default ${URL_ENV}, else {DEFAULT_URL}) with --token "
        f"(default ${TOKEN_ENV}).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=None, help=f"where flowpose serve listens (default ${URL_ENV}, else {DEFAULT_URL})"
    )
    common.add_argument("--token", default=None, help=f"the bearer token (default ${TOKEN_ENV})")
    actions = streams.add_subparsers(dest="streams_action", required=True, metavar="ACTION")
    ls = actions.add_parser("ls", parents=[common], help="list the streams")
    ls.add_argument("--json", action="store_true", help="print the JSON the server sent")
    add = actions.add_parser("add", parents=[common], help="open a new stream")
    add.add_argument("source", help='a device index, a file, a URL, or "synthetic"')
    add.add_argument("--id", dest="stream_id", help="the new stream's id (default: the node picks one)")
    add.add_argument("--node", help="the source node, when the graph has several")
    for name, text in (
        ("rm", "end a stream"),
        ("pause", "stop a stream's frames"),
        ("resume", "restart a paused stream"),
    ):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("stream_id", metavar="ID", help="the stream's id (see `flowpose streams ls`)")


def _source(text: str) -> int | str:
    """A device index as a number (as Camera's ``source`` takes it), anything else as given."""
    return int(text) if text.isdigit() else text


def format_streams(streams: list[dict[str, Any]]) -> str:
    """A fixed-width table of streams for the terminal."""
    if not streams:
        return "no streams"
    header = ("id", "node", "state", "frames", "fps", "live", "source")
    rows = [
        (
            str(s["id"]),
            str(s["node"]),
            str(s["state"]),
            str(s["frames"]),
            f"{s['fps']:.1f}",
            "yes" if s["live"] else "no",
            str(s["source"]),
        )
        for s in streams
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])


def dispatch(args: argparse.Namespace) -> int:
    """Run one ``flowpose streams`` action; 1 with a one-line message when it fails."""
    from flowpose.serve.client import ClientError, ServeClient  # urllib only when used

    client = ServeClient(
        url=args.url or os.environ.get(URL_ENV) or DEFAULT_URL, token=args.token or os.environ.get(TOKEN_ENV)
    )
    try:
        if args.streams_action == "ls":
            streams = client.streams()
            print(json.dumps(streams, indent=2) if args.json else format_streams(streams))
        elif args.streams_action == "add":
            info = client.add(_source(args.source), args.stream_id, args.node)
            print(f"added stream {info['id']} ({info['source']}, node {info['node']})")
        elif args.streams_action == "rm":
            client.remove(args.stream_id)
            print(f"removed stream {args.stream_id}")
        else:
            info = client.pause(args.stream_id, args.streams_action == "pause")
            print(f"stream {info['id']}: {info['state']}")
    except ClientError as exc:
        print(f"flowpose streams: {exc}", file=sys.stderr)
        return 1
    return 0
