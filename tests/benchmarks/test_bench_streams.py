"""``flowpose bench streams``: every variant computes the same keypoints; the tables; bad input.

Tiny runs (1-2 streams, a few frames) with the packaged models and real ONNX sessions; no
timing is asserted.
"""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from flowpose.bench.streams import VARIANTS, run_variant
from flowpose.bench.streams_frames import decode_video, live_schedule, render_synthetic
from flowpose.bench.streams_graph import Batching, batching_supported
from flowpose.bench.streams_record import FrameRecord, RunLog, StartGate
from flowpose.bench.streams_report import StreamsResult, check_equal, format_report, median_results, summarise, verdicts
from flowpose.cli.main import main

DET = {"model": "zoo:flowpose-det-synthetic", "classes": ["person"], "intra_op_threads": 1}
POSE = {"model": "zoo:flowpose-person", "labels": ["person"], "intra_op_threads": 1}
FRAMES = 3


@pytest.fixture(scope="module")
def clips():
    """Two synthetic streams (seeds 0 and 1), three frames each."""
    return render_synthetic(2, FRAMES, (640, 480), seed=0)


@pytest.fixture(scope="module")
def max_runs(clips) -> dict[str, RunLog]:
    """Every variant once, two streams at max speed."""
    batching = Batching(2, 5.0) if batching_supported() else None
    return {v: run_variant(v, clips, 2, FRAMES, 0.0, DET, POSE, batching) for v in VARIANTS}


def test_synthetic_streams_differ_by_seed(clips) -> None:
    assert clips.streams == 2 and len(clips.images[0]) == FRAMES
    assert not np.array_equal(clips.image(0, 0), clips.image(1, 0))
    assert clips.image(0, FRAMES) is clips.image(0, 0)  # runs longer than the clip cycle over it
    again = render_synthetic(1, 1, (640, 480), seed=1)
    assert np.array_equal(again.image(0, 0), clips.image(1, 0))


def test_every_variant_computes_the_same_keypoints(max_runs) -> None:
    assert check_equal({v: log.records for v, log in max_runs.items()}) <= 0.05
    for variant, log in max_runs.items():
        assert sorted((r.stream, r.index) for r in log.records) == [(s, k) for s in (0, 1) for k in range(FRAMES)]
        assert all(r.capture_ns <= r.done_ns and r.detect[0] <= r.detect[1] for r in log.records), variant
    posed = {summarise(log, v, "max", 2).posed_per_frame for v, log in max_runs.items()}
    assert len(posed) == 1 and posed.pop() > 0  # the scenes' people were found and posed, alike
    for unbatched in ("graph-nobatch", "graphs", "loops", "loop-rr"):  # one detector call per frame
        assert summarise(max_runs[unbatched], unbatched, "max", 2).det_frames_per_call == 1.0


def test_the_report_has_a_row_per_variant_the_ratios_and_the_targets(max_runs) -> None:
    rows = median_results([summarise(log, v, "max", 2) for v, log in max_runs.items()])
    text = format_report(rows, max_wait_ms=5.0, rate=10)
    assert text.startswith("### max speed")
    table = [line for line in text.splitlines() if line.startswith("| 2 |")]
    labels = ["a: graph", "a0: graph-nobatch", "b: graphs", "c: loops", "c': loop-rr"]
    assert [line.split("|")[2].strip() for line in table[:5]] == labels
    ratios = table[5]
    assert len(re.findall(r"\d+\.\d\dx", ratios)) == 8  # a/c, a/b, a/c', a/a0 for fps and CPU per frame
    for row in rows:
        assert row.frames == 2 * FRAMES and row.fps > 0 and row.cpu_ms_per_frame > 0
        assert 0 < row.latency_ms_p50 <= row.latency_ms_p95
    assert "target fps" not in text  # judged at 8 streams: with 2 there is nothing to judge


def _row(variant: str, mode: str, fps: float, p95: float = 50.0) -> StreamsResult:
    return StreamsResult(variant, mode, 8, 80, fps, fps / 8, fps / 8, 20.0, p95, 9.0, 1.0, 8.0, 12.0, 16.0, 10.0, 2.0)


def test_the_targets_are_judged_at_8_streams() -> None:
    rows = [_row("graph", "max", 100.0), _row("graphs", "max", 80.0), _row("loops", "max", 40.0)]
    rows += [_row("graph", "live", 80.0, p95=40.0)]
    lines = verdicts(rows, max_wait_ms=10.0)
    assert lines == [
        "target fps at 8 streams, graph >= 2.0x loops: 2.50x, met",
        "target fps at 8 streams, graph >= 1.5x graphs: 1.25x, NOT met",
        "target live latency p95 at 8 streams <= max_wait 10 + 2 x batch 22.0 = 54.0 ms: 40.0 ms, met",
    ]
    slow = verdicts([_row("graph", "live", 80.0, p95=60.0)], max_wait_ms=10.0)
    assert slow[0].endswith("60.0 ms, NOT met")


def test_keypoints_check_fails_when_a_variant_runs_another_model(clips, max_runs) -> None:
    other = run_variant("loops", clips, 2, FRAMES, 0.0, DET, {**POSE, "model": "zoo:flowpose-animal"})
    with pytest.raises(RuntimeError, match=r"keypoints differ by up to \d+\.\d+ px"):
        check_equal({"graph": max_runs["graph"].records, "loops": other.records})


def _record(stream: int, index: int, points: list[np.ndarray]) -> FrameRecord:
    return FrameRecord(stream, index, 0, 1, 0, tuple(points), (0, 1), (1, 2), len(points))


def test_a_batch_is_one_call_timed_by_the_node_not_by_its_gathering_wait() -> None:
    log = RunLog(StartGate(2))
    log.gate.t0_ns, ms = 0, 1_000_000
    points = (np.zeros((17, 2), np.float32),)
    # Two frames in one detector batch (same end): they joined at 0 and 2 ms, it ended at 20 ms,
    # the node itself spent 6 ms; then two pose calls of their own, 4 and 8 ms long.
    log.add(FrameRecord(0, 0, 0, 30 * ms, 0, points, (0, 20 * ms), (20 * ms, 24 * ms), 1, detect_ms=6.0))
    log.add(FrameRecord(1, 0, 0, 30 * ms, 0, points, (2 * ms, 20 * ms), (22 * ms, 30 * ms), 1, detect_ms=6.0))
    result = summarise(log, "graph", "max", 2)
    assert (result.det_frames_per_call, result.det_ms_per_call) == (2.0, 6.0)
    assert (result.pose_crops_per_call, result.pose_ms_per_call) == (1.0, 6.0)  # median of 4 and 8
    log.pose_call_ms = 5.5  # a batching pose node's own figure wins over the spans
    assert summarise(log, "graph", "max", 2).pose_ms_per_call == 5.5


def test_keypoints_check_names_a_missing_person_and_a_skipped_frame() -> None:
    same = [_record(s, k, [np.zeros((17, 2), np.float32)]) for s in (0, 1) for k in range(2)]
    with pytest.raises(RuntimeError, match="stream 1 frame 0: loops posed 0 people, graph 1"):
        check_equal({"graph": same, "loops": [*same[:2], _record(1, 0, []), same[3]]})
    with pytest.raises(RuntimeError, match="saw different frames: 3 vs 4"):
        check_equal({"graph": same, "loops": same[:3]})


@pytest.mark.parametrize("variant", ["graph", "loop-rr"])
def test_live_frames_carry_their_scheduled_capture_time(clips, variant) -> None:
    rate, frames = 20.0, 3
    log = run_variant(variant, clips, 2, frames, rate, DET, POSE, seed=7)
    expected = {(s, k): round(offset * 1e9) for offset, s, k in live_schedule(2, frames, rate, seed=7)}
    got = {(r.stream, r.index): r.capture_ns - log.gate.t0_ns for r in log.records}
    assert got.keys() == expected.keys()
    assert all(abs(got[key] - expected[key]) <= 1 for key in expected)  # ns rounding of the offset
    result = summarise(log, variant, "live", 2, rate)
    assert result.frames == 2 * frames and 0.0 <= result.held <= 1.0


def test_a_failing_loop_is_reported_and_nobody_waits_at_the_gate(clips) -> None:
    with pytest.raises(RuntimeError, match=r"bench streams \(loops, 2 streams\) failed"):
        run_variant("loops", clips, 2, FRAMES, 0.0, DET, {**POSE, "model": "/nonexistent/pose.onnx"})


def test_start_gate_opens_when_every_stream_warmed_up() -> None:
    gate = StartGate(2)
    gate.arrived(0)
    gate.arrived(0)
    with pytest.raises(TimeoutError, match="only 1 of 2 warm-up frames done"):
        gate.wait(timeout_s=0.1)
    gate.arrived(1)
    assert gate.wait(timeout_s=1.0) == gate.t0_ns > 0
    aborted = StartGate(3)
    aborted.abort()
    assert aborted.wait(timeout_s=1.0) is None


def test_video_streams_start_at_their_own_offset(tmp_path) -> None:
    path = tmp_path / "count.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 40 * (i + 1), np.uint8))
    writer.release()
    clips = decode_video(str(path), 2, 4)
    levels = [[round(clips.image(s, k).mean() / 40) for k in range(4)] for s in range(2)]
    assert levels == [[1, 2, 3, 4], [3, 4, 1, 2]]


def test_a_detector_copy_with_a_free_batch_axis_runs_a_batch_like_image_by_image(tmp_path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    from flowpose.bench.streams_batchaxis import free_batch_axis
    from flowpose.zoo.fetch import resolve_model

    src = resolve_model("zoo:flowpose-det-synthetic")
    with pytest.raises(onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument):
        session = onnxruntime.InferenceSession(str(src), providers=["CPUExecutionProvider"])
        session.run(None, {session.get_inputs()[0].name: np.zeros((2, 3, 256, 256), np.float32)})
    assert free_batch_axis(src, tmp_path / "free.onnx") > 0  # checked against the original inside
    session = onnxruntime.InferenceSession(str(tmp_path / "free.onnx"), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: np.zeros((2, 3, 256, 256), np.float32)})
    assert outputs[0].shape[0] == 2


def test_a_model_whose_batch_cannot_be_freed_is_refused(tmp_path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from flowpose.bench.streams_batchaxis import free_batch_axis

    # Flattens everything to 4 values: a batch of 3 has 12, which no Reshape to [4] can take.
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "pinned",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [helper.make_tensor("shape", TensorProto.INT64, [1], [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "pinned.onnx"))
    with pytest.raises(ValueError, match=r"does not run a batch|differs from the image-by-image runs"):
        free_batch_axis(tmp_path / "pinned.onnx", tmp_path / "free.onnx")


def test_cli_prints_both_tables_and_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "streams.json"
    args = ["bench", "streams", "--streams", "1", "--frames", "2", "--total", "1", "--clip", "2", "--seconds", "0.3"]
    code = main([*args, "--variants", "graph,loops", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "ONNX Runtime intra-op threads: 1 per session in every variant" in text
    assert "keypoints at 1 streams: graph == loops on every frame" in text
    assert "### max speed" in text and "### live (10 fps per stream)" in text
    assert re.search(r"^target live latency p95 at 1 streams <= max_wait .* (met|NOT met)$", text, re.M)
    assert re.search(r"^\| 1 \| [\d.]+ \| [\d.]+ \| \d+ \|", text, re.M)  # the stage costs
    report = json.loads(out.read_text())
    assert [c["streams"] for c in report["stages"]] == [1]
    assert [(r["mode"], r["streams"], r["variant"]) for r in report["results"]] == [
        ("max", 1, "graph"),
        ("max", 1, "loops"),
        ("live", 1, "graph"),
        ("live", 1, "loops"),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--streams", "0,2"], "--streams must be whole numbers >= 1"),
        (["--streams", "two"], "--streams must be comma-separated whole numbers"),
        (["--variants", "graph,gpu"], "unknown variant(s) ['gpu']"),
        (["--size", "big"], "--size must be WxH"),
        (["--video", "/nonexistent/clip.mp4"], "video not found: /nonexistent/clip.mp4"),
        (["--pose", "/nonexistent/pose.onnx"], "--pose: "),
        (["--detector", "/nonexistent/det.onnx"], "--detector: model file not found: /nonexistent/det.onnx"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(extra, message, capsys) -> None:
    assert main(["bench", "streams", "--streams", "1", "--frames", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("bench streams:") and err.count("\n") == 1


def test_cli_help_lists_bench_streams(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert re.search(r"^\s+streams\s+many streams", capsys.readouterr().out, re.M)
