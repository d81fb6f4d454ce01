"""The Python API: poses of people and animals in an image or a video, in a few lines.

``Pose`` drives the same node classes a graph runs (Detector, TopdownPoseEstimator, Tracker,
Smoother, Camera) in the caller's thread; ``PoseResult`` holds one frame's instances as numpy
arrays. ``import flowpose`` stays light: ``flowpose.Pose`` imports this package on first use.
See docs/api.md.

Example (the packaged models, no download; ``Pose()`` uses the real zoo models):
    >>> import numpy as np
    >>> from flowpose import Pose
    >>> from flowpose.synthetic import SceneConfig, SyntheticScene
    >>> image = next(SyntheticScene(SceneConfig(seed=3, num_people=(1, 1), num_animals=(0, 0)))).image
    >>> pose = Pose(detector="flowpose-det-synthetic", people="flowpose-person", animals="flowpose-animal")
    >>> result = pose(image)
    >>> result.labels
    ('person',)
    >>> result.boxes.shape, result.keypoints.shape, result.keypoint_scores.shape
    ((1, 4), (1, 17, 2), (1, 17))
    >>> result.layouts
    ('coco17',)
    >>> coco = result.to_coco(image_id=7)
    >>> coco[0]["image_id"], coco[0]["category_id"], len(coco[0]["keypoints"])
    (7, 1, 51)
    >>> bool((result.draw() != image).any())
    True
"""

from flowpose.api.pose import Pose
from flowpose.api.result import PoseResult

__all__ = ["Pose", "PoseResult"]
