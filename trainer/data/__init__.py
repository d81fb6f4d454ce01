"""Training data: COCO-keypoint JSON records, synthetic scenes (with a cache), splits, and the
DeepLabCut project import (``dlc*.py``, which writes COCO-keypoint JSON)."""
