"""Synthetic scenes: articulated people (COCO-17) and quadrupeds (AP-10K) with exact ground truth.

Pure numpy + OpenCV. Use :class:`SyntheticScene` for videos (smooth motion, stable track
ids) and :func:`render_sample` for independent training images.
"""

from flowpose.synthetic.scene import SceneConfig, SyntheticScene, render_sample
from flowpose.synthetic.truth import GroundTruthObject, SceneFrame

__all__ = ["GroundTruthObject", "SceneConfig", "SceneFrame", "SyntheticScene", "render_sample"]
