"""Fixtures of the Python API tests: one Pose on the packaged models, a synthetic scene and its video."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import PACKAGED, SCENE, scene_frames, write_video

from flowpose.api import Pose
from flowpose.synthetic import SceneFrame


@pytest.fixture(scope="module")
def pose() -> Iterator[Pose]:
    with Pose(**PACKAGED, threads=1) as p:
        yield p


@pytest.fixture(scope="module")
def scene() -> list[SceneFrame]:
    return scene_frames()


@pytest.fixture(scope="module")
def scene_video(scene: list[SceneFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scene as an mp4 written by cv2.VideoWriter, at the scene's rate."""
    return write_video(tmp_path_factory.mktemp("video") / "scene.mp4", [f.image for f in scene], SCENE.fps)
