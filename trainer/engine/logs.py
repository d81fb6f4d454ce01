"""Run logs: metrics.csv (rewritten whole, so columns may grow), TensorBoard when installed,
and a terminal progress bar that degrades to log lines when stderr is not a terminal."""

from __future__ import annotations

import csv
import logging
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["LINE_COLUMNS", "MetricsLog", "Progress", "epoch_lines", "fit_line"]

log = logging.getLogger(__name__)

#: Terminal width the per-epoch log lines fit, with the CLI's log prefix
#: (``12:34:56 INFO    flowpose.trainer.engine.loop: ``, 47 characters) in front.
LINE_COLUMNS = 100
_PREFIX = len("12:34:56 INFO    flowpose.trainer.engine.loop: ")


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


def fit_line(fields: list[str], width: int = LINE_COLUMNS - _PREFIX) -> str:
    """Join ``fields`` with spaces, dropping trailing ones (the least important) that do not fit."""
    line = ""
    for f in fields:
        candidate = f"{line} {f}" if line else f
        if len(candidate) > width:
            break
        line = candidate
    return line


def epoch_lines(
    row: dict[str, Any], epochs: int, best_metric: str, best: float | None, width: int = LINE_COLUMNS - _PREFIX
) -> list[str]:
    """The log lines of one epoch: training figures, then (on evaluated epochs) validation.

    Each fits ``width`` columns, so that with the log prefix a line fits a 100-column terminal;
    metrics.csv keeps every column (OKS AP/AR, the loss parts, the learning rate at full precision).
    """
    wait = row.get("data_wait")
    train = [
        f"epoch {row['epoch']}/{epochs}",
        f"loss {row['loss']:.4g}",
        f"lr {row['lr']:.2g}",
        f"{row['epoch_s']:.1f}s" if "epoch_s" in row else "",
        f"{row['samples_per_s']:.0f}/s" if "samples_per_s" in row else "",
        f"wait {wait:.0%}" if wait is not None else "",
    ]
    lines = [fit_line([f for f in train if f], width)]
    val = {k[4:]: v for k, v in row.items() if k.startswith("val_") and isinstance(v, (int, float))}
    if val:
        keys = [best_metric, *(k for k in ("epe", "pck@0.1", "oks_AP") if k != best_metric)]
        fields = ["  val"] + [f"{k} {val[k]:.4g}" for k in keys if k in val]
        if best is not None and val.get(best_metric) == best:
            fields.insert(2, "(best)")
        lines.append(fit_line(fields, width))
    return lines
