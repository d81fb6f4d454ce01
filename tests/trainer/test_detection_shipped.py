"""The detector shipped in the package: a zoo entry used in place, run by the Detector node, golden metrics.

Runtime only (no torch): this is what a user of ``pip install flowpose`` gets.
"""

from __future__ import annotations

import numpy as np
import pytest

from flowpose.detection import box_iou
from flowpose.frame import Frame
from flowpose.graph.validate import validate_text
from flowpose.models import read_card
from flowpose.nodes.detector import Detector
from flowpose.synthetic import SceneConfig, SyntheticScene
from flowpose.zoo import get_entry, resolve_model, zoo_entries
from flowpose.zoo.registry import PACKAGED_ENTRIES

NAME = "flowpose-det-synthetic"
CLASSES = ("person", "dog", "cat", "horse")
# Measured with the shipped model: recall 0.89, precision 0.90 on these 80 objects (node defaults:
# score >= 0.3, NMS 0.45). The scenes are seeded, so only a changed model or node moves them.
MIN_RECALL, MIN_PRECISION = 0.8, 0.8


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path / "empty-cache"))


def test_zoo_entry_resolves_to_the_packaged_file_without_download(no_cache) -> None:
    entry = get_entry(NAME)
    assert NAME in zoo_entries() and entry is PACKAGED_ENTRIES[NAME]
    path = resolve_model(f"zoo:{NAME}")
    assert path == entry.packaged_path and path.parent.name == "models" and path.parent.parent.name == "zoo"
    assert path.stat().st_size < 3e6  # small enough to ship in the wheel
    card = read_card(path)
    assert card is not None and card.decoder == "yolox" and card.classes == CLASSES
    assert card.decoder_params == {"strides": [8, 16, 32]}


def test_graph_with_the_packaged_detector_validates(no_cache) -> None:
    text = f"""
nodes:
  - {{name: scene, type: SyntheticScene, outputs: [frames], params: {{count: 2}}}}
  - {{name: det, type: Detector, inputs: [frames], outputs: [dets], params: {{model: "zoo:{NAME}"}}}}
  - {{name: sink, type: NullSink, inputs: [dets]}}
"""
    validate_text(text)  # raises GraphError on any problem (a missing model among them)


def test_detector_node_finds_the_synthetic_figures(no_cache) -> None:
    node = Detector("det", {"model": f"zoo:{NAME}", "intra_op_threads": 1})
    node.setup()
    objects = matched = detections = 0
    scene = SyntheticScene(SceneConfig(seed=11, num_frames=60))
    for shot in scene:
        if shot.index % 3:  # every third frame: different poses, a fraction of the time
            continue
        out = node.process(Frame(shot.index, 0, "synthetic", shot.image))
        truth = [(o.bbox, o.label) for o in shot.objects]
        objects += len(truth)
        detections += len(out.instances)
        used = set()
        for inst in out.instances:  # best first, greedy, same class at IoU >= 0.5
            ious = box_iou(inst.bbox[None], np.array([b for b, _ in truth]).reshape(-1, 4))[0]
            for j in np.argsort(-ious):
                if ious[j] < 0.5:
                    break
                if j not in used and truth[j][1] == inst.label:
                    used.add(j)
                    break
        matched += len(used)
    node.close()
    recall, precision = matched / objects, matched / max(detections, 1)
    assert objects > 40
    assert recall >= MIN_RECALL and precision >= MIN_PRECISION, (recall, precision)
