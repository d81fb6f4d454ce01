"""Run logs: metrics.csv (rewritten whole, so columns may grow), TensorBoard when installed,
and a terminal progress bar that degrades to log lines when stderr is not a terminal."""

from __future__ import annotations

import csv
import logging
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog", "Progress"]

log = logging.getLogger(__name__)


class MetricsLog:
    """One CSV row per epoch, plus TensorBoard scalars when ``tensorboard`` is importable."""

    def __init__(self, output_dir: Path, history: list[dict[str, Any]], tensorboard: bool) -> None:
        self.path = Path(output_dir) / "metrics.csv"
        self.rows = list(history)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.info("tensorboard is not installed; metrics go to %s only", self.path)
            else:
                self._tb = SummaryWriter(str(Path(output_dir) / "tb"))

    def add(self, row: dict[str, Any]) -> None:
        """Append a row and rewrite the CSV (a handful of rows: cheap, and never half-written)."""
        self.rows.append(row)
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)
        tmp.replace(self.path)
        if self._tb is not None:
            step = int(row.get("step", 0))
            for key, value in row.items():
                if key not in ("epoch", "step") and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, step)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


class Progress:
    """``epoch 3/10 [#####.....] 45/90 loss 0.0123 210 samples/s`` on a terminal."""

    def __init__(self, enabled: bool, total: int, epoch: int, epochs: int, log_every: int = 50) -> None:
        self.live = enabled and sys.stderr.isatty()
        self.enabled = enabled
        self.total, self.epoch, self.epochs = total, epoch, epochs
        self.log_every = log_every
        self.start = time.perf_counter()

    def update(self, done: int, samples: int, loss: float) -> None:
        if not self.enabled:
            return
        rate = samples / max(time.perf_counter() - self.start, 1e-9)
        if self.live:
            filled = int(20 * done / max(self.total, 1))
            bar = "#" * filled + "." * (20 - filled)
            head = f"\repoch {self.epoch + 1}/{self.epochs} [{bar}] {done}/{self.total}"
            text = f"{head} loss {loss:.4g} {rate:.0f} samples/s"
            sys.stderr.write(text)
            sys.stderr.flush()
        elif done % self.log_every == 0 or done == self.total:
            log.info(
                "epoch %d/%d step %d/%d loss %.4g %.0f samples/s",
                self.epoch + 1,
                self.epochs,
                done,
                self.total,
                loss,
                rate,
            )

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\n")
            sys.stderr.flush()
