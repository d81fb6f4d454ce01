"""Plugin nodes for the process-runner tests (``process_support:ClassName``), and test helpers.

They run in child processes, so nothing here may rely on module state shared with the test:
what must outlive a process (a crash happened once already, the pid of a child) goes through
files named by params.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
import time
from pathlib import Path

import numpy as np

from flowpose.engine.runtime import GraphRunner, RunResult
from flowpose.engine.stats import NodeSnapshot
from flowpose.frame import Frame, Instance
from flowpose.graph.validate import validate_text
from flowpose.node import Node, NodeParams


class AddPerson(Node):
    """Adds one instance with keypoints derived from the frame id (results to compare)."""

    def process(self, frame: Frame) -> Frame:
        k = np.arange(34, dtype=np.float32).reshape(17, 2) + frame.frame_id
        person = Instance(bbox=[1, 2, 30 + frame.frame_id, 40], score=0.5, label="person", keypoints=k, layout="coco17")
        return frame.with_instances((*frame.instances, person))


class Crash(Node):
    """Ends its process abruptly (``os._exit``) at frame ``at``; only once if ``once_file`` is set."""

    class Params(NodeParams):
        at: int = 3
        once_file: str = ""
        code: int = 3

    def process(self, frame: Frame) -> Frame:
        if frame.frame_id >= self.params.at:
            marker = Path(self.params.once_file) if self.params.once_file else None
            if marker is None or not marker.exists():
                if marker is not None:
                    marker.write_text("crashed")
                os._exit(self.params.code)
        return frame


class PidFile(Node):
    """Pass-through that writes its process id into ``folder/<node name>.pid`` at setup."""

    class Params(NodeParams):
        folder: str
        work_ms: float = 0.0

    def setup(self) -> None:
        path = Path(self.params.folder) / f"{self.name}.pid"
        path.write_text(str(os.getpid()))

    def process(self, frame: Frame) -> Frame:
        if self.params.work_ms:
            time.sleep(self.params.work_ms / 1e3)
        return frame


class Stamp(Node):
    """Records in meta which process handled the frame (to prove it ran elsewhere)."""

    def process(self, frame: Frame) -> Frame:
        return frame.replace(meta={**frame.meta, f"pid_{self.name}": os.getpid()})


class Record(Node):
    """Sink writing one JSON line per frame to ``path``: everything a frame carries, image hashed.

    It runs wherever the graph puts it (another process, another host's part), and two runs
    that record the same lines gave the same results.
    """

    class Params(NodeParams):
        path: str

    def setup(self) -> None:
        self._file = open(self.params.path, "w", encoding="utf-8")  # noqa: SIM115  # closed in close()

    def process(self, frame: Frame) -> None:
        people = [
            [i.label, i.score, i.track_id, i.layout, np.asarray(i.bbox).tolist(),
             None if i.keypoints is None else np.asarray(i.keypoints).tolist()]
            for i in frame.instances
        ]  # fmt: skip
        row = {
            "id": frame.frame_id,
            "source": frame.source,
            "meta": {k: v for k, v in frame.meta.items() if not k.startswith("pid_")},
            "image": hashlib.sha1(np.ascontiguousarray(frame.image).tobytes()).hexdigest(),
            "shape": list(frame.image.shape),
            "people": people,
            "hops": [h.node for h in frame.trace],
        }
        self._file.write(json.dumps(row, sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_records(path: Path) -> list[dict[str, object]]:
    """The lines a :class:`Record` node wrote."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- helpers for the tests (not nodes) ---------------------------------------------------------


def make(text: str, trace: bool = False) -> GraphRunner:
    return GraphRunner(validate_text(textwrap.dedent(text), "t.yaml"), trace=trace)


def run(text: str, trace: bool = False) -> tuple[GraphRunner, RunResult]:
    runner = make(text, trace)
    return runner, runner.run(handle_signals=False)


def stats_of(result: RunResult, name: str) -> NodeSnapshot:
    return next(s for s in result.stats if s.name == name)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def gone_within(pids: list[int], seconds: float) -> bool:
    """Whether every pid has ended within ``seconds`` (checked every 50 ms: we cannot wait on
    processes that are not our children)."""
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def all_child_pids(runner: GraphRunner) -> list[int]:
    return [pid for r in runner.runners.values() for pid in getattr(r, "pids", [])]
