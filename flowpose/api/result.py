"""What ``Pose`` returns: one frame's instances as numpy arrays, drawable and exportable to COCO.

Each result keeps the :class:`~flowpose.frame.Instance` objects the nodes produced and
derives its arrays from them, so ``result[i]`` and ``result.keypoints[i]`` never disagree.
Drawing is the Visualizer node's and the COCO records are the PoseRecorder's: the API adds
no second drawing or export code.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowpose.frame import Frame, Instance
from flowpose.nodes.pose_recorder import COCO_CATEGORY_IDS, FIRST_EXTRA_CATEGORY_ID, coco_result, instance_record
from flowpose.nodes.visualizer import Visualizer

__all__ = ["PoseResult"]


@dataclass(frozen=True, eq=False)
class PoseResult:
    """The people and animals found in one image or video frame.

    Instances are in the detector's order (best score first). People and animals share one
    result: their keypoints are stacked into one ``[N, K, 2]`` array where ``K`` is the
    largest keypoint count among the instances; an instance with fewer keypoints (another
    layout) or none (a class no pose model serves) is padded with NaN. ``layouts[i]`` names
    instance ``i``'s keypoint layout (``"coco17"`` for people, ``"ap10k"`` for animals, ``""``
    without keypoints); :func:`flowpose.meta.load_layout` gives its keypoint names and
    skeleton, and ``result[i]`` the instance with exactly its own keypoints.

    Attributes:
        boxes: ``[N, 4]`` float32 boxes ``x1, y1, x2, y2`` in image pixels.
        scores: ``[N]`` float32 detection scores.
        labels: ``N`` class names, e.g. ``"person"``, ``"dog"``.
        track_ids: ``[N]`` int64 track ids from :meth:`Pose.track` (-1: not tracked, or a
            track not yet confirmed); all -1 for single images.
        keypoints: ``[N, K, 2]`` float32 keypoints in image pixels, NaN-padded (see above).
        keypoint_scores: ``[N, K]`` float32 keypoint confidences in [0, 1], NaN-padded.
        layouts: ``N`` keypoint layout names (``""`` for an instance without keypoints).
        instances: The instances themselves (:class:`flowpose.Instance`), as the nodes made them.
        image: The image the result belongs to (BGR, shared, read-only), or None.
        frame_index: Index of the frame in its source (0 for a single image).
        time_s: Time of the frame in seconds from the start of its source: the video's own
            timestamps for files, frame index / rate for image folders, capture time for
            cameras and streams; 0 for a single image.
        source: Where the frame came from (``"image"`` for a single image).
    """

    boxes: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    labels: tuple[str, ...]
    track_ids: np.ndarray = field(repr=False)
    keypoints: np.ndarray = field(repr=False)
    keypoint_scores: np.ndarray = field(repr=False)
    layouts: tuple[str, ...] = field(repr=False)
    instances: tuple[Instance, ...] = field(repr=False)
    image: np.ndarray | None = field(repr=False, default=None)
    frame_index: int = 0
    time_s: float = 0.0
    source: str = "image"

    @classmethod
    def from_instances(
        cls,
        instances: tuple[Instance, ...] | list[Instance],
        image: np.ndarray | None = None,
        frame_index: int = 0,
        time_s: float = 0.0,
        source: str = "image",
    ) -> PoseResult:
        """Build a result from instances (the arrays are stacked and padded here)."""
        instances = tuple(instances)
        n = len(instances)
        k = max((inst.num_keypoints for inst in instances), default=0)
        keypoints = np.full((n, k, 2), np.nan, np.float32)
        keypoint_scores = np.full((n, k), np.nan, np.float32)
        for i, inst in enumerate(instances):
            if inst.keypoints is not None and inst.keypoint_scores is not None:
                keypoints[i, : inst.num_keypoints] = inst.keypoints
                keypoint_scores[i, : inst.num_keypoints] = inst.keypoint_scores
        return cls(
            boxes=np.array([inst.bbox for inst in instances], np.float32).reshape(n, 4),
            scores=np.array([inst.score for inst in instances], np.float32),
            labels=tuple(inst.label for inst in instances),
            track_ids=np.array([inst.track_id for inst in instances], np.int64),
            keypoints=keypoints,
            keypoint_scores=keypoint_scores,
            layouts=tuple(inst.layout if inst.keypoints is not None else "" for inst in instances),
            instances=instances,
            image=image,
            frame_index=frame_index,
            time_s=time_s,
            source=source,
        )

    @classmethod
    def from_frame(cls, frame: Frame, time_s: float = 0.0) -> PoseResult:
        """The result a frame that went through the nodes carries."""
        return cls.from_instances(frame.instances, frame.image, frame.frame_id, time_s, frame.source)

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]

    def __repr__(self) -> str:
        tracked = [f"#{t}" if t >= 0 else "" for t in self.track_ids]
        what = ", ".join(label + t for label, t in zip(self.labels, tracked, strict=True)) or "nothing"
        return f"PoseResult({what}; {self.source} frame {self.frame_index}, {self.time_s:.3f} s)"

    def draw(self, image: np.ndarray | None = None, **options: Any) -> np.ndarray:
        """An annotated copy of ``image`` (default: the result's own image); the input is not touched.

        Drawn by the Visualizer node without its fps overlay: boxes and label tags coloured by
        track id (by label when untracked), skeletons and keypoints in the layouts' colours.

        Args:
            image: A BGR image of the same frame (e.g. a larger or cleaner copy).
            **options: Visualizer params: ``boxes``, ``labels``, ``scores``, ``track_ids``,
                ``skeleton``, ``keypoints``, ``overlay`` (default here: off),
                ``keypoint_threshold`` (0.3), ``thickness``, ``radius``, ``font_scale``.

        Raises:
            ValueError: Without an image, or on an unknown option.
        """
        image = self.image if image is None else image
        if image is None:
            raise ValueError("this result has no image; pass the image to draw on")
        frame = Frame(
            frame_id=self.frame_index,
            capture_ns=0,
            source=self.source,
            image=np.asarray(image),
            instances=self.instances,
        )
        drawn = _visualizer(tuple(sorted({"overlay": False, **options}.items()))).process(frame)
        return np.array(drawn.image)  # a writable copy, the caller's to keep

    def to_coco(self, image_id: int | None = None, categories: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
        """The instances as COCO results, exactly as the PoseRecorder writes them.

        Each is ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` plus
        ``"keypoints": [x1, y1, s1, x2, y2, s2, ...]`` when the instance has keypoints (a
        keypoint the model could not place is ``0, 0, 0``). Pixels are rounded to 0.01.

        Args:
            image_id: The COCO image id; default: :attr:`frame_index`.
            categories: Label -> category id, over COCO's (person 1, cat 17, dog 18, horse 19,
                ...). Other labels get 1000, 1001, ... in order of appearance in this result.
        """
        ids = {**COCO_CATEGORY_IDS, **(categories or {})}
        next_id = max(FIRST_EXTRA_CATEGORY_ID, max(ids.values()) + 1)
        record = {"frame_id": self.frame_index if image_id is None else image_id}
        results = []
        for inst in self.instances:
            if inst.label not in ids:
                ids[inst.label], next_id = next_id, next_id + 1
            results.append(coco_result(record, instance_record(inst), ids[inst.label]))
        return results


@functools.lru_cache(maxsize=16)
def _visualizer(options: tuple[tuple[str, Any], ...]) -> Visualizer:
    """A set-up Visualizer node per option set (it caches the layouts it loads)."""
    node = Visualizer("draw", dict(options))
    node.setup()
    return node
