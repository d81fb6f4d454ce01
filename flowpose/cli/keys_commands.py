"""``flowpose keys``: make CurveZMQ key pairs for the hosts of a graph."""

from __future__ import annotations

import argparse
import re
import sys

from flowpose.graph.spec import NAME_PATTERN


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``keys`` command."""
    keys = sub.add_parser(
        "keys",
        help="make CurveZMQ key pairs for a graph's hosts",
        description="Writes FOLDER/NAME.key (public: copy it to every host) and FOLDER/NAME.key_secret "
        "(secret, mode 0600: keep it on host NAME only) for each NAME. Point the graph at the folder with "
        "`curve: {keys: FOLDER}`.",
    )
    keys.add_argument("names", nargs="+", metavar="NAME", help="host names, as in the graph's `hosts`")
    keys.add_argument("-o", "--output", default="keys", metavar="FOLDER", help="where to write (default: keys)")
    keys.add_argument("--force", action="store_true", help="replace existing key files")


def dispatch(args: argparse.Namespace) -> int:
    """Run ``flowpose keys``."""
    from flowpose.hosts.keys import create_key_pair  # pyzmq only when used

    bad = [n for n in args.names if not re.match(NAME_PATTERN, n)]
    if bad:
        print(f"error: not a host name: {', '.join(bad)} (letters, digits, '_' and '-')", file=sys.stderr)
        return 2
    for name in args.names:
        try:
            public, secret = create_key_pair(args.output, name, force=args.force)
        except FileExistsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {public} (public, copy to every host), {secret} (secret, 0600, keep on {name})")
    return 0
