"""A many-person, many-animal graph: SyntheticScene -> noise -> Tracker -> Smoother, in a real GraphRunner run."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

import testnodes
from flowpose.engine.runtime import GraphRunner
from flowpose.graph.validate import validate_text

GRAPH = """\
nodes:
  - name: scene
    type: SyntheticScene
    outputs: [frames]
    params: {width: 640, height: 480, count: 90, live: false, people: 4, animals: 3, species: [dog, cat],
             occluders: 0, emit_instances: true, seed: 3}
  - {name: noise, type: 'smoothing_support:Jitter', inputs: [frames], outputs: [noisy], params: {std: 0.02}}
  - {name: tracker, type: Tracker, inputs: [noisy], outputs: [tracked], params: {timestamp: 'meta:scene_time_s'}}
  - {name: smoother, type: Smoother, inputs: [tracked], outputs: [smooth], params: {timestamp: 'meta:scene_time_s'}}
  - {name: raw, type: 'testnodes:Collect', inputs: [noisy]}
  - {name: sink, type: 'testnodes:Collect', inputs: [smooth]}
"""


def longest_run(series: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Keypoints (T, K, 2) of the longest stretch of consecutive frames in ``(frame_id, keypoints)`` pairs."""
    best: list[np.ndarray] = []
    current: list[np.ndarray] = []
    previous = -2
    for frame_id, kpts in series:
        current = [*current, kpts] if frame_id == previous + 1 else [kpts]
        previous = frame_id
        if len(current) > len(best):
            best = current
    return np.array(best)


def second_difference(a: np.ndarray) -> float:
    return float(np.abs(a[2:] - 2 * a[1:-1] + a[:-2]).mean())


def test_many_people_and_animals_tracked_and_smoothed_in_a_graph() -> None:
    result = GraphRunner(validate_text(GRAPH, "g.yaml")).run(handle_signals=False)
    assert result.exit_code == 0 and result.failure is None
    raw, out = testnodes.COLLECTED["raw"], testnodes.COLLECTED["sink"]
    assert [f.frame_id for f in out] == list(range(90)) == [f.frame_id for f in raw]
    labels = {o["label"] for f in out for o in f.meta["ground_truth"]}
    assert max(len(f.meta["ground_truth"]) for f in out) == 7 and "person" in labels and labels & {"dog", "cat"}

    owners: dict[int, set[int]] = defaultdict(set)
    last: dict[int, int] = {}
    switches = tracked = total = 0
    series: dict[str, dict[int, list]] = {
        "raw": defaultdict(list),
        "smooth": defaultdict(list),
        "truth": defaultdict(list),
    }
    for f_raw, f in zip(raw, out, strict=True):
        truth = f.meta["ground_truth"]
        assert len(f.instances) == len(truth)  # tentative instances keep flowing
        for inst, inst_raw, gt in zip(f.instances, f_raw.instances, truth, strict=True):
            assert inst.label == gt["label"]
            total += 1
            if inst.track_id < 0:
                continue
            tracked += 1
            gid = gt["track_id"]
            switches += gid in last and last[gid] != inst.track_id
            last[gid] = inst.track_id
            owners[inst.track_id].add(gid)
            series["raw"][gid].append((f.frame_id, inst_raw.keypoints))
            series["smooth"][gid].append((f.frame_id, inst.keypoints))
            series["truth"][gid].append((f.frame_id, np.asarray(gt["keypoints"])))
    assert tracked / total > 0.9
    assert all(len(v) == 1 for v in owners.values()) and switches <= 1  # measured: 0

    jitter = {"raw": 0.0, "smooth": 0.0}
    error = {"raw": 0.0, "smooth": 0.0}
    for gid in series["truth"]:
        true = longest_run(series["truth"][gid])
        for kind in jitter:
            kpts = longest_run(series[kind][gid])
            jitter[kind] += second_difference(kpts)
            error[kind] += float(np.abs(kpts - true).mean())
    assert jitter["smooth"] < 0.5 * jitter["raw"]
    assert error["smooth"] < error["raw"]
    assert next(s for s in result.stats if s.name == "smoother").frames == 90
