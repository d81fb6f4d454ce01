"""Dataset meta: keypoint layouts shared by the trainer, the nodes and the model cards.

Example:
    >>> from flowpose.meta import load_layout
    >>> coco = load_layout("coco17")
    >>> coco.keypoint_names[coco.flip_index[1]]
    'right_eye'
"""

from flowpose.meta.layout import KeypointLayout
from flowpose.meta.loading import available_layouts, layout_from_dict, load_layout, register_layout

__all__ = ["KeypointLayout", "available_layouts", "layout_from_dict", "load_layout", "register_layout"]
