"""``Pose``: the graph's detector, pose estimators, tracker and smoother, driven from Python.

No second implementation: ``Pose`` builds the very node classes a graph file names
(Detector, TopdownPoseEstimator, Tracker, Smoother, Camera) from their ``Params``, calls
``setup()``, hands each frame to ``process()`` in graph order, and ``close()``s them. A
result from ``pose(image)`` is what a graph's ``poses`` buffer would carry for that image.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from flowpose.api.models import ModelArg, detector_classes, model_ref, pose_labels, providers_for
from flowpose.api.result import PoseResult
from flowpose.api.video import MEDIA_TIME_KEY, MEDIA_TIMESTAMP, SourceArg, read_frames
from flowpose.frame import Frame, Instance
from flowpose.node import Node
from flowpose.nodes.detector import Detector
from flowpose.nodes.pose_estimator import TopdownPoseEstimator
from flowpose.nodes.smoother import Smoother
from flowpose.nodes.tracker import Tracker

__all__ = ["DEFAULT_ANIMALS", "DEFAULT_DETECTOR", "DEFAULT_PEOPLE", "Pose"]

log = logging.getLogger(__name__)

DEFAULT_DETECTOR = "zoo:yolox-nano"
DEFAULT_PEOPLE = "zoo:rtmpose-m-body7"
DEFAULT_ANIMALS = "zoo:rtmpose-m-ap10k"

ImageArg = np.ndarray | str | os.PathLike[str]
"""A BGR uint8 image as OpenCV gives it (grey and BGRA are converted), or a path to one."""


class Pose:
    """People's and animals' poses in images and videos, on the same nodes as a graph.

    Args:
        people: Pose model for people: a zoo name (``"rtmpose-m-body7"``, ``zoo:`` optional)
            or a path to an ONNX file; None or False: no people's poses.
        animals: Pose model for animals, the same way (AP-10K keypoints by default).
        detector: Detector: a zoo name, a path, ``"hog"`` (OpenCV's people detector), or
            None / False for none: then each image is one box (or the ``boxes`` you pass).
        device: Where the models run: ``"cpu"``, ``"cuda"`` (``"cuda:0"``, ``"gpu"``),
            ``"tensorrt"``, or a list in order of preference (the nodes' ``providers``).
        classes: Detector classes to keep; default: the labels the pose models serve (that
            the detector knows), or every class when no pose model is on.
        score_threshold: Detections scoring below this are dropped (Detector; default 0.3).
        flip_test: Also run mirrored crops and average (TopdownPoseEstimator; default off).
        threads: ONNX Runtime threads per model (default: the cores this process may use).
        detector_params: Any other Detector params (``preset``, ``nms_iou``,
            ``max_detections``, ...), as in a graph file.
        people_params: Any other TopdownPoseEstimator params for the people model
            (``labels``, ``preset``, ``bbox_padding``, ``max_instances``, ...).
        animal_params: The same for the animal model.

    Raises:
        flowpose.zoo.ZooError: A zoo model cannot be found or fetched (the message says what to do).
        FileNotFoundError: A model path does not exist.
        ValueError: An invalid param (pydantic's message names it), a model without a usable
            card, or no detector class for any pose model.

    Example:
        >>> from flowpose.api import Pose
        >>> pose = Pose(detector="flowpose-det-synthetic", people="flowpose-person", animals="flowpose-animal")
        >>> pose.classes
        ('person', 'dog', 'cat', 'horse')
    """

    def __init__(
        self,
        people: ModelArg = DEFAULT_PEOPLE,
        animals: ModelArg = DEFAULT_ANIMALS,
        detector: ModelArg = DEFAULT_DETECTOR,
        *,
        device: str | Sequence[str] = "cpu",
        classes: Sequence[str] | None = None,
        score_threshold: float | None = None,
        flip_test: bool | None = None,
        threads: int | None = None,
        detector_params: Mapping[str, Any] | None = None,
        people_params: Mapping[str, Any] | None = None,
        animal_params: Mapping[str, Any] | None = None,
    ) -> None:
        common = {"providers": providers_for(device), "intra_op_threads": threads}
        pose_common = _given(common, flip_test=flip_test)
        self._pose_nodes: list[TopdownPoseEstimator] = []
        served: list[str] = []  # labels with a pose model, people's first
        for name, value, extra in (("people", people, people_params), ("animals", animals, animal_params)):
            ref = model_ref(value, what=name)
            if ref is None:
                continue
            params = {**pose_common, **(extra or {}), "model": ref}
            node = TopdownPoseEstimator(name, params)
            served += [lab for lab in pose_labels(ref, node.params.preset, node.params.labels) if lab not in served]
            self._pose_nodes.append(node)
        self._served = tuple(served)
        self._detector: Detector | None = None
        detector_ref = model_ref(detector, what="detector")
        if detector_ref is not None:
            params = {**_given(common, score_threshold=score_threshold), **(detector_params or {})}
            params["model"] = detector_ref
            checked = Detector.Params(**params)
            if checked.interval != 1:
                # Interval mode follows boxes with keypoints fed back by a graph's buffers; there are none here.
                raise ValueError("detector_params: interval must be 1 here (the detector runs on every frame)")
            if classes is None and "classes" not in params:
                params["classes"] = self._default_classes(detector_ref, checked.preset)
            elif classes is not None:
                params["classes"] = list(classes)
            self._detector = Detector("detector", params)
        elif classes is not None or score_threshold is not None or detector_params:
            raise ValueError("classes=, score_threshold= and detector_params= set the detector, but detector=None")
        if self._detector is None and not self._pose_nodes:
            raise ValueError("nothing to do: people=, animals= and detector= are all switched off")
        self.classes: tuple[str, ...] = tuple(self._detector.params.classes) if self._detector else self._served
        """The detector classes kept (empty: every class), or without a detector the pose models' labels."""
        self._nodes: list[Node] = [n for n in (self._detector, *self._pose_nodes) if n is not None]
        for node in self._nodes:
            node.setup()
        self._closed = False

    def _default_classes(self, detector: str, preset: str | None) -> list[str]:
        """The pose models' labels the detector knows; every class when there is no pose model."""
        if not self._pose_nodes:
            return []
        known = detector_classes(detector, preset)
        kept = [label for label in self._served if label in known]
        if not kept:
            raise ValueError(
                f"the detector {detector} finds none of the labels the pose models serve ({', '.join(self._served)}); "
                f"its classes: {', '.join(known)}. Pass classes= or the models' labels in people_params/animal_params."
            )
        if dropped := [label for label in self._served if label not in known]:
            log.debug("the detector has no class for %s; those pose labels are never detected", dropped)
        return kept

    def __repr__(self) -> str:
        models = {"detector": self._detector, **{n.name: n for n in self._pose_nodes}}
        shown = ", ".join(f"{name}={node.params.model!r}" for name, node in models.items() if node is not None)
        return f"Pose({shown})"

    def __call__(
        self,
        image: ImageArg,
        boxes: np.ndarray | Sequence[Sequence[float]] | None = None,
        labels: Sequence[str] | str | None = None,
    ) -> PoseResult:
        """Detect and estimate the poses in one image.

        Args:
            image: BGR uint8 ``H x W x 3`` (as ``cv2.imread`` gives; grey and BGRA are
                converted), or a path to an image file. It is shared, never written.
            boxes: Your own ``[N, 4]`` boxes ``x1, y1, x2, y2`` instead of the detector's.
            labels: The boxes' labels (one for all, or one each); default: the first label
                of the first pose model (``"person"`` for people models).

        Returns:
            The instances found, with keypoints where a pose model serves their label.
        """
        self._check_open()
        frame = Frame(frame_id=0, capture_ns=time.time_ns(), source="image", image=_as_image(image))
        return PoseResult.from_frame(self._estimate(frame, boxes, labels))

    def track(
        self,
        source: SourceArg,
        *,
        smooth: bool = True,
        max_frames: int | None = None,
        camera_params: Mapping[str, Any] | None = None,
        tracker_params: Mapping[str, Any] | None = None,
        smoother_params: Mapping[str, Any] | None = None,
    ) -> Iterator[PoseResult]:
        """Poses over a video, a camera or an image folder, with track ids and smoothed keypoints.

        Each frame goes through this object's detector and pose models, then a fresh Tracker
        and (with ``smooth``) Smoother node: a track is confirmed after ``min_hits`` frames (3;
        before that its ``track_id`` is -1), and keypoints and boxes are filtered along each
        track (One Euro by default). Time is the source's own (see
        :attr:`PoseResult.time_s`), so a file read faster or slower than real time is smoothed
        as it was filmed.

        Args:
            source: Webcam index (``0``), video file, image folder or glob
                (``"frames/*.png"``), or stream URL (``http://...``, ``rtsp://...``).
            smooth: Smooth keypoints and boxes along each track.
            max_frames: Stop after this many frames (default: at the end of the source; a
                camera never ends, so ``break`` out of the loop).
            camera_params: More Camera node params: ``width``, ``height``, ``fps``,
                ``realtime`` (play a file at its own rate), ``reconnect_attempts``, ...
            tracker_params: Tracker node params (``metric``, ``min_hits``, ``max_misses``, ...).
            smoother_params: Smoother node params (``filter``, ``min_cutoff``, ``beta``, ...).

        Yields:
            One result per frame, with its image, ``frame_index`` and ``time_s``.

        Raises:
            flowpose.nodes.camera_capture.CaptureError: The source cannot be opened.
        """
        self._check_open()
        stages: list[Node] = [Tracker("tracker", {"timestamp": MEDIA_TIMESTAMP, **(tracker_params or {})})]
        if smooth:
            stages.append(Smoother("smoother", {"timestamp": MEDIA_TIMESTAMP, **(smoother_params or {})}))
        frames = read_frames(source, camera_params)
        try:
            for node in stages:
                node.setup()
            for count, frame in enumerate(frames):
                if max_frames is not None and count >= max_frames:
                    break
                frame = self._estimate(frame)
                for node in stages:
                    frame = _one_frame(node.process(frame), node)
                yield PoseResult.from_frame(frame, float(frame.meta[MEDIA_TIME_KEY]))
        finally:
            frames.close()
            for node in stages:
                node.close()

    def _estimate(
        self,
        frame: Frame,
        boxes: np.ndarray | Sequence[Sequence[float]] | None = None,
        labels: Sequence[str] | str | None = None,
    ) -> Frame:
        """The detector's instances (or the given boxes) with the pose models' keypoints."""
        if boxes is not None or self._detector is None:
            if boxes is None:  # no detector: the whole image is the one instance
                boxes = [[0.0, 0.0, frame.width, frame.height]]
            frame = frame.with_instances(self._given_instances(boxes, labels))
        else:
            frame = _one_frame(self._detector.process(frame), self._detector)
        for node in self._pose_nodes:
            frame = _one_frame(node.process(frame), node)
        return frame

    def _given_instances(
        self, boxes: np.ndarray | Sequence[Sequence[float]], labels: Sequence[str] | str | None
    ) -> list[Instance]:
        rows = np.asarray(boxes, np.float32).reshape(-1, 4)
        if labels is None:
            labels = self._served[0] if self._served else "object"
        names = [labels] * len(rows) if isinstance(labels, str) else list(labels)
        if len(names) != len(rows):
            raise ValueError(f"{len(rows)} boxes but {len(names)} labels")
        return [Instance(bbox=box, score=1.0, label=name) for box, name in zip(rows, names, strict=True)]

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Pose is closed")

    def close(self) -> None:
        """Release the models (their ONNX Runtime sessions); the object cannot be used after."""
        if not self._closed:
            self._closed = True
            for node in self._nodes:
                node.close()

    def __enter__(self) -> Pose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _given(params: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    """``params`` plus the options that were given (None: leave the node's default)."""
    return {k: v for k, v in {**params, **options}.items() if v is not None}


def _one_frame(result: object, node: Node) -> Frame:
    """The frame a one-output node returned (these nodes never filter or fan out)."""
    if not isinstance(result, Frame):
        raise TypeError(f"node {node.name!r} returned {type(result).__name__}, expected one Frame")
    return result


def _as_image(image: ImageArg) -> np.ndarray:
    """A BGR uint8 H x W x 3 image from an array or a file."""
    if isinstance(image, str | os.PathLike):
        path = os.fspath(image)
        loaded = cv2.imread(path, cv2.IMREAD_COLOR)
        if loaded is None:
            raise FileNotFoundError(f"cannot read an image from {path} (missing, or not an image OpenCV can decode)")
        return loaded
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (as OpenCV reads it), got {array.dtype}")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1):
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if array.ndim == 3 and array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3 BGR (or grey, or BGRA), got shape {array.shape}")
    return array
