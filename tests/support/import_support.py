"""Small labelled projects written by the tests (DeepLabCut and friends), and a box-making node.

``WholeFrame`` stands in for a detector in graphs that test a pose model alone: it gives each
frame one instance whose box is the whole image (loaded by graphs as ``import_support:WholeFrame``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from flowpose.frame import Frame, Instance
from flowpose.node import Node, NodeParams

BODYPARTS = ("snout", "left_ear", "right_ear", "tailbase")

DLC_CONFIG = """\
Task: Tiny Mice
scorer: Ann
multianimalproject:
bodyparts: [snout, left_ear, right_ear, tailbase]
skeleton:
- [snout, left_ear]
- [snout, right_ear]
- [snout, tailbase]
"""


def mouse_points(i: int, size: int) -> np.ndarray:
    """(4, 2) keypoints of image ``i``: a mouse that moves a little from image to image."""
    c = size / 2 + 6 * np.array([np.cos(i), np.sin(i)])
    return c + np.array([(0, -14), (-7, -6), (7, -6), (0, 16)])


def draw_mouse(points: np.ndarray, size: int) -> np.ndarray:
    """A grey image with a dot of its own colour at each keypoint (something to learn from)."""
    image = np.full((size, size, 3), 60, np.uint8)
    for (x, y), colour in zip(points, ((0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255)), strict=False):
        cv2.circle(image, (round(x), round(y)), 3, colour, -1)
    return image


def labels_csv(rows: list[tuple[str, np.ndarray | None]], index_cols: int = 1) -> str:
    """A single-animal DeepLabCut CSV (3 header rows); ``None`` points = an unlabelled row."""
    pad = [""] * (index_cols - 1)
    lines = [
        ",".join(["scorer", *pad, *["Ann"] * 8]),
        ",".join(["bodyparts", *pad, *[p for p in BODYPARTS for _ in (0, 1)]]),
        ",".join(["coords", *pad, *["x", "y"] * 4]),
    ]
    for path, points in rows:
        cells = ["" for _ in range(8)] if points is None else [f"{v:.2f}" for v in points.reshape(-1)]
        lines.append(",".join([*(path.split("/") if index_cols > 1 else [path]), *cells]))
    return "\n".join(lines) + "\n"


def make_dlc_project(root: Path, n: int = 8, size: int = 64, config: bool = True) -> Path:
    """A single-animal DeepLabCut project with ``n`` labelled images in ``labeled-data/vid1``.

    Without ``config`` it is the lightning-pose style layout instead: no ``config.yaml``, the
    labels in ``CollectedData.csv`` at the project root.
    """
    folder = root / "labeled-data" / "vid1"
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        points = mouse_points(i, size)
        cv2.imwrite(str(folder / f"img{i:03d}.png"), draw_mouse(points, size))
        rows.append((f"labeled-data/vid1/img{i:03d}.png", points))
    if config:
        (root / "config.yaml").write_text(DLC_CONFIG)
        (folder / "CollectedData_Ann.csv").write_text(labels_csv(rows))
    else:
        (root / "CollectedData.csv").write_text(labels_csv(rows))
    return root


def write_frames(folder: Path, n: int = 3, size: int = 64) -> Path:
    """``n`` images for a Camera to read (a folder source)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"frame{i:03d}.png"), draw_mouse(mouse_points(i + 20, size), size))
    return folder


class WholeFrame(Node):
    """Adds one instance with the whole image as its box (what a detector would give)."""

    class Params(NodeParams):
        label: str = "animal"

    def process(self, frame: Frame) -> Frame:
        h, w = frame.image.shape[:2]
        inst = Instance(bbox=np.array([0, 0, w, h], np.float32), score=1.0, label=self.params.label)
        return frame.replace(instances=(*frame.instances, inst))
