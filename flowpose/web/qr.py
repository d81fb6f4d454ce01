"""A QR code of a URL drawn with text characters, and the banner that shows a served URL."""

from __future__ import annotations

import sys
from typing import TextIO

# Two module rows per text line, with half blocks: upper, lower, both, neither.
_HALVES = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584", (True, True): "\u2588"}
_ANSI_DARK_ON_LIGHT = "\x1b[30;107m"
_ANSI_RESET = "\x1b[0m"


def qr_matrix(text: str, border: int = 2) -> list[list[bool]]:
    """The QR code of ``text`` as rows of modules, True = dark, with a quiet zone of ``border``."""
    import segno  # small, pure Python; imported only when a URL is shown

    code = segno.make(text, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(border=border)]


def qr_text(text: str, colour: bool = False) -> str:
    """``text`` as a QR code made of half-block characters, two modules high per line.

    Args:
        text: What to encode.
        colour: Force dark-on-light with ANSI colours, right on any terminal background.
            Without it, the characters' ink draws the *light* modules: right on the dark
            background most terminals have (phone scanners also read the inverse).
    """
    rows = qr_matrix(text)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))  # pad with quiet zone to an even count
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        if colour:  # ink = dark modules, paper = bright white background
            line = "".join(_HALVES[(t, b)] for t, b in zip(top, bottom, strict=True))
            lines.append(f"{_ANSI_DARK_ON_LIGHT}{line}{_ANSI_RESET}")
        else:  # ink = light modules
            lines.append("".join(_HALVES[(not t, not b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def print_banner(title: str, url: str, lines: list[str], stream: TextIO | None = None, qr: bool = True) -> None:
    """Show a served URL to the user, with extra lines and a QR code to scan with a phone.

    Printed rather than logged on purpose: it is what the user must act on, and log prefixes
    on each line would break the QR code apart.
    """
    out = sys.stderr if stream is None else stream
    text = [f"\n{title}", f"  open: {url}", *(f"  {line}" for line in lines)]
    if qr:
        colour = bool(getattr(out, "isatty", lambda: False)())
        text.append(qr_text(url, colour=colour))
    print("\n".join(text) + "\n", file=out, flush=True)
