"""Top-down pose estimation on ONNX Runtime: crop every box, run them in one batch, decode, map back.

Example:
    >>> from flowpose.pose import TopdownModel, open_pose_model
    >>> model = TopdownModel(open_pose_model("zoo:rtmpose-m-body7"))  # doctest: +SKIP
    >>> result = model(image, boxes, flip=True)  # doctest: +SKIP
    >>> result.keypoints.shape  # (N, 17, 2), image pixels  # doctest: +SKIP
"""

from flowpose.pose.crops import CropBatch
from flowpose.pose.flip import flip_back, mirror_offset, read_shifted
from flowpose.pose.model import PoseResult, PoseTimings, TopdownModel
from flowpose.pose.spec import CODEC_OUTPUTS, PoseModelSpec, open_pose_model

__all__ = [
    "CODEC_OUTPUTS",
    "CropBatch",
    "PoseModelSpec",
    "PoseResult",
    "PoseTimings",
    "TopdownModel",
    "flip_back",
    "mirror_offset",
    "open_pose_model",
    "read_shifted",
]
