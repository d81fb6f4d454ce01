"""Object detection for the Detector node: ONNX detectors described by cards, a HOG fallback, interval mode.

Example:
    >>> from flowpose.detection import DetectorConfig, open_detector
    >>> detector = open_detector(DetectorConfig("zoo:yolox-nano", classes=("person",)))  # doctest: +SKIP
    >>> detections = detector.detect(image)  # doctest: +SKIP
    >>> instances = detections.to_instances(detector.classes)  # doctest: +SKIP
"""

from flowpose.detection.backend import HOG_MODEL, DetectorBackend, DetectorConfig, check_config, open_detector
from flowpose.detection.classes import class_indices, unknown_classes_message
from flowpose.detection.decoders import DECODER_TYPES, RTMDetEnd2EndDecoder, YoloxDecoder, build_decoder
from flowpose.detection.detections import Detections, DetectionSettings
from flowpose.detection.hog import HogDetector
from flowpose.detection.interval import IntervalPlanner, IntervalSettings, Plan
from flowpose.detection.keypoint_boxes import box_from_keypoints, merge_instances
from flowpose.detection.nms import box_iou, nms, postprocess
from flowpose.detection.onnx_detector import OnnxDetector
from flowpose.detection.preprocess import InputTransform, preprocess_image

__all__ = [
    "DECODER_TYPES",
    "HOG_MODEL",
    "DetectionSettings",
    "Detections",
    "DetectorBackend",
    "DetectorConfig",
    "HogDetector",
    "InputTransform",
    "IntervalPlanner",
    "IntervalSettings",
    "OnnxDetector",
    "Plan",
    "RTMDetEnd2EndDecoder",
    "YoloxDecoder",
    "box_from_keypoints",
    "box_iou",
    "build_decoder",
    "check_config",
    "class_indices",
    "merge_instances",
    "nms",
    "open_detector",
    "postprocess",
    "preprocess_image",
    "unknown_classes_message",
]
