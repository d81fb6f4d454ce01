"""A positional that hands the rest of the command line to a sub-parser chosen by its first word.

argparse sub-commands must all be named, but ``flowpose eval CONFIG CHECKPOINT`` predates
``flowpose eval coco ...``: the first word is a free file name there. :class:`FirstWordRouter`
does what argparse's own sub-parser action does (``nargs=PARSER``: the first word and
everything after it), except that a word that names no route goes, whole, to a fallback parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FirstWordRouter"]


class FirstWordRouter(argparse.Action):
    """Route ``WORD ARGS...`` to ``routes[WORD]`` (parsing ``ARGS``), or all of it to ``fallback``.

    The parsed values land in the same namespace; ``dest`` holds the route taken (the word,
    or ``fallback_name``). Each sub-parser reports its own errors with its own usage.

    Args:
        routes: Sub-parsers by first word.
        fallback: Parser for anything else (it sees the first word as its first positional).
        fallback_name: What ``dest`` holds when the fallback was taken.
    """

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        routes: Mapping[str, argparse.ArgumentParser],
        fallback: argparse.ArgumentParser,
        fallback_name: str,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("nargs", None)
        super().__init__(option_strings, dest, nargs=argparse.PARSER, **kwargs)
        self.routes = dict(routes)
        self.fallback = fallback
        self.fallback_name = fallback_name

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        first, *rest = values
        if first in self.routes:
            setattr(namespace, self.dest, first)
            self.routes[first].parse_args(rest, namespace)
        else:
            setattr(namespace, self.dest, self.fallback_name)
            self.fallback.parse_args(list(values), namespace)
