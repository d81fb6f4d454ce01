"""A video file through the graph into both recorders loses no frame."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import cv2

from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import validate_text
from sources_support import write_video


def test_frames_in_equal_frames_in_mp4_equal_jsonl_lines(tmp_path: Path) -> None:
    video = write_video(tmp_path / "in.mp4", [(i * 5) % 250 for i in range(57)], fps=25.0, size=(160, 120))
    graph = validate_text(
        textwrap.dedent(f"""\
        nodes:
          - {{name: camera, type: Camera, outputs: [frames], params: {{source: '{video}'}}}}
          - {{name: vis, type: Visualizer, inputs: [frames], outputs: [annotated]}}
          - {{name: video, type: VideoRecorder, inputs: [annotated], params: {{path: '{tmp_path / "out.mp4"}'}}}}
          - {{name: poses, type: PoseRecorder, inputs: [frames], params: {{path: '{tmp_path / "out.jsonl"}'}}}}
        """)
    )
    runner = GraphRunner(graph)
    assert runner.buffers["frames"].spec.policy == "lossless"  # a file: nothing may be dropped
    assert runner.run(handle_signals=False).exit_code == 0
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    written = 0
    while cap.read()[0]:
        written += 1
    assert written == 57
    assert abs(cap.get(cv2.CAP_PROP_FPS) - 25.0) < 0.5  # the file's own rate, not a fixed 30
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame_id"] for line in lines] == list(range(57))
