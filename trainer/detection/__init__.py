"""Detector training: synthetic scenes, a tiny YOLOX-style model, SimOTA, COCO AP, export in YOLOX raw format."""
