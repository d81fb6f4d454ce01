"""Phone page flow control: what the page sees (frames shown per second, round-trip latency)
for each way of pacing it, with a headless Chromium's fake camera (20 fps) on loopback.

The graph is PhoneCamera -> stage1 -> stage2 -> Visualizer -> PhoneDisplay, each stage a
PassThrough spending ``--work-ms``. Configurations run one after the other, ``--rounds``
times round-robin, so load from other work spreads over all of them; medians are printed.
Latency is the page's own: from sending a frame to receiving its annotated result.

Usage::

    python tests/benchmarks/phone_bench.py [--work-ms 60] [--seconds 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from browser_support import Chromium  # noqa: E402
from flowpose.nodes.phone_hub import lookup  # noqa: E402
from web_support import RunningGraph  # noqa: E402

CONFIGS = {
    # name: (PhoneCamera params, buffer size behind the phone, stage work factor)
    "loopback 640x480, no work": ("window: 0", 4, 0),
    "window 0, every buffer size 4 (default)": ("window: 0", 4, 1),
    "window 0, every buffer size 1": ("window: 0", 1, 1),
    "window 1": ("window: 1", 4, 1),
    "window 2": ("window: 2", 4, 1),
    "window 3": ("window: 3", 4, 1),
}


def graph(camera: str, size: int, work_ms: float) -> str:
    return f"""
defaults: {{buffer: {{size: {size}}}}}
nodes:
  - {{name: phone, type: PhoneCamera, outputs: [frames],
      params: {{host: 127.0.0.1, port: 0, banner: false, width: 640, height: 480, {camera}}}}}
  - {{name: stage1, type: PassThrough, inputs: [frames], outputs: [s1], params: {{work_ms: {work_ms}}}}}
  - {{name: stage2, type: PassThrough, inputs: [s1], outputs: [s2], params: {{work_ms: {work_ms}}}}}
  - {{name: vis, type: Visualizer, inputs: [s2], outputs: [annotated]}}
  - {{name: back, type: PhoneDisplay, inputs: [annotated], params: {{camera: phone}}}}
"""


def measure(browser: Chromium, text: str, seconds: float) -> dict[str, float]:
    with RunningGraph(text) as running:
        hub = lookup("phone")
        assert hub is not None and hub.serving.wait(20)
        page = browser.new_page(hub.url)
        try:
            page.wait_for("window.flowpose && flowpose.results >= 5", 60)
            time.sleep(1.0)  # settle
            start = page.evaluate("({r: flowpose.results, s: flowpose.sent, t: performance.now()})")
            page.evaluate("flowpose.latencies.length = 0")
            time.sleep(seconds)
            end = page.evaluate(
                "({r: flowpose.results, s: flowpose.sent, t: performance.now(), l: flowpose.latencies})"
            )
        finally:
            page.close()
        result = running.stop()
    span = (end["t"] - start["t"]) / 1000
    lat = sorted(end["l"])
    drops = sum(s.drops for s in result.stats)
    return {
        "shown_fps": (end["r"] - start["r"]) / span,
        "sent_fps": (end["s"] - start["s"]) / span,
        "lat_p50": lat[len(lat) // 2] if lat else float("nan"),
        "lat_p95": lat[int(len(lat) * 0.95)] if lat else float("nan"),
        "graph_drops": drops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-ms", type=float, default=60.0, help="time each of the two stages spends per frame")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("FLOWPOSE_HOME", tempfile.mkdtemp(prefix="flowpose-bench-"))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGS}
    browser = Chromium(Path(tempfile.mkdtemp(prefix="flowpose-chromium-")))
    try:
        for _ in range(args.rounds):
            for name, (camera, size, factor) in CONFIGS.items():
                runs[name].append(measure(browser, graph(camera, size, args.work_ms * factor), args.seconds))
    finally:
        browser.close()
    print(f"{browser.version}; two stages of {args.work_ms:.0f} ms; {args.rounds} x {args.seconds:.0f} s each")
    print(f"{'configuration':38s} {'shown fps':>9s} {'sent fps':>9s} {'lat p50':>8s} {'lat p95':>8s} {'drops':>6s}")
    for name, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(
            f"{name:38s} {med['shown_fps']:9.1f} {med['sent_fps']:9.1f} {med['lat_p50']:8.1f} "
            f"{med['lat_p95']:8.1f} {med['graph_drops']:6.0f}"
        )


if __name__ == "__main__":
    main()
