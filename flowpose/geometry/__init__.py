"""Box and affine geometry shared by the trainer and the inference nodes (numpy + cv2)."""

from flowpose.geometry.affine import crop, get_warp_matrix, invert_affine, transform_points
from flowpose.geometry.bbox import (
    bbox_cs_to_xyxy,
    bbox_xywh_to_xyxy,
    bbox_xyxy_to_cs,
    bbox_xyxy_to_xywh,
    box_areas,
    box_iou,
    fix_aspect_ratio,
    topdown_center_scale,
)

__all__ = [
    "bbox_cs_to_xyxy",
    "bbox_xywh_to_xyxy",
    "bbox_xyxy_to_cs",
    "bbox_xyxy_to_xywh",
    "box_areas",
    "box_iou",
    "crop",
    "fix_aspect_ratio",
    "get_warp_matrix",
    "invert_affine",
    "topdown_center_scale",
    "transform_points",
]
