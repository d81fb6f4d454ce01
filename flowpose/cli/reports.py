"""Printing an evaluation report, and writing its figures as JSON when asked."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["emit_report"]

logger = logging.getLogger(__name__)


def emit_report(lines: Sequence[str], figures: Mapping[str, Any], json_path: str | None) -> None:
    """Print ``lines`` on stdout; write ``figures`` to ``json_path`` (its folder made) when given."""
    print("\n".join(lines))
    if json_path:
        out = Path(json_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        logger.info("figures written to %s", out)
