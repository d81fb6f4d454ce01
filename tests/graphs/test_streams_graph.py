"""graphs/streams.yaml, the README's many-cameras graph: four streams, one detector, one pose model."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import av

from cli_support import run_cli

GRAPH = Path(__file__).resolve().parents[2] / "graphs" / "streams.yaml"
FRAMES = 20
STREAMS = [f"camera{i}" for i in range(4)]


def test_four_streams_share_one_batched_detector_and_pose_model(tmp_path: Path) -> None:
    env = {**os.environ, "FLOWPOSE_CACHE": str(tmp_path / "empty-cache")}  # packaged models only
    res = run_cli(
        "run", str(GRAPH), "--stats", "--set", f"camera.count={FRAMES}", "--set", "camera.realtime=false",
        env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "out" / "streams"

    for stream in STREAMS:  # one playable H.264 file per stream, every frame in it
        with av.open(str(out / f"{stream}.mp4")) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert sum(1 for _ in container.decode(video)) == FRAMES

    records = [json.loads(line) for line in (out / "poses.jsonl").read_text().splitlines()]
    assert Counter(r["stream"] for r in records) == dict.fromkeys(STREAMS, FRAMES)
    for stream in STREAMS:  # per-stream order kept through the batches
        ids = [r["frame_id"] for r in records if r["stream"] == stream]
        assert ids == sorted(ids)
    people = [i for r in records for i in r["instances"] if i["label"] == "person"]
    assert people and all(len(i["keypoints"]) == 17 for i in people)
    assert any(i["track_id"] >= 0 for i in people)

    # The detector row of the final --stats table: more frames than batches (streams shared runs).
    row = [line for line in res.stderr.splitlines() if line.startswith("detector ")][-1]
    counters = dict(part.split("=") for part in row.split() if "=" in part)
    assert int(counters["batched_frames"]) == 4 * FRAMES > int(counters["batches"])
