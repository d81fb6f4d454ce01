"""Figures of ``flowpose bench streams``: one run summarised, repeats folded, tables, ratios, verdicts.

Every variant's run is a :class:`flowpose.bench.streams_record.RunLog`, read the same way:

* **fps (all)** — timed frames over the time from the start gate to the last frame done;
* **fps per stream** — max speed: a stream's frames over the time to its own last one (a
  stream served late shows low); live: the rate its frames came out at (frames - 1 over
  first to last done), so a stream falling behind shows below its rate, and it *holds* the
  rate at >= 95 % of it;
* **latency** — done minus capture (live: the frame's scheduled time; max speed: when it was
  handed out, so mostly time queued);
* **CPU ms per frame** — the process's CPU time (every thread) from the gate to the last
  frame, over the frames; **cores used** is that times the fps (2.0: both cores of this
  machine, all the time);
* **stages** — detector calls (frames per call, ms per call: the node's own time) and pose
  calls (crops per call, ms per call: the runner's time per frame x frames per call where
  the pose node batches, else the call's span), from what each frame recorded: frames of
  one batch share its end.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, fields

import numpy as np

from flowpose.bench.streams_record import FrameRecord, RunLog

__all__ = [
    "HOLD_FRACTION",
    "KEYPOINT_TOLERANCE_PX",
    "StreamsResult",
    "check_equal",
    "format_report",
    "median_results",
    "summarise",
    "verdicts",
]

#: The per-person loop normalises in float64, the batched path in float32: keypoints may differ
#: by rounding only (as ``bench pose`` and ``bench pipeline`` check).
KEYPOINT_TOLERANCE_PX = 0.05
#: A live stream holds its rate when its frames come out at this fraction of it or more.
HOLD_FRACTION = 0.95
VARIANT_LETTERS = {"graph": "a", "graph-nobatch": "a0", "graphs": "b", "loops": "c", "loop-rr": "c'"}


@dataclass(frozen=True)
class StreamsResult:
    """One run of one variant (or the medians over repeats).

    Attributes:
        variant: ``graph``, ``graph-nobatch``, ``graphs``, ``loops`` or ``loop-rr``.
        mode: ``max`` (as fast as possible) or ``live`` (each stream paced).
        streams: How many streams.
        frames: Timed frames done, all streams.
        fps: Frames per second, all streams together.
        stream_fps_min: The slowest stream's fps.
        stream_fps_median: The median stream's fps.
        latency_ms_p50: Median capture-to-done latency.
        latency_ms_p95: 95th percentile of the same.
        cpu_ms_per_frame: Process CPU time per frame.
        held: Live: the fraction of streams that held their rate (1.0: all); max speed: 1.0.
        det_frames_per_call: Frames per detector call.
        det_ms_per_call: Median detector call.
        pose_crops_per_call: Crops per pose call (a loop's call is one frame's crops, one run each).
        pose_ms_per_call: Median pose call.
        posed_per_frame: People with keypoints per frame (a sanity check: equal for all variants).
    """

    variant: str
    mode: str
    streams: int
    frames: int
    fps: float
    stream_fps_min: float
    stream_fps_median: float
    latency_ms_p50: float
    latency_ms_p95: float
    cpu_ms_per_frame: float
    held: float
    det_frames_per_call: float
    det_ms_per_call: float
    pose_crops_per_call: float
    pose_ms_per_call: float
    posed_per_frame: float


def _calls(spans: list[tuple[int, int]], own_ms: list[float | None] | None = None) -> tuple[int, float]:
    """How many distinct calls the spans are, and their median duration (ms).

    Frames of one batch share the call's end. A call's duration is the node's own figure
    where there is one (``own_ms``, per span); else it is read from the last frame in, which
    for a batch that waited on after it includes the wait.
    """
    starts: dict[int, int] = {}
    own: dict[int, float] = {}
    for (start, end), ms in zip(spans, own_ms or [None] * len(spans), strict=True):
        starts[end] = max(start, starts.get(end, start))
        if ms is not None:
            own[end] = float(ms)
    durations = [own.get(end, (end - start) / 1e6) for end, start in starts.items()]
    return len(starts), float(np.median(durations)) if durations else 0.0


def summarise(log: RunLog, variant: str, mode: str, streams: int, rate: float = 0.0) -> StreamsResult:
    """One run's figures.

    Raises:
        RuntimeError: When the run recorded no frame.
    """
    records = log.records
    if not records:
        raise RuntimeError(f"{variant} ({streams} streams, {mode}): no frame was recorded")
    t0, cpu0 = log.gate.t0_ns, log.gate.cpu0_ns
    last = max(records, key=lambda r: r.done_ns)
    span_s = max((last.done_ns - t0) / 1e9, 1e-9)
    by_stream: dict[int, list[FrameRecord]] = defaultdict(list)
    for r in records:
        by_stream[r.stream].append(r)
    per_stream = []
    for s in range(streams):
        mine = sorted(r.done_ns for r in by_stream.get(s, []))
        if mode == "live":
            per_stream.append((len(mine) - 1) / ((mine[-1] - mine[0]) / 1e9) if len(mine) > 1 else 0.0)
        else:
            per_stream.append(len(mine) / max((mine[-1] - t0) / 1e9, 1e-9) if mine else 0.0)
    latency = np.array([(r.done_ns - r.capture_ns) / 1e6 for r in records])
    det_calls, det_ms = _calls([r.detect for r in records], [r.detect_ms for r in records])
    pose_records = [r for r in records if r.crops]
    pose_calls, pose_ms = _calls([r.pose for r in pose_records])
    if log.pose_call_ms is not None:
        pose_ms = log.pose_call_ms
    held = float(np.mean([f >= HOLD_FRACTION * rate for f in per_stream])) if mode == "live" else 1.0
    return StreamsResult(
        variant=variant,
        mode=mode,
        streams=streams,
        frames=len(records),
        fps=len(records) / span_s,
        stream_fps_min=min(per_stream),
        stream_fps_median=float(np.median(per_stream)),
        latency_ms_p50=float(np.percentile(latency, 50)),
        latency_ms_p95=float(np.percentile(latency, 95)),
        cpu_ms_per_frame=(last.cpu_ns - cpu0) / 1e6 / len(records),
        held=held,
        det_frames_per_call=len(records) / max(det_calls, 1),
        det_ms_per_call=det_ms,
        pose_crops_per_call=sum(r.crops for r in pose_records) / max(pose_calls, 1),
        pose_ms_per_call=pose_ms,
        posed_per_frame=float(np.mean([r.crops for r in records])),
    )


def median_results(results: list[StreamsResult]) -> list[StreamsResult]:
    """One row per (mode, streams, variant), in first-seen order: the medians over the repeats."""
    out = []
    for key in dict.fromkeys((r.mode, r.streams, r.variant) for r in results):
        group = [r for r in results if (r.mode, r.streams, r.variant) == key]
        values = {}
        for f in fields(StreamsResult):
            if f.name in ("variant", "mode", "streams"):
                values[f.name] = getattr(group[0], f.name)
            else:
                kind = int if f.name == "frames" else float
                values[f.name] = kind(statistics.median(getattr(r, f.name) for r in group))
        out.append(StreamsResult(**values))
    return out


def check_equal(runs: dict[str, list[FrameRecord]]) -> float:
    """Largest keypoint difference (px) between the variants' runs, against the first.

    Raises:
        RuntimeError: When a variant saw other frames, posed other people, or its keypoints differ.
    """
    keyed = {name: {(r.stream, r.index): r.keypoints for r in records} for name, records in runs.items()}
    names = list(keyed)
    first, worst = keyed[names[0]], 0.0
    for name in names[1:]:
        other = keyed[name]
        if sorted(other) != sorted(first):
            raise RuntimeError(f"{name} and {names[0]} saw different frames: {len(other)} vs {len(first)}")
        for key, points in first.items():
            if len(other[key]) != len(points):
                raise RuntimeError(
                    f"stream {key[0]} frame {key[1]}: {name} posed {len(other[key])} people, {names[0]} {len(points)}"
                )
            for a, b in zip(points, other[key], strict=True):
                worst = max(worst, float(np.abs(a - b).max()))
    if worst > KEYPOINT_TOLERANCE_PX:
        raise RuntimeError(
            f"the variants' keypoints differ by up to {worst:.3f} px (tolerance {KEYPOINT_TOLERANCE_PX})"
        )
    return worst


def _label(variant: str) -> str:
    letter = VARIANT_LETTERS.get(variant)
    return f"{letter}: {variant}" if letter else variant


def _table(rows: list[StreamsResult], live: bool) -> list[str]:
    head = (
        "| streams | variant | fps (all) | fps per stream min / median | latency p50 / p95 ms | CPU ms/frame "
        "| cores used | det frames/call | det ms/call | pose crops/call | pose ms/call |"
    )
    if live:
        head += " streams holding rate |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        line = (
            f"| {r.streams} | {_label(r.variant)} | {r.fps:.1f} | {r.stream_fps_min:.1f} / {r.stream_fps_median:.1f} "
            f"| {r.latency_ms_p50:.1f} / {r.latency_ms_p95:.1f} | {r.cpu_ms_per_frame:.1f} "
            f"| {r.cpu_ms_per_frame * r.fps / 1e3:.2f} | {r.det_frames_per_call:.1f} | {r.det_ms_per_call:.1f} "
            f"| {r.pose_crops_per_call:.1f} | {r.pose_ms_per_call:.1f} |"
        )
        if live:
            line += f" {round(r.held * r.streams)}/{r.streams} |"
        lines.append(line)
    return lines


def _ratio(top: StreamsResult | None, bottom: StreamsResult | None, attr: str) -> float | None:
    if top is None or bottom is None or not getattr(bottom, attr):
        return None
    return getattr(top, attr) / getattr(bottom, attr)


def _ratios(rows: list[StreamsResult], live: bool) -> list[str]:
    by = {(r.streams, r.variant): r for r in rows}
    pairs = [("graph", "loops"), ("graph", "graphs"), ("graph", "loop-rr"), ("graph", "graph-nobatch")]
    present = [(a, b) for a, b in pairs if any(by.get((n, a)) and by.get((n, b)) for n, _ in by)]
    if not present:
        return []
    attr = "latency_ms_p95" if live else "fps"
    what = "latency p95" if live else "fps"
    head = "| streams | " + " | ".join(f"{what} {_label(a)} / {_label(b)}" for a, b in present)
    head += " | " + " | ".join(f"CPU/frame {VARIANT_LETTERS[a]} / {VARIANT_LETTERS[b]}" for a, b in present) + " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n in dict.fromkeys(r.streams for r in rows):
        cells = [_ratio(by.get((n, a)), by.get((n, b)), attr) for a, b in present]
        cells += [_ratio(by.get((n, a)), by.get((n, b)), "cpu_ms_per_frame") for a, b in present]
        lines.append(f"| {n} | " + " | ".join("-" if c is None else f"{c:.2f}x" for c in cells) + " |")
    return lines


def verdicts(rows: list[StreamsResult], max_wait_ms: float, at_streams: int = 8) -> list[str]:
    """The issue's targets: fps at ``at_streams`` >= 2x loops and >= 1.5x graphs; live p95 bound."""
    by = {(r.mode, r.streams, r.variant): r for r in rows}
    out = []
    for base, target in (("loops", 2.0), ("graphs", 1.5)):
        ratio = _ratio(by.get(("max", at_streams, "graph")), by.get(("max", at_streams, base)), "fps")
        if ratio is not None:
            verdict = "met" if ratio >= target else "NOT met"
            out.append(f"target fps at {at_streams} streams, graph >= {target}x {base}: {ratio:.2f}x, {verdict}")
    for r in rows:
        if r.mode == "live" and r.variant == "graph":
            batch_ms = r.det_ms_per_call + r.pose_ms_per_call
            bound = max_wait_ms + 2 * batch_ms
            verdict = "met" if r.latency_ms_p95 <= bound else "NOT met"
            out.append(
                f"target live latency p95 at {r.streams} streams <= max_wait {max_wait_ms:g} + 2 x batch "
                f"{batch_ms:.1f} = {bound:.1f} ms: {r.latency_ms_p95:.1f} ms, {verdict}"
            )
    return out


def format_report(rows: list[StreamsResult], max_wait_ms: float, rate: float) -> str:
    """Markdown: a table and its ratios per mode, then the target verdicts."""
    lines: list[str] = []
    for mode, title in (
        ("max", "max speed (every frame, as fast as taken)"),
        ("live", f"live ({rate:g} fps per stream)"),
    ):
        mine = [r for r in rows if r.mode == mode]
        if not mine:
            continue
        live = mode == "live"
        lines += [f"### {title}", "", *_table(mine, live), "", *_ratios(mine, live), ""]
    lines += verdicts(rows, max_wait_ms)
    return "\n".join(lines).rstrip() + "\n"
