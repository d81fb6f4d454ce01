"""The API's documented examples run: docs/api.md's first example and the modules' doctests."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from api_support import SCENE, write_video

from flowpose.zoo import ZooError

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"


def api_example() -> str:
    """The example that opens docs/api.md (the one marked for this test)."""
    match = re.search(r"<!-- api-example[^>]*-->\n```python\n(.*?)```", API_DOC.read_text(), flags=re.S)
    assert match, "docs/api.md lost its marked example"
    return match.group(1)


def offline_variant(code: str) -> str:
    """The example with its commented packaged-models line in place of ``Pose()``."""
    lines = code.splitlines()
    (real,) = [i for i, line in enumerate(lines) if line.startswith("pose = Pose()")]
    (packaged,) = [i for i, line in enumerate(lines) if line.startswith("# pose = Pose(")]
    lines[real] = lines[packaged][2:]
    del lines[packaged]
    return "\n".join(lines)


def test_the_example_is_ten_lines():
    assert len(api_example().strip().splitlines()) <= 10


def test_the_example_runs_with_the_packaged_models(scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cv2.imwrite(str(tmp_path / "image.jpg"), scene[0].image)
    write_video(tmp_path / "video.mp4", [f.image for f in scene[:10]], SCENE.fps)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(offline_variant(api_example()), str(API_DOC), "exec"), {})
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 10  # the image, then one line per video frame
    assert "'person'" in lines[0] and ", 17, 2)" in lines[0]  # labels, boxes' and keypoints' shapes
    assert [int(line.split()[0]) for line in lines[1:]] == list(range(10))
    annotated = cv2.imread(str(tmp_path / "annotated.jpg"))
    assert annotated is not None and np.abs(annotated.astype(int) - scene[0].image).max() > 100


def test_the_default_models_are_the_zoo_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Offline with an empty cache, Pose() must ask for the real zoo models by name.
    monkeypatch.setenv("FLOWPOSE_OFFLINE", "1")
    monkeypatch.setenv("FLOWPOSE_CACHE", str(tmp_path))
    from flowpose import Pose

    with pytest.raises(ZooError, match="rtmpose-m-body7"):
        Pose()
    with pytest.raises(ZooError, match="rtmpose-m-ap10k"):
        Pose(people=None)
    with pytest.raises(ZooError, match="yolox-nano"):
        Pose(people=None, animals="flowpose-animal")


@pytest.mark.parametrize("module", ["flowpose.api", "flowpose.api.models", "flowpose.api.pose"])
def test_doctests(module: str):
    failures, attempted = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failures == 0
